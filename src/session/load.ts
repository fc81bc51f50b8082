// Under-load detection for handshake messages. wireguard-go calls a device under load when its
// handshake queue is an eighth full and keeps it so for a second after (UnderLoadAfterTime); we
// have no queue (messages are handled synchronously), so we count instead: the host is under load
// when more than `threshold` handshake messages (types 1 and 2) arrive within one fixed
// one-second window, and it stays under load for one second after the last such excess.
// `force(true|false)` overrides the measurement (tests, operators); `force(undefined)` ends that.
import type { Clock } from '../clock/index.ts';

/** Default threshold: handshake messages per second above which the host is under load. */
export const DEFAULT_UNDER_LOAD_PER_SECOND = 128;
const WINDOW_MS = 1000;
const UNDER_LOAD_AFTER_MS = 1000;

export class LoadMeter {
  readonly #clock: Clock;
  readonly #threshold: number;
  #windowStart = -Infinity;
  #count = 0;
  #until = -Infinity;
  #forced: boolean | undefined;

  constructor(clock: Clock, threshold = DEFAULT_UNDER_LOAD_PER_SECOND) {
    if (!(threshold >= 0)) throw new RangeError('underLoadPerSecond must be >= 0');
    this.#clock = clock;
    this.#threshold = threshold;
  }

  /** Counts one handshake message; true when the host is under load. */
  record(): boolean {
    const now = this.#clock.now();
    if (now - this.#windowStart >= WINDOW_MS) {
      this.#windowStart = now;
      this.#count = 0;
    }
    if (++this.#count > this.#threshold) this.#until = now + UNDER_LOAD_AFTER_MS;
    return this.underLoad;
  }

  get underLoad(): boolean {
    return this.#forced ?? this.#clock.now() < this.#until;
  }

  force(on: boolean | undefined): void {
    this.#forced = on;
  }
}
