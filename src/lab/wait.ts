// Waiting on the injected clock: sleeps and polls with a deadline, cancelled by a signal.
import type { Clock } from '../clock/index.ts';

export class LabTimeout extends Error {}

/** Resolves after `ms`; rejects when `signal` aborts first. */
export function sleep(clock: Clock, ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new Error('aborted'));
    const onAbort = (): void => {
      clock.clearTimeout(h);
      reject(new Error('aborted'));
    };
    const h = clock.setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Polls `cond` every `every` ms until it returns a value other than undefined/false. */
export async function until<T>(
  clock: Clock,
  cond: () => T | undefined | false | Promise<T | undefined | false>,
  o: { ms: number; what: string; signal: AbortSignal; every?: number },
): Promise<T> {
  const end = clock.now() + o.ms;
  for (;;) {
    const v = await cond();
    if (v !== undefined && v !== false) return v;
    if (clock.now() >= end) throw new LabTimeout(`timed out after ${o.ms / 1000} s waiting for ${o.what}`);
    await sleep(clock, o.every ?? 50, o.signal);
  }
}

/** `p`, or a LabTimeout after `ms`. */
export function within<T>(clock: Clock, p: Promise<T>, ms: number, what: string): Promise<T> {
  let h: ReturnType<Clock['setTimeout']> | undefined;
  return Promise.race([
    p.finally(() => h !== undefined && clock.clearTimeout(h)),
    new Promise<never>((_, reject) => {
      h = clock.setTimeout(() => reject(new LabTimeout(`timed out after ${ms / 1000} s: ${what}`)), ms);
    }),
  ]);
}

/** Resolves once `signal` aborts (the lab is told to stop). */
export function untilSignal(signal: AbortSignal): Promise<void> {
  return new Promise<void>((r) =>
    signal.aborted ? r() : signal.addEventListener('abort', () => r(), { once: true }),
  );
}
