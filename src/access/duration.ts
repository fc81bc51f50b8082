// Durations as people write them in policies and on the command line: "90s", "15m", "2h",
// "1h30m", "7d". Units: ms, s, m, h, d; each unit at most once, largest first.
import { AccessError } from './errors.ts';

const UNIT_MS: Record<string, number> = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000, ms: 1 };
const ORDER = ['d', 'h', 'm', 's', 'ms'];
const PART = /(\d{1,9})(ms|d|h|m|s)/y;

/** Milliseconds of a duration string, or undefined when it is not one (never throws). */
export function readDuration(text: string): number | undefined {
  if (typeof text !== 'string' || text.length === 0 || text.length > 40) return undefined;
  let total = 0;
  let last = -1;
  PART.lastIndex = 0;
  while (PART.lastIndex < text.length) {
    const at = PART.lastIndex;
    const m = PART.exec(text);
    if (m === null || m.index !== at) return undefined;
    const rank = ORDER.indexOf(m[2]);
    if (rank <= last) return undefined;
    last = rank;
    total += Number(m[1]) * UNIT_MS[m[2]];
  }
  return Number.isSafeInteger(total) ? total : undefined;
}

/** Milliseconds of a duration string; throws AccessError DURATION_INVALID. */
export function parseDuration(text: string): number {
  const ms = readDuration(text);
  if (ms === undefined) {
    throw new AccessError(
      'DURATION_INVALID',
      `not a duration: ${JSON.stringify(text).slice(0, 60)} (write e.g. 30m, 2h, 1h30m, 7d)`,
    );
  }
  return ms;
}

/** An epoch-ms instant as ISO 8601 UTC, for people (notifications); pure, reads no clock. */
export const iso = (ms: number): string => (Number.isFinite(ms) ? new Date(ms).toISOString() : String(ms));

/** The shortest exact string for a whole number of ms: 5400000 → "1h30m", 0 → "0s". */
export function formatDuration(ms: number): string {
  if (!Number.isSafeInteger(ms) || ms < 0) return `${ms}ms`;
  if (ms === 0) return '0s';
  let rest = ms;
  let out = '';
  for (const unit of ORDER) {
    const n = Math.floor(rest / UNIT_MS[unit]);
    if (n > 0) {
      out += `${n}${unit}`;
      rest -= n * UNIT_MS[unit];
    }
  }
  return out;
}
