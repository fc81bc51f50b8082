// A flag's text turned into its value: numbers in range, durations in milliseconds, one of the
// choices. Pure; a value that does not convert is a UsageError (BAD_VALUE) saying what it wants.
import { UsageError } from './errors.ts';
import {
  DURATION_UNITS,
  type DurationFlag,
  type DurationUnit,
  type FlagSpec,
  type NumberFlag,
  type StringFlag,
} from './flags.ts';

const bad = (message: string): UsageError => new UsageError(message, { code: 'BAD_VALUE' });

function toNumber(name: string, f: NumberFlag, raw: string): number {
  const n = Number(raw);
  const ok =
    ((f.integer ?? true) ? /^\d{1,15}$/.test(raw) : raw.trim() !== '' && Number.isFinite(n)) &&
    (f.min === undefined || n >= f.min) &&
    (f.max === undefined || n <= f.max);
  if (ok) return n;
  if (f.invalid) throw bad(f.invalid(raw));
  const range =
    f.min !== undefined && f.max !== undefined
      ? `${f.min}..${f.max}`
      : f.min !== undefined
        ? `a number from ${f.min}`
        : 'a number';
  throw bad(`--${name} takes ${range}, got '${raw}'`);
}

/** "90s", "500ms", "7d" (one number, one unit) → milliseconds. */
export function toDuration(name: string, f: DurationFlag, raw: string): number {
  const units = [...f.units].sort((a, b) => b.length - a.length).join('|');
  const m = new RegExp(`^(\\d{1,${f.digits ?? 7}})(${units})$`).exec(raw);
  if (m) return Number(m[1]) * DURATION_UNITS[m[2] as DurationUnit];
  if (f.invalid) throw bad(f.invalid(raw));
  throw bad(`--${name} wants a duration such as ${f.units.map((u) => `10${u}`).join(', ')}; got '${raw}'`);
}

function choice(name: string, f: StringFlag, raw: string): string {
  if (!f.choices || f.choices.includes(raw)) return raw;
  if (f.invalid) throw bad(f.invalid(raw));
  throw bad(`--${name} takes ${f.choices.join(', ')}; got '${raw}'`);
}

/** The value of flag `name` from its text (a list for a repeatable flag, true for a boolean). */
export function convert(name: string, f: FlagSpec, raw: string | string[] | boolean): unknown {
  switch (f.type) {
    case 'number':
      return toNumber(name, f, String(raw));
    case 'duration':
      return toDuration(name, f, String(raw));
    case 'string':
      return choice(name, f, String(raw));
    default:
      return raw;
  }
}
