import type { Clock, TimerHandle } from './clock.ts';

/**
 * A restartable one-shot timer, like wireguard-go's `Timer`: `mod(ms)` (re)arms it, `del()`
 * disarms it, `pending` says whether it will fire. The zero state is disarmed.
 */
export class Timer {
  #handle: TimerHandle | undefined;
  #clock: Clock;
  #fn: () => void;

  constructor(clock: Clock, fn: () => void) {
    this.#clock = clock;
    this.#fn = fn;
  }

  get pending(): boolean {
    return this.#handle !== undefined;
  }

  mod(ms: number): void {
    if (this.#handle !== undefined) this.#clock.clearTimeout(this.#handle);
    this.#handle = this.#clock.setTimeout(() => {
      this.#handle = undefined;
      this.#fn();
    }, ms);
  }

  del(): void {
    if (this.#handle !== undefined) this.#clock.clearTimeout(this.#handle);
    this.#handle = undefined;
  }
}
