/**
 * The one clock. Nothing outside src/clock reads the time or schedules a timer directly: every
 * component takes a Clock, so tests can drive time by hand with FakeClock.
 *
 * - `now()` is monotonic milliseconds (fractional), for durations and timers.
 * - `wallMs()` is milliseconds since the Unix epoch, for timestamps that leave the process
 *   (TAI64N, certificates, logs).
 */
export interface Clock {
  now(): number;
  wallMs(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** Opaque handle returned by Clock.setTimeout. */
export interface TimerHandle {
  readonly __timer: true;
}

export class RealClock implements Clock {
  now(): number {
    return performance.now();
  }
  wallMs(): number {
    return Date.now();
  }
  setTimeout(fn: () => void, ms: number): TimerHandle {
    const t = globalThis.setTimeout(fn, Math.max(0, ms));
    return t as unknown as TimerHandle;
  }
  clearTimeout(handle: TimerHandle): void {
    globalThis.clearTimeout(handle as unknown as NodeJS.Timeout);
  }
}

/** The process-wide real clock; pass a FakeClock in tests instead. */
export const realClock: Clock = new RealClock();
