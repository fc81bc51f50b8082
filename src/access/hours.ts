// The customer's access hours (a switch of the customer portal): vendor access may be requested
// only on these days (0 = Sunday … 6 = Saturday) between `from` and `to` (HH:MM, UTC; `to` after
// `from`, or before it for a window across midnight, which then belongs to the day it starts on).
// Pure.

export interface AccessHours {
  readonly from: string;
  readonly to: string;
  readonly days: readonly number[];
}

const HHMM = /^([01]\d|2[0-3]):([0-5]\d)$/;

const minutes = (t: string): number => {
  const m = HHMM.exec(t)!;
  return Number(m[1]) * 60 + Number(m[2]);
};

/** Why `h` is not a valid window, or undefined. */
export function hoursProblem(h: AccessHours): string | undefined {
  if (!HHMM.test(h.from) || !HHMM.test(h.to)) return 'from and to are HH:MM (UTC), e.g. 08:00';
  if (h.from === h.to) return 'from and to must differ';
  if (
    !Array.isArray(h.days) ||
    h.days.length === 0 ||
    h.days.some((d) => !Number.isInteger(d) || d < 0 || d > 6)
  )
    return 'days are 0 (Sunday) to 6 (Saturday), at least one';
  return undefined;
}

/** Whether `nowMs` is inside the window. */
export function withinHours(h: AccessHours, nowMs: number): boolean {
  const d = new Date(nowMs);
  const t = d.getUTCHours() * 60 + d.getUTCMinutes();
  const from = minutes(h.from);
  const to = minutes(h.to);
  const day = d.getUTCDay();
  if (from < to) return h.days.includes(day) && t >= from && t < to;
  // Across midnight: the evening part on a listed day, the morning part on the day after one.
  return (h.days.includes(day) && t >= from) || (h.days.includes((day + 6) % 7) && t < to);
}

/** "Mon–Fri 08:00–18:00 UTC"-like text for messages. */
export function describeHours(h: AccessHours): string {
  const names = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  return `${[...h.days]
    .sort()
    .map((d) => names[d])
    .join(', ')} ${h.from}–${h.to} UTC`;
}
