import type { Clock, TimerHandle } from './clock.ts';

interface FakeTimer extends TimerHandle {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

/**
 * A clock that moves only when the test says so. Timers fire in deadline order (ties in the
 * order they were set) while `advance()` walks time forward, so a timer set by a firing timer
 * fires in the same advance if it falls within it.
 */
export class FakeClock implements Clock {
  #now: number;
  #wallOffset: number;
  #seq = 0;
  #timers: FakeTimer[] = [];

  constructor(opts: { now?: number; wallMs?: number } = {}) {
    this.#now = opts.now ?? 0;
    this.#wallOffset = (opts.wallMs ?? 1_700_000_000_000) - this.#now;
  }

  now(): number {
    return this.#now;
  }
  wallMs(): number {
    return this.#now + this.#wallOffset;
  }
  /** Moves the wall clock alone (a clock step), as NTP might; monotonic time is untouched. */
  stepWall(deltaMs: number): void {
    this.#wallOffset += deltaMs;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const t = {
      __timer: true as const,
      at: this.#now + Math.max(0, ms),
      seq: this.#seq++,
      fn,
      cancelled: false,
    };
    this.#timers.push(t);
    return t;
  }
  clearTimeout(handle: TimerHandle): void {
    const t = handle as FakeTimer;
    t.cancelled = true;
    const i = this.#timers.indexOf(t);
    if (i >= 0) this.#timers.splice(i, 1);
  }

  /** Number of timers waiting to fire. */
  pending(): number {
    return this.#timers.length;
  }
  /** Deadline of the next timer, or undefined. */
  nextAt(): number | undefined {
    return this.#next()?.at;
  }

  /** Moves time forward by `ms`, firing every timer that falls due, in order. */
  advance(ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`advance(${ms}): time only moves forward`);
    const end = this.#now + ms;
    for (;;) {
      const t = this.#next();
      if (!t || t.at > end) break;
      this.#timers.splice(this.#timers.indexOf(t), 1);
      this.#now = Math.max(this.#now, t.at);
      t.fn();
    }
    this.#now = end;
  }

  /** Fires timers until none is left or `limitMs` has passed; returns the time advanced. */
  runAll(limitMs = 3_600_000): number {
    const start = this.#now;
    for (;;) {
      const t = this.#next();
      if (!t || t.at - start > limitMs) break;
      this.advance(t.at - this.#now);
    }
    return this.#now - start;
  }

  #next(): FakeTimer | undefined {
    let best: FakeTimer | undefined;
    for (const t of this.#timers)
      if (!best || t.at < best.at || (t.at === best.at && t.seq < best.seq)) best = t;
    return best;
  }
}
