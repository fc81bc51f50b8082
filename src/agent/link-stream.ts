// The Duplex a PeerLink hands out for a stream this node opens: it forwards to a stream of the
// link's current Connection and can move to a new Connection while the peer has not answered yet.
//
//   fresh (no byte from the peer, none of ours acknowledged; what we wrote is kept for a replay)
//     --the link's Connection ended because the peer has no state for it (RESET / new link)-->
//        reattach(): the same service is opened on the new Connection, the kept bytes (and FIN)
//        are written again; the application notices nothing
//     --a byte, FIN or error from the peer / our bytes acknowledged / over REPLAY_LIMIT--> settled
//   settled: a plain pass-through; the Connection ending errors the stream as before
//
// "Fresh" is what a peer that restarted cannot have seen: its new process has no Connection for
// the old epoch, so nothing on it reached a service; the old process acknowledged nothing.
import { Duplex } from 'node:stream';
import type { Stream } from '../stream/index.ts';

/** Bytes kept for a replay; a stream that writes more before the peer answers cannot move. */
export const REPLAY_LIMIT = 256 * 1024;
/** Moves one stream may make before it fails like any other. */
export const MAX_MOVES = 3;

/** Own buffers of this Duplex; the inner stream's buffers (and its flow control) stay the real ones. */
const OWN_BUFFER = 64 * 1024;

const noop = (): void => {};

export class LinkStream extends Duplex {
  readonly service: string;
  #inner: Stream;
  /** Written bytes kept for a replay; undefined once settled. */
  #kept: Buffer[] | undefined = [];
  #keptBytes = 0;
  #moves = 0;
  #ended = false;
  #writeCb: ((err?: Error | null) => void) | undefined;
  #finalCb: ((err?: Error | null) => void) | undefined;
  #off: () => void = noop;

  constructor(service: string, inner: Stream) {
    super({ allowHalfOpen: true, readableHighWaterMark: OWN_BUFFER, writableHighWaterMark: OWN_BUFFER });
    this.service = service;
    this.#inner = inner;
    this.#attach(inner);
  }

  /** True while the stream can move to another Connection. */
  get movable(): boolean {
    if (this.#kept === undefined || this.destroyed || this.#moves >= MAX_MOVES) return false;
    if (this.#inner.flowState().acked > 0) return this.#settle();
    return true;
  }

  /** Lets go of the current inner stream (its Connection is closing) without erroring. */
  detach(): void {
    this.#off();
    this.#inner.on('error', noop);
  }

  /** Continues on `inner`, a stream of the link's new Connection: writes what was written so far. */
  reattach(inner: Stream): void {
    this.#moves++;
    this.#inner = inner;
    this.#attach(inner);
    let room = true;
    for (const b of this.#kept ?? []) room = inner.write(b);
    if (this.#ended) inner.end();
    if (this.#writeCb && room) this.#release();
  }

  #settle(): false {
    this.#kept = undefined;
    this.#keptBytes = 0;
    return false;
  }

  #attach(s: Stream): void {
    const onData = (b: Buffer): void => {
      this.#settle();
      if (!this.push(b)) s.pause();
    };
    const onEnd = (): void => {
      this.#settle();
      this.push(null);
    };
    const onError = (err: Error): void => {
      this.#settle();
      this.destroy(err);
    };
    const onDrain = (): void => this.#release();
    const onFinish = (): void => {
      const cb = this.#finalCb;
      this.#finalCb = undefined;
      cb?.();
    };
    s.on('data', onData).on('end', onEnd).on('error', onError).on('drain', onDrain).on('finish', onFinish);
    this.#off = () => {
      s.off('data', onData).off('end', onEnd).off('error', onError).off('drain', onDrain);
      s.off('finish', onFinish);
    };
  }

  #release(): void {
    const cb = this.#writeCb;
    this.#writeCb = undefined;
    cb?.();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.#kept) {
      if (this.#keptBytes + chunk.length > REPLAY_LIMIT) this.#settle();
      else {
        this.#kept.push(chunk);
        this.#keptBytes += chunk.length;
      }
    }
    if (this.#inner.write(chunk)) cb();
    else this.#writeCb = cb;
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.#ended = true;
    this.#finalCb = cb;
    this.#inner.end();
  }

  override _read(): void {
    this.#inner.resume();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.#off();
    this.#inner.on('error', noop);
    this.#inner.destroy(err ?? undefined);
    cb(err);
  }
}
