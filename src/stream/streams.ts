/**
 * The streams of one connection: opening (stream credit, STREAM_OPEN, accept/refuse), delivery to
 * the Duplex with credit that follows consumption, reset and stop in both directions, and the
 * receive side of connection-level flow control. The Connection hands it the stream frames it
 * receives and the stream frames of acknowledged packets; everything it wants to send goes to the
 * SendQueue.
 *
 * Per stream (see stream.ts for the two halves): a core is removed once both halves are done,
 * which, for a peer-opened stream, raises the peer's MAX_STREAMS.
 */
import { MAX_REASON_BYTES, MAX_SERVICE_BYTES } from '../proto/frames/index.ts';
import type { StreamFrame } from '../proto/frames/index.ts';
import {
  CLOSE_FINAL_SIZE,
  CLOSE_FLOW_CONTROL,
  CLOSE_PROTOCOL_VIOLATION,
  CLOSE_STREAM_LIMIT,
  RESET_CANCELLED,
  RESET_ERROR,
  StreamError,
} from './errors.ts';
import { RecvWindow } from './flow.ts';
import { INITIAL_MAX_DATA, INITIAL_MAX_STREAM_DATA } from './options.ts';
import type { IncomingStreamRequest, ResolvedOptions } from './options.ts';
import type { SendQueue } from './sender.ts';
import type { ConnectionStats, DropReason } from './stats.ts';
import { Stream, StreamCore } from './stream.ts';
import type { StreamHost } from './stream.ts';
import { StreamTable } from './table.ts';

/** What the streams need from their connection. */
export interface StreamsHost {
  readonly out: SendQueue;
  readonly stats: ConnectionStats;
  isClosed(): boolean;
  now(): number;
  srtt(): number;
  /** Closes the connection for a protocol violation. */
  violation(msg: string, code: number): void;
  drop(reason: DropReason): void;
  /** Runs `fn` at the end of the current event (application callbacks). */
  defer(fn: () => void): void;
  /** Runs `fn` soon, outside any event of ours. */
  later(fn: () => void): void;
  flushSoon(): void;
}

export class Streams implements StreamHost {
  readonly table: StreamTable;
  /** Receive side of connection flow control; `recvHighest` sums the streams' highest offsets. */
  readonly connRecv: RecvWindow;
  #recvHighest = 0;
  /** Local streams waiting for the peer's MAX_STREAMS. */
  #pendingOpens: StreamCore[] = [];
  /** Stream limit last reported in STREAMS_BLOCKED. */
  #blockedReported = -1;
  /** Streams whose reader consumed something since the last flush. */
  readonly #reading = new Set<StreamCore>();
  readonly #o: ResolvedOptions;
  readonly #h: StreamsHost;

  constructor(o: ResolvedOptions, host: StreamsHost) {
    this.#o = o;
    this.#h = host;
    this.table = new StreamTable(o.isClient, o.maxIncomingStreams);
    this.connRecv = new RecvWindow(INITIAL_MAX_DATA, o.connectionWindow, o.maxConnectionWindow);
    // Announce configured limits above the protocol defaults at once.
    if (this.connRecv.maybeUpdate(host.now(), 0)) host.out.maxDataPending = true;
    if (this.table.announce()) host.out.maxStreamsPending = true;
  }

  get size(): number {
    return this.table.size;
  }

  /** Bytes held by all send buffers. */
  sendBuffered(): number {
    let n = 0;
    for (const c of this.table.map.values()) n += c.send.buffered;
    return n;
  }

  // ---------------------------------------------------------------- opening

  open(service: string): Stream {
    if (Buffer.byteLength(service) > MAX_SERVICE_BYTES)
      throw new RangeError(`service name longer than ${MAX_SERVICE_BYTES} bytes`);
    const h = this.#h;
    const core = this.#newCore(this.table.nextLocalId(), true, service);
    const stream = this.#attach(core);
    const fail = (err: StreamError): Stream => {
      core.removed = true;
      h.later(() => stream.destroy(err));
      return stream;
    };
    if (h.isClosed()) return fail(new StreamError('CONNECTION_CLOSED', 'connection is closed'));
    if (Math.floor(core.id / 2) < this.table.localMax) {
      this.table.map.set(core.id, core);
      this.#activate(core);
    } else if (this.#pendingOpens.length >= this.#o.maxPendingOpens) {
      return fail(new StreamError('STREAM_LIMIT', 'too many streams waiting for the peer to allow them'));
    } else {
      this.table.map.set(core.id, core);
      this.#pendingOpens.push(core);
      if (this.#blockedReported !== this.table.localMax) {
        this.#blockedReported = this.table.localMax;
        h.out.control({ type: 'streams_blocked', limit: this.table.localMax });
      }
      h.flushSoon();
    }
    return stream;
  }

  #newCore(id: number, local: boolean, service: string): StreamCore {
    return new StreamCore(id, local, service, {
      sendLimit: INITIAL_MAX_STREAM_DATA,
      recv: new RecvWindow(INITIAL_MAX_STREAM_DATA, this.#o.streamWindow, this.#o.maxStreamWindow),
      sendHwm: this.#o.streamSendBuffer,
    });
  }

  #attach(core: StreamCore): Stream {
    const s = new Stream(core, this, this.#o.streamReadBuffer);
    core.stream = s;
    return s;
  }

  /** A local stream got stream credit: announce it (or, if destroyed meanwhile, cancel it). */
  #activate(core: StreamCore): void {
    core.opened = true;
    if (core.destroyed) {
      this.#resetSend(core, RESET_CANCELLED);
      this.#stopReading(core, RESET_CANCELLED);
    } else {
      this.#h.out.control({ type: 'stream_open', id: core.id, service: core.service });
      this.#announceWindow(core);
      this.wake(core);
    }
    this.#h.flushSoon();
  }

  /** The peer's MAX_STREAMS. */
  onMaxStreams(max: number): void {
    if (max <= this.table.localMax) return;
    this.table.localMax = max;
    while (this.#pendingOpens.length && Math.floor(this.#pendingOpens[0].id / 2) < max)
      this.#activate(this.#pendingOpens.shift()!);
  }

  #incoming(core: StreamCore): IncomingStreamRequest {
    const h = this.#h;
    const decide = (): void => {
      if (core.decided) throw new Error(`stream ${core.id} was already accepted or refused`);
      core.decided = true;
    };
    return {
      id: core.id,
      service: core.service,
      accept: (): Stream => {
        decide();
        const s = this.#attach(core);
        if (h.isClosed() || core.removed)
          h.later(() => s.destroy(new StreamError('CONNECTION_CLOSED', 'connection is closed')));
        else if (core.recvReset)
          h.later(() => s.destroy(new StreamError('STREAM_RESET', `stream ${core.id} reset by peer`)));
        else {
          this.#announceWindow(core);
          this.#deliver(core, h.now());
          this.wake(core);
        }
        return s;
      },
      refuse: (code: number, reason: string): void => {
        decide();
        if (h.isClosed() || core.removed) return;
        h.out.control({
          type: 'stream_refused',
          id: core.id,
          code,
          reason: truncateUtf8(reason, MAX_REASON_BYTES),
        });
        core.sendUnused = true;
        if (!core.recvDone) {
          core.recvAbandoned = true;
          this.#releaseRecv(core);
        }
        this.#maybeRemove(core);
        h.flushSoon();
      },
    };
  }

  // ---------------------------------------------------------------- StreamHost (called by Stream)

  wake(core: StreamCore): void {
    this.#h.out.wake(core);
    this.#h.flushSoon();
  }

  /**
   * The reader took bytes. Credit is recomputed just before the next flush rather than now: a reader
   * may read() everything and unshift() what it did not want in the same turn.
   */
  onRead(core: StreamCore): void {
    if (this.#h.isClosed() || core.removed) return;
    this.#reading.add(core);
    this.#h.flushSoon();
  }

  /** Grants credit for what readers consumed since the last flush (called by the connection). */
  settleCredit(): void {
    if (this.#reading.size === 0) return;
    const now = this.#h.now();
    for (const c of this.#reading) if (!c.removed) this.#credit(c, now);
    this.#reading.clear();
  }

  onDestroy(core: StreamCore, err: Error | null): void {
    core.destroyed = true;
    core.writeCb = undefined;
    core.finalCb = undefined;
    if (this.#h.isClosed() || core.removed) return;
    if (core.local && !core.opened) return; // still waiting to open: #activate cancels it
    const code = err ? RESET_ERROR : RESET_CANCELLED;
    // A stream ended cleanly keeps delivering its data; otherwise the send half is reset.
    if (!core.sendDone && !core.resetSent && (err || !core.send.finWanted)) this.#resetSend(core, code);
    if (!core.recvDone && !core.recvAbandoned) this.#stopReading(core, code);
    this.#maybeRemove(core);
    this.#h.flushSoon();
  }

  // ---------------------------------------------------------------- halves

  #announceWindow(core: StreamCore): void {
    if (core.recvWindow.maybeUpdate(this.#h.now(), 0)) this.#h.out.msdPending.add(core);
  }

  #resetSend(core: StreamCore, code: number): void {
    core.resetSent = true;
    const finalSize = core.send.sent;
    core.send.discard();
    this.#h.out.control({ type: 'reset_stream', id: core.id, code, finalSize });
  }

  #stopReading(core: StreamCore, code: number): void {
    core.recvAbandoned = true;
    this.#h.out.control({ type: 'stop_sending', id: core.id, code });
    this.#releaseRecv(core);
  }

  /** We stopped reading: what arrived so far (and later) goes back to connection credit at once. */
  #releaseRecv(core: StreamCore): void {
    const extra = core.recv.highest - core.recvWindow.consumed;
    core.recv.discard();
    this.#h.out.msdPending.delete(core);
    if (extra > 0) this.#consumedByConnection(core, extra, this.#h.now());
  }

  #consumedByConnection(core: StreamCore, n: number, now: number): void {
    core.recvWindow.consumed += n;
    if (this.connRecv.onConsumed(n, now, this.#h.srtt())) this.#h.out.maxDataPending = true;
  }

  #maybeRemove(core: StreamCore): void {
    if (core.removed || !core.sendDone || !core.recvDone) return;
    core.removed = true;
    this.#h.out.msdPending.delete(core);
    if (this.table.remove(core)) this.#h.out.maxStreamsPending = true;
  }

  /** Hands in-order data to the Duplex, ends it at FIN, and grants credit for what was consumed. */
  #deliver(core: StreamCore, now: number): void {
    const s = core.stream;
    if (!s || core.recvAbandoned || core.recvReset) return;
    core.recv.drain((chunk) => {
      core.pushed += chunk.length;
      s.push(chunk);
    });
    if (core.recv.complete && !core.endPushed) {
      core.endPushed = true;
      s.push(null);
      this.#maybeRemove(core);
    }
    this.#credit(core, now);
  }

  /** Credit follows consumption: bytes pushed minus bytes still sitting in the Duplex. */
  #credit(core: StreamCore, now: number): void {
    const s = core.stream;
    if (!s || core.recvAbandoned || core.recvReset) return;
    const delta = core.pushed - s.readableLength - core.recvWindow.consumed;
    if (delta <= 0) return;
    const srtt = this.#h.srtt();
    if (core.endPushed) core.recvWindow.consumed += delta;
    else if (core.recvWindow.onConsumed(delta, now, srtt)) this.#h.out.msdPending.add(core);
    if (this.connRecv.onConsumed(delta, now, srtt)) this.#h.out.maxDataPending = true;
  }

  // ---------------------------------------------------------------- frames from the peer

  /** The core a peer frame names, or undefined (closed stream, or a violation that closed us). */
  #coreFor(id: number): StreamCore | undefined {
    const r = this.table.lookup(id, (i) => this.#newCore(i, false, ''));
    if (typeof r !== 'string') return r;
    if (r === 'never_opened')
      this.#h.violation(`frame for stream ${id}, which we never opened`, CLOSE_PROTOCOL_VIOLATION);
    else if (r === 'over_limit')
      this.#h.violation(`peer opened stream ${id} beyond its limit`, CLOSE_STREAM_LIMIT);
    return undefined;
  }

  onStream(f: StreamFrame, now: number): void {
    const h = this.#h;
    const core = this.#coreFor(f.id);
    if (!core) return h.drop('closed_stream_frame');
    if (core.recvReset || core.endPushed) return;
    if (f.offset + f.data.length > core.recvWindow.advertised)
      return h.violation(`stream ${f.id} exceeded its flow-control limit`, CLOSE_FLOW_CONTROL);
    const before = core.recv.highest;
    if (core.recv.insert(f.offset, f.data, f.fin) !== 'ok')
      return h.violation(`stream ${f.id} changed its final size`, CLOSE_FINAL_SIZE);
    const grew = core.recv.highest - before;
    if (grew > 0) {
      this.#recvHighest += grew;
      if (this.#recvHighest > this.connRecv.advertised)
        return h.violation('connection flow-control limit exceeded', CLOSE_FLOW_CONTROL);
    }
    if (core.recvAbandoned) {
      // Nobody reads: drop the bytes, return their credit, finish once the final size is known.
      core.recv.discard();
      if (grew > 0) this.#consumedByConnection(core, grew, now);
      this.#maybeRemove(core);
    } else this.#deliver(core, now);
  }

  onStreamOpen(id: number, service: string): void {
    const core = this.#coreFor(id);
    if (!core || core.local || core.opened) return;
    core.opened = true;
    core.service = service;
    if (core.recvReset || core.recvAbandoned) return;
    const req = this.#incoming(core);
    const handler = this.#o.onIncomingStream;
    if (handler) this.#h.defer(() => handler(req));
    else req.refuse(0, 'no service handler');
  }

  onStreamRefused(id: number, code: number, reason: string): void {
    const core = this.table.map.get(id);
    if (!core || !core.local) return;
    this.#h.stats.streamsRefused++;
    core.endPushed = true; // the peer will send nothing on it
    const s = core.stream;
    if (s && !core.destroyed) {
      const err = new StreamError(
        'STREAM_REFUSED',
        `service "${core.service}" refused (code ${code}): ${reason}`,
        {
          refuseCode: code,
          reason,
        },
      );
      this.#h.defer(() => s.destroy(err)); // onDestroy resets our send half, telling the peer the final size
    }
    this.#maybeRemove(core);
  }

  onResetStream(id: number, code: number, finalSize: number, now: number): void {
    const h = this.#h;
    const core = this.#coreFor(id);
    if (!core || core.recvReset || core.endPushed) return;
    const known = core.recv.finalSize;
    if (finalSize < core.recv.highest || (known !== undefined && finalSize !== known))
      return h.violation(`RESET_STREAM on stream ${id} changed its final size`, CLOSE_FINAL_SIZE);
    const extra = finalSize - core.recv.highest;
    this.#recvHighest += extra;
    if (this.#recvHighest > this.connRecv.advertised)
      return h.violation('connection flow-control limit exceeded', CLOSE_FLOW_CONTROL);
    core.recv.highest = finalSize;
    core.recv.finalSize = finalSize;
    if (!core.recvAbandoned) this.#releaseRecv(core);
    else if (extra > 0) this.#consumedByConnection(core, extra, now);
    core.recvReset = true;
    const s = core.stream;
    if (s && !core.destroyed) {
      const err = new StreamError('STREAM_RESET', `stream ${id} reset by the peer (code ${code})`, {
        peerCode: code,
      });
      h.defer(() => s.destroy(err));
    }
    this.#maybeRemove(core);
  }

  onStopSending(id: number, code: number): void {
    const core = this.#coreFor(id);
    if (!core || core.sendDone || core.resetSent || core.sendUnused) return;
    this.#resetSend(core, code);
    const s = core.stream;
    if (s && !core.destroyed) {
      const err = new StreamError('STREAM_STOPPED', `peer stopped reading stream ${id} (code ${code})`, {
        peerCode: code,
      });
      this.#h.defer(() => s.destroy(err));
    }
    this.#maybeRemove(core);
  }

  onMaxStreamData(id: number, max: number): void {
    const core = this.#coreFor(id);
    if (core && max > core.sendLimit) {
      core.sendLimit = max;
      this.wake(core);
    }
  }

  /** DATA_BLOCKED: the peer waits for us; re-check whether an update is due. */
  onDataBlocked(now: number): void {
    if (this.connRecv.maybeUpdate(now, this.#h.srtt())) this.#h.out.maxDataPending = true;
  }

  onStreamDataBlocked(id: number, now: number): void {
    const core = this.table.map.get(id);
    if (core?.stream && !core.recvDone && core.recvWindow.maybeUpdate(now, this.#h.srtt()))
      this.#h.out.msdPending.add(core);
  }

  // ---------------------------------------------------------------- acknowledgements of our frames

  /** Stream bytes (and FIN) of ours were acknowledged. */
  onDataAcked(c: StreamCore, off: number, len: number, fin: boolean): void {
    if (c.removed || c.resetSent) return;
    c.send.onAcked(off, len, fin);
    if (!c.send.done) return;
    const cb = c.finalCb;
    c.finalCb = undefined;
    if (cb) this.#h.defer(() => cb());
    this.#maybeRemove(c);
  }

  /** Our RESET_STREAM was acknowledged: the send half is done. */
  onResetAcked(c: StreamCore): void {
    if (c.resetAcked) return;
    c.resetAcked = true;
    this.#maybeRemove(c);
  }

  /** The connection is closing: every stream errors with `err`. */
  closeAll(err: StreamError): void {
    for (const c of [...this.table.map.values(), ...this.#pendingOpens]) {
      c.removed = true;
      const s = c.stream;
      if (s && !c.destroyed) this.#h.defer(() => s.destroy(err));
    }
    this.table.map.clear();
    this.#pendingOpens = [];
    this.#reading.clear();
  }
}

export function truncateUtf8(s: string, maxBytes: number): string {
  if (Buffer.byteLength(s) <= maxBytes) return s;
  let out = Buffer.from(s).subarray(0, maxBytes).toString('utf8');
  while (Buffer.byteLength(out) > maxBytes || out.endsWith('\ufffd')) out = out.slice(0, -1);
  return out;
}
