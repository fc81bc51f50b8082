import { Rng } from './rng.ts';
import type { Arrival, ArrivalSink, Scheduler } from './scheduler.ts';

/** How one direction of a link treats datagrams. Every field is optional; see each default. */
export interface LinkOptions {
  /** Share of datagrams lost on the wire, 0..1. Default 0. */
  lossRate?: number;
  /** One-way propagation delay, ms. Default 0. */
  delayMs?: number;
  /** Extra delay drawn uniformly from [0, jitterMs) per datagram (may reorder). Default 0. */
  jitterMs?: number;
  /** Share of datagrams held back by an extra delay, so later ones overtake them, 0..1. Default 0. */
  reorderRate?: number;
  /** A held-back datagram waits an extra (0, reorderDelayMs]. Default 10 ms. */
  reorderDelayMs?: number;
  /** Share of datagrams delivered twice, 0..1. Default 0. */
  duplicateRate?: number;
  /** Serialization rate in bits per second. Default unlimited (no serialization delay, no queue). */
  bandwidthBps?: number;
  /** Drop-tail queue in front of the bandwidth limit, bytes (backlog still to serialize). Default unlimited. */
  queueBytes?: number;
  /** Datagrams larger than this many bytes are dropped. Default unlimited. */
  mtu?: number;
}

/** Counters of one link direction. Live: read them at any time. */
export interface LinkStats {
  sent: number;
  sentBytes: number;
  delivered: number;
  deliveredBytes: number;
  dropped: { loss: number; queue: number; mtu: number; unrouted: number };
  duplicated: number;
  /** Deliveries of a datagram after one sent later on this link had already arrived. */
  reordered: number;
  /** Largest serialization backlog seen, bytes. */
  peakQueueBytes: number;
}

/** Receives what a link delivers. `meta` travels untouched (addresses, for the later NAT model). */
export type LinkReceiver<M> = (data: Uint8Array, meta: M | undefined) => void;

interface Resolved {
  lossRate: number;
  delayMs: number;
  jitterMs: number;
  reorderRate: number;
  reorderDelayMs: number;
  duplicateRate: number;
  /** Bytes per millisecond; Infinity when unlimited. */
  bytesPerMs: number;
  queueBytes: number;
  mtu: number;
}

function rate(name: string, v: number | undefined): number {
  if (v === undefined) return 0;
  if (!(v >= 0 && v <= 1)) throw new RangeError(`LinkOptions.${name} must be in [0, 1], got ${v}`);
  return v;
}
function nonNeg(name: string, v: number | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  if (!(v >= 0)) throw new RangeError(`LinkOptions.${name} must be ≥ 0, got ${v}`);
  return v;
}

function resolve(o: LinkOptions): Resolved {
  const bps = o.bandwidthBps;
  if (bps !== undefined && !(bps > 0))
    throw new RangeError(`LinkOptions.bandwidthBps must be > 0, got ${bps}`);
  return {
    lossRate: rate('lossRate', o.lossRate),
    delayMs: nonNeg('delayMs', o.delayMs, 0),
    jitterMs: nonNeg('jitterMs', o.jitterMs, 0),
    reorderRate: rate('reorderRate', o.reorderRate),
    reorderDelayMs: nonNeg('reorderDelayMs', o.reorderDelayMs, 10),
    duplicateRate: rate('duplicateRate', o.duplicateRate),
    bytesPerMs: bps === undefined ? Infinity : bps / 8000,
    queueBytes: nonNeg('queueBytes', o.queueBytes, Infinity),
    mtu: nonNeg('mtu', o.mtu, Infinity),
  };
}

export function newLinkStats(): LinkStats {
  return {
    sent: 0,
    sentBytes: 0,
    delivered: 0,
    deliveredBytes: 0,
    dropped: { loss: 0, queue: 0, mtu: 0, unrouted: 0 },
    duplicated: 0,
    reordered: 0,
    peakQueueBytes: 0,
  };
}

/**
 * One direction of a wire. A datagram sent at time t:
 *
 *   mtu check ─► drop-tail queue ─► serializer (bandwidth) ─► loss ─► delay + jitter (+ hold-back) ─► receiver
 *                                                                   └► duplicate (own jitter) ──────►
 *
 * Lost datagrams still used the serializer (they die on the wire). Each link draws from its own
 * PRNG stream, so traffic on one link never shifts the random choices of another.
 * Reusable below hosts, NATs and routers: the receiver gets `(data, meta)` and `meta` is opaque.
 */
export class Link<M = unknown> implements ArrivalSink<M> {
  readonly stats: LinkStats = newLinkStats();
  #opts: LinkOptions;
  #r: Resolved;
  #rng: Rng;
  #sched: Scheduler;
  #receiver: LinkReceiver<M> | undefined;
  #busyUntil = 0;
  #nextSeq = 0;
  #maxDeliveredSeq = -1;

  constructor(sched: Scheduler, rng: Rng, opts: LinkOptions = {}, receiver?: LinkReceiver<M>) {
    this.#sched = sched;
    this.#rng = rng;
    this.#opts = { ...opts };
    this.#r = resolve(this.#opts);
    this.#receiver = receiver;
  }

  /** The options in force (a copy). */
  get options(): LinkOptions {
    return { ...this.#opts };
  }

  /** Changes the link from now on, merging `opts` into the current options; datagrams already on the wire keep their fate. */
  set(opts: LinkOptions): void {
    const next = { ...this.#opts, ...opts };
    this.#r = resolve(next);
    this.#opts = next;
  }

  /** Replaces every option (unset fields return to their defaults). */
  reset(opts: LinkOptions = {}): void {
    this.#r = resolve(opts);
    this.#opts = { ...opts };
  }

  setReceiver(receiver: LinkReceiver<M> | undefined): void {
    this.#receiver = receiver;
  }

  /** Bytes waiting in the queue or in the serializer right now. */
  queuedBytes(): number {
    const r = this.#r;
    if (r.bytesPerMs === Infinity) return 0;
    return Math.max(0, this.#busyUntil - this.#sched.clock.now()) * r.bytesPerMs;
  }

  /** Takes a copy of `data` (the caller may reuse its buffer) and sends it on its way. Never throws. */
  send(data: Uint8Array, meta?: M): void {
    const st = this.stats;
    const r = this.#r;
    const len = data.length;
    st.sent++;
    st.sentBytes += len;
    if (len > r.mtu) {
      st.dropped.mtu++;
      return;
    }
    const now = this.#sched.clock.now();
    let t = now;
    if (r.bytesPerMs !== Infinity) {
      const start = this.#busyUntil > now ? this.#busyUntil : now;
      const backlog = (start - now) * r.bytesPerMs;
      // An idle link always takes one datagram, whatever the queue limit.
      if (backlog > 0 && backlog + len > r.queueBytes) {
        st.dropped.queue++;
        return;
      }
      if (backlog + len > st.peakQueueBytes) st.peakQueueBytes = backlog + len;
      t = start + len / r.bytesPerMs;
      this.#busyUntil = t;
    }
    const seq = this.#nextSeq++;
    if (r.lossRate > 0 && this.#rng.float() < r.lossRate) {
      st.dropped.loss++;
      return;
    }
    let at = t + r.delayMs;
    if (r.jitterMs > 0) at += this.#rng.float() * r.jitterMs;
    if (r.reorderRate > 0 && this.#rng.float() < r.reorderRate)
      at += (1 - this.#rng.float()) * r.reorderDelayMs;
    this.#sched.schedule(at, this, data.slice(), meta, seq);
    if (r.duplicateRate > 0 && this.#rng.float() < r.duplicateRate) {
      st.duplicated++;
      let at2 = t + r.delayMs;
      if (r.jitterMs > 0) at2 += this.#rng.float() * r.jitterMs;
      this.#sched.schedule(at2, this, data.slice(), meta, seq);
    }
  }

  /** Called by the scheduler when a datagram reaches the far end. */
  arrive(a: Arrival<M>): void {
    const st = this.stats;
    const rx = this.#receiver;
    if (!rx) {
      st.dropped.unrouted++;
      return;
    }
    if (a.linkSeq < this.#maxDeliveredSeq) st.reordered++;
    else this.#maxDeliveredSeq = a.linkSeq;
    st.delivered++;
    st.deliveredBytes += a.data.length;
    rx(a.data, a.meta);
  }
}
