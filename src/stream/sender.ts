/**
 * What the connection has to send, frame by frame, and how it fills a packet: control frames
 * first (credit updates, resets, opens, refusals, path frames), then stream data in round-robin,
 * one frame per stream per turn and as large as the packet allows, lost bytes before new ones.
 *
 * Every packet keeps the list of SentFrames it carried. When the packet is lost, `requeue` puts back
 * what still matters: byte ranges go back to their stream's send buffer (to be re-split to whatever
 * the datagram size is by then), credit updates are re-sent with their current value, reliable
 * control frames are queued again unless their stream has moved on.
 *
 * Also holds the send side of connection-level flow control (MAX_DATA from the peer).
 */
import {
  frameLength,
  streamHeaderLength,
  writeFrame,
  writeStreamHeader,
  type Frame,
  type Writer,
} from '../proto/frames/index.ts';
import { INITIAL_MAX_DATA } from './options.ts';
import { RoundRobin } from './scheduler.ts';
import type { ConnectionStats } from './stats.ts';
import type { StreamCore } from './stream.ts';

export const K_STREAM = 0;
export const K_CTRL = 1;
export const K_MAX_DATA = 2;
export const K_MAX_STREAM_DATA = 3;
export const K_MAX_STREAMS = 4;
export const K_ACK = 5;

/** One frame a sent packet carried, as needed to act on its acknowledgement or loss. */
export class SentFrame {
  constructor(
    readonly k: number,
    readonly core: StreamCore | undefined,
    /** STREAM: offset; ACK: largest acknowledged. */
    readonly off: number,
    readonly len: number,
    readonly fin: boolean,
    readonly f: Frame | undefined,
  ) {}
}

/** Values the queue writes but the connection owns (receive-side limits). */
export interface AdvertisedLimits {
  maxData(): number;
  maxStreams(): number;
  lookup(id: number): StreamCore | undefined;
}

/** Queued path frames beyond this drop the oldest (they are unreliable anyway). */
/** A stream frame is not started with less room than this. */
const MIN_STREAM_ROOM = 24;

export class SendQueue {
  /** The peer's MAX_DATA and what our streams used of it (sum of their highest sent offsets). */
  sendMax = INITIAL_MAX_DATA;
  sendUsed = 0;
  maxDataPending = false;
  maxStreamsPending = false;
  readonly msdPending = new Set<StreamCore>();
  #ctrl: Frame[] = [];
  #dataBlocked = -1;
  readonly #sched = new RoundRobin<StreamCore>();
  #connBlocked: StreamCore[] = [];
  readonly #stats: ConnectionStats;
  readonly #limits: AdvertisedLimits;

  constructor(stats: ConnectionStats, limits: AdvertisedLimits) {
    this.#stats = stats;
    this.#limits = limits;
  }

  get connCredit(): number {
    return this.sendMax - this.sendUsed;
  }

  hasWork(): boolean {
    return (
      this.#sched.size > 0 ||
      this.#ctrl.length > 0 ||
      this.maxDataPending ||
      this.maxStreamsPending ||
      this.msdPending.size > 0 ||
      this.#dataBlocked >= 0
    );
  }

  /** Queues a reliable control frame. */
  control(f: Frame): void {
    this.#ctrl.push(f);
  }

  /** A stream may have something to send: into the round-robin, or noted as blocked on MAX_DATA. */
  wake(core: StreamCore): void {
    if (core.removed || (core.local && !core.opened) || core.queued) return;
    const credit = this.connCredit;
    if (core.sendable(credit)) {
      core.queued = true;
      core.blocked = 0;
      this.#sched.push(core);
    } else if (credit <= 0 && core.send.unsent > 0) this.#blockOnConnection(core);
  }

  /** The peer's MAX_DATA. */
  onMaxData(max: number): void {
    if (max <= this.sendMax) return;
    this.sendMax = max;
    const blocked = this.#connBlocked;
    this.#connBlocked = [];
    for (const c of blocked) {
      c.blocked = 0;
      this.wake(c);
    }
  }

  #blockOnConnection(core: StreamCore): void {
    if (core.blocked === 2) return;
    core.blocked = 2;
    this.#connBlocked.push(core);
    if (this.#dataBlocked < 0) this.#dataBlocked = this.sendMax;
  }

  /** Puts back what still matters among the frames of a lost (or probed) packet. */
  requeue(frames: readonly SentFrame[]): void {
    for (const f of frames) {
      switch (f.k) {
        case K_STREAM: {
          const c = f.core!;
          if (c.removed || c.resetSent) break;
          c.send.onLost(f.off, f.len, f.fin);
          this.wake(c);
          break;
        }
        case K_CTRL: {
          const fr = f.f!;
          const c = f.core;
          if (c && c.removed && fr.type !== 'stream_refused') break;
          if (fr.type === 'reset_stream' && c?.resetAcked) break;
          if (fr.type === 'stop_sending' && c?.recvDone) break;
          if (fr.type === 'stream_data_blocked') break;
          this.#ctrl.push(fr);
          break;
        }
        case K_MAX_DATA:
          this.maxDataPending = true;
          break;
        case K_MAX_STREAM_DATA:
          if (f.core && !f.core.removed && !f.core.recvDone) this.msdPending.add(f.core);
          break;
        case K_MAX_STREAMS:
          this.maxStreamsPending = true;
          break;
      }
    }
  }

  /** Writes the control frames that fit; returns true when any was written. */
  writeControl(w: Writer, frames: SentFrame[]): boolean {
    let any = false;
    if (this.maxDataPending && w.remaining >= 9) {
      this.maxDataPending = false;
      writeFrame(w, { type: 'max_data', max: this.#limits.maxData() });
      frames.push(new SentFrame(K_MAX_DATA, undefined, 0, 0, false, undefined));
      any = true;
    }
    if (this.maxStreamsPending && w.remaining >= 9) {
      this.maxStreamsPending = false;
      writeFrame(w, { type: 'max_streams', max: this.#limits.maxStreams() });
      frames.push(new SentFrame(K_MAX_STREAMS, undefined, 0, 0, false, undefined));
      any = true;
    }
    if (this.#dataBlocked >= 0 && w.remaining >= 9) {
      writeFrame(w, { type: 'data_blocked', limit: this.#dataBlocked });
      this.#dataBlocked = -1;
      any = true;
    }
    for (const c of this.msdPending) {
      if (w.remaining < 17) break;
      this.msdPending.delete(c);
      if (c.removed || c.recvDone) continue;
      writeFrame(w, { type: 'max_stream_data', id: c.id, max: c.recvWindow.advertised });
      frames.push(new SentFrame(K_MAX_STREAM_DATA, c, 0, 0, false, undefined));
      any = true;
    }
    if (this.#ctrl.length > 0) {
      const rest: Frame[] = [];
      for (const f of this.#ctrl) {
        if (frameLength(f) > w.remaining) {
          rest.push(f);
          continue;
        }
        writeFrame(w, f);
        if (f.type !== 'streams_blocked') {
          const core = 'id' in f ? this.#limits.lookup(f.id) : undefined;
          frames.push(new SentFrame(K_CTRL, core, 0, 0, false, f));
        }
        any = true;
      }
      this.#ctrl = rest;
    }
    return any;
  }

  /**
   * Round-robin over streams with data: one frame each per turn, as large as fits. Streams whose
   * unsent bytes fell below their buffer limit go to `released` (their write callback may run).
   */
  writeStreams(w: Writer, frames: SentFrame[], released: StreamCore[]): boolean {
    let any = false;
    for (let turns = this.#sched.size; turns > 0 && w.remaining > MIN_STREAM_ROOM; turns--) {
      const c = this.#sched.shift()!;
      c.queued = false;
      if (c.removed || c.resetSent || c.sendUnused) continue;
      if (this.#writeOne(c, w, frames)) {
        any = true;
        if (c.writeCb && c.send.unsent < c.sendHwm) released.push(c);
      }
      this.#requeueStream(c);
    }
    return any;
  }

  /** One STREAM frame for `c`: lost bytes first, then new bytes within credit, or a bare FIN. */
  #writeOne(c: StreamCore, w: Writer, frames: SentFrame[]): boolean {
    const s = c.send;
    let off: number;
    let len: number;
    const lostLo = s.lost.min();
    if (lostLo !== undefined) {
      const r = s.takeLost(w.remaining - streamHeaderLength(c.id, lostLo, w.remaining));
      if (!r) return false;
      [off, len] = r;
      this.#stats.bytesRetransmitted += len;
    } else if (s.unsent > 0) {
      const credit = Math.min(c.sendLimit - s.sent, this.connCredit);
      len = Math.min(w.remaining - streamHeaderLength(c.id, s.sent, w.remaining), credit, s.unsent);
      if (len <= 0) return false;
      off = s.takeNew(len);
      this.sendUsed += len;
    } else if (s.finPending) {
      off = s.end;
      len = 0;
      if (streamHeaderLength(c.id, off, 0) > w.remaining) return false;
    } else return false;
    const fin = s.finPending && off + len === s.end && s.sent === s.end;
    writeStreamHeader(w, c.id, off, len, fin);
    if (len > 0) s.copy(off, len, w.buf, w.pos);
    w.pos += len;
    if (fin) s.finPending = false;
    frames.push(new SentFrame(K_STREAM, c, off, len, fin, undefined));
    return true;
  }

  /** Back into the round-robin if the stream can still send; else note what it waits for. */
  #requeueStream(c: StreamCore): void {
    const credit = this.connCredit;
    if (c.sendable(credit)) {
      c.queued = true;
      this.#sched.push(c);
      return;
    }
    const s = c.send;
    if (s.unsent > 0 && !s.hasRetransmit) {
      if (credit <= 0) this.#blockOnConnection(c);
      else if (c.sendLimit <= s.sent && c.blockedReported !== c.sendLimit) {
        c.blocked = 1;
        c.blockedReported = c.sendLimit;
        this.#ctrl.push({ type: 'stream_data_blocked', id: c.id, limit: c.sendLimit });
      }
    }
  }

  /** Forgets everything (connection closed). */
  clear(): void {
    this.#sched.clear();
    this.#connBlocked = [];
    this.#ctrl = [];
    this.msdPending.clear();
    this.maxDataPending = this.maxStreamsPending = false;
    this.#dataBlocked = -1;
  }
}
