// A small schema checker for the channel's JSON: each checker returns the typed value or throws
// ControlProtoError('CONTROL_BAD_MESSAGE') naming the path of the first bad field.
import { ControlProtoError } from './errors.ts';

export type Check<T> = (v: unknown, path: string) => T;

const bad = (path: string, what: string): never => {
  throw new ControlProtoError('CONTROL_BAD_MESSAGE', `${path || 'message'}: ${what}`);
};

export const str =
  (max: number, pattern?: RegExp): Check<string> =>
  (v, p) => {
    if (typeof v !== 'string') return bad(p, 'expected a string');
    if (v.length > max) return bad(p, `longer than ${max}`);
    if (pattern && !pattern.test(v)) return bad(p, `does not match ${pattern}`);
    return v;
  };

export const literal =
  <T extends string | number>(...values: T[]): Check<T> =>
  (v, p) =>
    values.includes(v as T) ? (v as T) : bad(p, `expected one of ${values.join(', ')}`);

export const int =
  (min = 0, max = Number.MAX_SAFE_INTEGER): Check<number> =>
  (v, p) =>
    typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max
      ? v
      : bad(p, `expected an integer in [${min}, ${max}]`);

export const bool: Check<boolean> = (v, p) => (typeof v === 'boolean' ? v : bad(p, 'expected a boolean'));

export const nullable =
  <T>(c: Check<T>): Check<T | null> =>
  (v, p) =>
    v === null ? null : c(v, p);

export const arr =
  <T>(of: Check<T>, max: number): Check<T[]> =>
  (v, p) => {
    if (!Array.isArray(v)) return bad(p, 'expected an array');
    if (v.length > max) return bad(p, `more than ${max} items`);
    return v.map((x, i) => of(x, `${p}[${i}]`));
  };

export const record =
  <T>(of: Check<T>, max: number, key: Check<string>): Check<Record<string, T>> =>
  (v, p) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return bad(p, 'expected an object');
    const entries = Object.entries(v);
    if (entries.length > max) return bad(p, `more than ${max} entries`);
    const out: Record<string, T> = {};
    for (const [k, x] of entries) out[key(k, `${p}.${k}`)] = of(x, `${p}.${k}`);
    return out;
  };

type Shape = Record<string, Check<unknown>>;
type Out<S extends Shape, O extends Shape> = { [K in keyof S]: ReturnType<S[K]> } & {
  [K in keyof O]?: ReturnType<O[K]>;
};

/** An object with required fields `req` and optional fields `opt`; unknown fields are refused. */
export const obj =
  <S extends Shape, O extends Shape = Record<never, never>>(req: S, opt?: O): Check<Out<S, O>> =>
  (v, p) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return bad(p, 'expected an object');
    const o = v as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(o)) if (!(k in req) && !(opt && k in opt)) bad(`${p}.${k}`, 'unknown field');
    for (const [k, c] of Object.entries(req)) out[k] = c(o[k], `${p}.${k}`);
    if (opt) for (const [k, c] of Object.entries(opt)) if (o[k] !== undefined) out[k] = c(o[k], `${p}.${k}`);
    return out as Out<S, O>;
  };

/** Parses UTF-8 JSON of at most `max` bytes. */
export function parseJson(bytes: Uint8Array, max: number): unknown {
  if (bytes.length > max)
    throw new ControlProtoError('CONTROL_TOO_LARGE', `message of ${bytes.length} bytes, limit ${max}`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw new ControlProtoError('CONTROL_BAD_JSON', 'not UTF-8 JSON', { cause });
  }
}

export function encodeJson(value: unknown, max: number): Uint8Array {
  const bytes = new TextEncoder().encode(JSON.stringify(value));
  if (bytes.length > max)
    throw new ControlProtoError('CONTROL_TOO_LARGE', `message of ${bytes.length} bytes, limit ${max}`);
  return bytes;
}
