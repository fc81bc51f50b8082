// The per-source initiation rate limit (wireguard-go ratelimiter/ratelimiter.go): a token bucket
// per source address, applied to handshake messages that arrive while the host is under load and
// carry a valid mac2. Defaults as wireguard-go: 20 messages a second, bursts of 5.
//
// Sources are keyed by address without the port ("198.18.0.1:51820" → "198.18.0.1",
// "[::1]:4000" → "::1"); an endpoint without a numeric port is its own key. Entries idle for a
// second are swept lazily (at most once a second, on use), and the table holds at most
// `maxEntries` sources: a new source arriving at a full table is refused.
import type { Clock } from '../clock/index.ts';

export interface RateLimiterOptions {
  /** Sustained rate per source. Default 20 per second. */
  perSecond?: number;
  /** Burst per source. Default 5. */
  burst?: number;
  /** Sources tracked at once. Default 4096. */
  maxEntries?: number;
}

interface Bucket {
  tokens: number; // in ms of "credit"
  last: number;
}

const IDLE_MS = 1000;

/** The rate-limit key of an endpoint: its address without the port. */
export function sourceKey(endpoint: string): string {
  const m = /^\[(.*)\]:\d+$/.exec(endpoint) ?? /^([^:]*):\d+$/.exec(endpoint);
  return m ? m[1] : endpoint;
}

export class RateLimiter {
  readonly #clock: Clock;
  readonly #cost: number;
  readonly #max: number;
  readonly #maxEntries: number;
  readonly #table = new Map<string, Bucket>();
  #lastSweep = -Infinity;

  constructor(clock: Clock, opts: RateLimiterOptions = {}) {
    const perSecond = opts.perSecond ?? 20;
    const burst = opts.burst ?? 5;
    if (!(perSecond > 0) || !(burst >= 1)) throw new RangeError('rate limit: perSecond > 0 and burst >= 1');
    this.#clock = clock;
    this.#cost = 1000 / perSecond;
    this.#max = this.#cost * burst;
    this.#maxEntries = opts.maxEntries ?? 4096;
  }

  /** True when a message from `endpoint` may be processed now (and takes a token). */
  allow(endpoint: string): boolean {
    const now = this.#clock.now();
    if (now - this.#lastSweep >= IDLE_MS) this.#sweep(now);
    const key = sourceKey(endpoint);
    let b = this.#table.get(key);
    if (!b) {
      if (this.#table.size >= this.#maxEntries) return false;
      b = { tokens: this.#max, last: now };
      this.#table.set(key, b);
    }
    b.tokens = Math.min(this.#max, b.tokens + (now - b.last));
    b.last = now;
    if (b.tokens < this.#cost) return false;
    b.tokens -= this.#cost;
    return true;
  }

  /** Sources currently tracked. */
  get size(): number {
    return this.#table.size;
  }

  clear(): void {
    this.#table.clear();
  }

  #sweep(now: number): void {
    this.#lastSweep = now;
    for (const [k, b] of this.#table) if (now - b.last > IDLE_MS) this.#table.delete(k);
  }
}
