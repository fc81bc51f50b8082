// Certificate times: X.509 encodes whole seconds, so every time we put in a certificate is floored
// to the second first (never later than asked) and compared in whole seconds.
import { PkiError } from './errors.ts';

/** An instant as epoch ms (number) or a Date. */
export type Instant = number | Date;

/** Epoch ms of an Instant, floored to the second; VALIDITY_INVALID when not a finite time. */
export function toSecondMs(t: Instant, what: string): number {
  const ms = t instanceof Date ? t.getTime() : t;
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0 || ms > 253_402_300_799_000) {
    throw new PkiError('VALIDITY_INVALID', `${what} is not a valid time`);
  }
  return Math.floor(ms / 1000) * 1000;
}

export const DAY_MS = 86_400_000;
