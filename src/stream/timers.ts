/**
 * Every timer of a connection, on the injected Clock: one restartable Timer whose deadline is the
 * earliest of
 *
 *   ack      an owed ACK must go (max_ack_delay, RFC 9000 §13.2.1)
 *   loss     time-threshold loss or probe timeout (RFC 9002 §6.1.2, §6.2)
 *   pacing   the pacer lets the next packet go (RFC 9002 §7.7)
 *   idle     nothing heard from the peer for the idle timeout
 *   keepalive nothing ack-eliciting sent for the keep-alive interval
 *
 * The connection recomputes the deadline after every event and calls `arm(deadline)`. Re-arming
 * happens only when the deadline moves earlier: a later deadline lets the armed timer fire early, and
 * the connection simply re-arms then. This keeps clock operations rare on the packet path.
 */
import { Timer } from '../clock/index.ts';
import type { Clock } from '../clock/index.ts';

/** Smallest step between a timer event and the next (ms). */
export const MIN_STEP_MS = 0.01;

export interface Deadlines {
  ack: number;
  loss: number;
  pacing: number;
  idle: number;
  keepAlive: number;
}

/** Earliest non-zero deadline (0 = none). */
export function earliest(d: Deadlines): number {
  let t = 0;
  for (const v of [d.ack, d.loss, d.pacing, d.idle, d.keepAlive]) if (v > 0 && (t === 0 || v < t)) t = v;
  return t;
}

export class ConnectionTimers {
  #clock: Clock;
  #timer: Timer;
  #armedAt = 0;

  constructor(clock: Clock, onFire: () => void) {
    this.#clock = clock;
    this.#timer = new Timer(clock, () => {
      this.#armedAt = 0;
      onFire();
    });
  }

  /** Makes sure the timer fires no later than `deadline` (absolute ms; 0 = nothing due). */
  arm(deadline: number): void {
    if (deadline === 0) return;
    // Never in the past: a deadline that did not move on would otherwise spin the clock in place.
    const at = Math.max(deadline, this.#clock.now() + MIN_STEP_MS);
    if (this.#timer.pending && this.#armedAt <= at) return;
    this.#armedAt = at;
    this.#timer.mod(at - this.#clock.now());
  }

  get pending(): boolean {
    return this.#timer.pending;
  }

  stop(): void {
    this.#timer.del();
    this.#armedAt = 0;
  }
}
