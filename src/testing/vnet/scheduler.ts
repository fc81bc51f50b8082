import type { FakeClock, TimerHandle } from '../../clock/index.ts';

/** One datagram on its way: it reaches `sink` at virtual time `at`. */
export interface Arrival<M = unknown> {
  at: number;
  /** Tie-break: events due at the same instant fire in the order they were scheduled. */
  seq: number;
  sink: ArrivalSink<M>;
  data: Uint8Array;
  meta: M | undefined;
  /** The sending link's sequence number of the datagram (duplicates share it). */
  linkSeq: number;
}

export interface ArrivalSink<M = unknown> {
  arrive(a: Arrival<M>): void;
}

/** Timers may land a float ulp early (now + (at - now) ≠ at): events this close count as due. */
const EPSILON_MS = 1e-6;

/**
 * The vnet's event queue: a binary min-heap of arrivals ordered by (at, seq), with at most one
 * FakeClock timer armed, at the earliest arrival. Keeping datagrams out of the clock's own timer
 * list keeps the clock cheap with thousands in flight, and lets the clock interleave arrivals with
 * the protocol's timers in time order.
 */
export class Scheduler {
  readonly clock: FakeClock;
  #heap: Arrival<unknown>[] = [];
  #seq = 0;
  #timer: TimerHandle | undefined;
  #timerAt = Infinity;

  constructor(clock: FakeClock) {
    this.clock = clock;
  }

  /** Datagrams in flight. */
  get size(): number {
    return this.#heap.length;
  }

  schedule<M>(
    at: number,
    sink: ArrivalSink<M>,
    data: Uint8Array,
    meta: M | undefined,
    linkSeq: number,
  ): void {
    const a = { at, seq: this.#seq++, sink, data, meta, linkSeq } as Arrival<unknown>;
    const h = this.#heap;
    let i = h.length;
    h.push(a);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(a, h[p])) break;
      h[i] = h[p];
      i = p;
    }
    h[i] = a;
    if (at < this.#timerAt) this.#arm(at);
  }

  /** Drops everything in flight and disarms the timer. */
  stop(): void {
    this.#heap.length = 0;
    if (this.#timer !== undefined) this.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Infinity;
  }

  #arm(at: number): void {
    if (this.#timer !== undefined) this.clock.clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = this.clock.setTimeout(this.#fire, at - this.clock.now());
  }

  #fire = (): void => {
    this.#timer = undefined;
    this.#timerAt = -Infinity; // no arming while firing: the finally below arms once
    const h = this.#heap;
    try {
      // Arrivals scheduled for "now" by a sink run in this same pass (delay-0 links).
      while (h.length > 0 && h[0].at <= this.clock.now() + EPSILON_MS) {
        const a = this.#pop();
        a.sink.arrive(a);
      }
    } finally {
      this.#timerAt = Infinity;
      if (h.length > 0) this.#arm(h[0].at);
    }
  };

  #pop(): Arrival<unknown> {
    const h = this.#heap;
    const top = h[0];
    const last = h.pop()!;
    const n = h.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const c = r < n && before(h[r], h[l]) ? r : l;
        if (!before(h[c], last)) break;
        h[i] = h[c];
        i = c;
      }
      h[i] = last;
    }
    return top;
  }
}

function before(x: Arrival<unknown>, y: Arrival<unknown>): boolean {
  return x.at < y.at || (x.at === y.at && x.seq < y.seq);
}
