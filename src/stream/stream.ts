/**
 * A stream: the Node Duplex the application sees, over a StreamCore (the protocol state the
 * connection drives). Send half and receive half each end in a terminal state; the core is dropped
 * when both have.
 *
 *   send:  open --end()--> fin queued --all bytes + FIN acked--> done
 *            \--destroy()/STOP_SENDING--> reset sent --RESET acked--> done
 *   recv:  open --FIN, all bytes pushed--> done
 *            \--RESET_STREAM--> done;  --destroy()--> stop sent --final size known--> done
 *
 * Backpressure: write() returns false while more than `streamSendBuffer` bytes wait unsent (the
 * write callback is held until they go); the peer's credit follows what the reader consumed.
 */
import { Duplex } from 'node:stream';
import { RecvWindow } from './flow.ts';
import { RecvBuffer } from './recvbuf.ts';
import { SendBuffer } from './sendbuf.ts';

/** What a stream needs from its connection. */
export interface StreamHost {
  /** The core has something to send. */
  wake(core: StreamCore): void;
  /** The reader consumed bytes (recompute credit). */
  onRead(core: StreamCore): void;
  /** The Duplex was destroyed. */
  onDestroy(core: StreamCore, err: Error | null): void;
}

export class StreamCore {
  readonly id: number;
  /** Opened by this side. */
  readonly local: boolean;
  service: string;
  stream: Stream | undefined;
  readonly send = new SendBuffer();
  readonly recv = new RecvBuffer();
  readonly recvWindow: RecvWindow;
  /** The peer's MAX_STREAM_DATA. */
  sendLimit: number;
  readonly sendHwm: number;

  /** Local: STREAM_OPEN may go (stream credit granted). Peer: STREAM_OPEN arrived. */
  opened = false;
  /** Incoming: accept() or refuse() was called. */
  decided = false;
  /** In the connection's send queue. */
  queued = false;
  /** Waits for the peer's MAX_STREAM_DATA / MAX_DATA. */
  blocked: 0 | 1 | 2 = 0;
  /** Send half: RESET_STREAM queued/sent; acknowledged; the half is unused (we refused). */
  resetSent = false;
  resetAcked = false;
  sendUnused = false;
  /** Receive half: push(null) done; RESET_STREAM received; we stopped reading (STOP_SENDING). */
  endPushed = false;
  recvReset = false;
  recvAbandoned = false;
  /** Bytes pushed into the Duplex. */
  pushed = 0;
  /** Duplex destroyed (locally or by the connection). */
  destroyed = false;
  /** Removed from the connection. */
  removed = false;
  writeCb: ((err?: Error | null) => void) | undefined;
  finalCb: ((err?: Error | null) => void) | undefined;
  /** Limit last reported in STREAM_DATA_BLOCKED. */
  blockedReported = -1;

  constructor(
    id: number,
    local: boolean,
    service: string,
    init: { sendLimit: number; recv: RecvWindow; sendHwm: number },
  ) {
    this.id = id;
    this.local = local;
    this.service = service;
    this.sendLimit = init.sendLimit;
    this.recvWindow = init.recv;
    this.sendHwm = init.sendHwm;
  }

  get sendDone(): boolean {
    return this.sendUnused || (this.resetSent ? this.resetAcked : this.send.done);
  }
  get recvDone(): boolean {
    return this.endPushed || this.recvReset || (this.recvAbandoned && this.recv.finalSize !== undefined);
  }

  /** Something to send right now on the data path (lost bytes, new bytes within stream credit, FIN). */
  sendable(connCredit: number): boolean {
    if (this.resetSent || this.sendUnused) return false;
    const s = this.send;
    if (s.hasRetransmit) return true;
    if (s.unsent > 0) return this.sendLimit > s.sent && connCredit > 0;
    return s.finPending;
  }
}

export interface StreamFlowState {
  /** The peer's MAX_STREAM_DATA: we may send bytes below this offset. */
  sendLimit: number;
  /** Highest offset sent; lowest offset not yet acknowledged (bytes below it are freed). */
  sent: number;
  acked: number;
  /** Bytes written but never sent; all bytes held (unacknowledged + unsent). */
  unsent: number;
  sendBuffered: number;
  /** write() holds its callback while `unsent` is at or above this (streamSendBuffer). */
  sendBufferLimit: number;
  /** Our receive window (after auto-tuning), the limit the peer was given, and what the reader consumed. */
  recvWindow: number;
  recvAdvertised: number;
  recvConsumed: number;
  /** Out-of-order bytes waiting for a gap to fill. */
  reassemblyBytes: number;
}

export class Stream extends Duplex {
  readonly id: number;
  readonly service: string;
  readonly #core: StreamCore;
  readonly #host: StreamHost;

  /** @internal Created by the Connection only. */
  constructor(core: StreamCore, host: StreamHost, readHwm: number) {
    super({ allowHalfOpen: true, readableHighWaterMark: readHwm, writableHighWaterMark: 64 << 10 });
    this.id = core.id;
    this.service = core.service;
    this.#core = core;
    this.#host = host;
  }

  /** Bytes this stream holds for sending (unacknowledged plus unsent). */
  get bufferedBytes(): number {
    return this.#core.send.buffered;
  }
  /** Bytes received but not yet handed to the reader (out-of-order reassembly). */
  get reassemblyBytes(): number {
    return this.#core.recv.storedBytes;
  }

  /** Flow-control state, for tests and diagnostics. */
  flowState(): StreamFlowState {
    const c = this.#core;
    return {
      sendLimit: c.sendLimit,
      sent: c.send.sent,
      acked: c.send.base,
      unsent: c.send.unsent,
      sendBuffered: c.send.buffered,
      sendBufferLimit: c.sendHwm,
      recvWindow: c.recvWindow.window,
      recvAdvertised: c.recvWindow.advertised,
      recvConsumed: c.recvWindow.consumed,
      reassemblyBytes: c.recv.storedBytes,
    };
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    const c = this.#core;
    c.send.write(chunk);
    this.#host.wake(c);
    if (c.send.unsent < c.sendHwm) cb();
    else c.writeCb = cb;
  }

  override _writev(chunks: Array<{ chunk: Buffer }>, cb: (err?: Error | null) => void): void {
    const c = this.#core;
    for (const { chunk } of chunks) c.send.write(chunk);
    this.#host.wake(c);
    if (c.send.unsent < c.sendHwm) cb();
    else c.writeCb = cb;
  }

  override _final(cb: (err?: Error | null) => void): void {
    const c = this.#core;
    c.finalCb = cb;
    c.send.finish();
    this.#host.wake(c);
  }

  override _read(): void {
    this.#host.onRead(this.#core);
  }

  /**
   * Every read may free buffer space, so credit is recomputed here too: Node calls _read() only once
   * until the next push(), and with the sender waiting for credit there would be no next push.
   */
  override read(size?: number): unknown {
    const chunk: unknown = super.read(size);
    this.#host.onRead(this.#core);
    return chunk;
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.#host.onDestroy(this.#core, err);
    cb(err);
  }
}
