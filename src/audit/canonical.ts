// Canonical JSON, RFC 8785 (JSON Canonicalization Scheme, "JCS"): the bytes the audit chain hashes
// and checkpoints sign. The same value always gives the same text:
//   - object members sorted by their names as UTF-16 code units (RFC 8785 §3.2.3), no whitespace;
//   - numbers as ECMAScript Number.prototype.toString writes them (§3.2.2.3): -0 is "0", 1e21 is
//     "1e+21"; NaN and ±Infinity have no form and are refused;
//   - strings escaped as §3.2.2.2 says: \" \\ \b \t \n \f \r, other controls as \u00xx (lower-case
//     hex), everything else literal; a lone surrogate is not I-JSON (RFC 7493) and is refused.
// Refused too: undefined (as a value or a member), functions, symbols, bigints, and objects other
// than arrays and plain objects (a Date or a Uint8Array would otherwise hash as "{}"). Depth and
// output length are bounded, which also ends cycles.
import { AuditError } from './errors.ts';

export interface CanonicalLimits {
  /** Deepest nesting of arrays and objects; default 32. */
  maxDepth?: number;
  /** Longest output in UTF-16 code units (a lower bound on its UTF-8 bytes); default 1 MiB. */
  maxLength?: number;
}

export const CANONICAL_MAX_DEPTH = 32;
export const CANONICAL_MAX_LENGTH = 1 << 20;

// Any unpaired surrogate: a high one not followed by a low one, or a low one not after a high one.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** The RFC 8785 canonical text of `value`; throws AuditError NOT_CANONICAL. */
export function canonicalize(value: unknown, limits: CanonicalLimits = {}): string {
  const maxDepth = limits.maxDepth ?? CANONICAL_MAX_DEPTH;
  const maxLength = limits.maxLength ?? CANONICAL_MAX_LENGTH;
  let out = '';
  // The path to the value being written, kept as a stack and formatted only for an error message.
  const path: (string | number)[] = [];
  const at = () => '$' + path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${p}`)).join('');
  const refuse = (why: string) => new AuditError('NOT_CANONICAL', `no canonical JSON: ${at()} ${why}`);
  // JSON.stringify of a well-formed string escapes exactly what RFC 8785 §3.2.2.2 escapes, in the
  // same way (lower-case \u00xx); only lone surrogates, which it would escape, must be refused.
  const str = (s: string): string => {
    const j = JSON.stringify(s);
    // A well-formed string keeps its surrogate pairs literal, so only a lone surrogate (which
    // JSON.stringify writes as \udxxx) can put "\ud" in the output; "\\ud" is a false alarm
    // that the exact test below clears.
    if (j.includes('\\ud') && LONE_SURROGATE.test(s)) throw refuse('holds a lone surrogate');
    return j;
  };

  const walk = (v: unknown, depth: number): void => {
    if (v === null) {
      out += 'null';
      return;
    }
    switch (typeof v) {
      case 'boolean':
        out += v ? 'true' : 'false';
        return;
      case 'number':
        if (!Number.isFinite(v)) throw refuse(`is ${v}, which JSON cannot represent`);
        // JSON.stringify of a finite number is Number.prototype.toString, with -0 written "0".
        out += JSON.stringify(v);
        return;
      case 'string':
        out += str(v);
        return;
      case 'object':
        break;
      default:
        throw refuse(`is a ${typeof v}`);
    }
    if (depth >= maxDepth) throw refuse(`is nested deeper than ${maxDepth}`);
    if (Array.isArray(v)) {
      out += '[';
      for (let i = 0; i < v.length; i++) {
        if (i > 0) out += ',';
        path.push(i);
        if (!(i in v)) throw refuse('is a hole');
        walk(v[i], depth + 1);
        path.pop();
        if (out.length > maxLength) throw refuse(`makes the text longer than ${maxLength} characters`);
      }
      out += ']';
    } else {
      const proto = Object.getPrototypeOf(v) as unknown;
      if (proto !== Object.prototype && proto !== null)
        throw refuse(`is a ${(v as object).constructor?.name ?? 'non-plain object'}, not a plain object`);
      if (Object.getOwnPropertySymbols(v).length > 0) throw refuse('has symbol keys');
      const rec = v as Record<string, unknown>;
      const keys = Object.keys(rec).sort(); // default sort compares UTF-16 code units (§3.2.3)
      out += '{';
      for (let i = 0; i < keys.length; i++) {
        const k = keys[i];
        if (i > 0) out += ',';
        path.push(k);
        out += str(k) + ':';
        walk(rec[k], depth + 1);
        path.pop();
        if (out.length > maxLength) throw refuse(`makes the text longer than ${maxLength} characters`);
      }
      out += '}';
    }
  };

  walk(value, 0);
  if (out.length > maxLength) throw refuse(`is longer than ${maxLength} characters`);
  return out;
}

/** True when `value` has a canonical form within the limits. */
export function isCanonicalizable(value: unknown, limits?: CanonicalLimits): boolean {
  try {
    canonicalize(value, limits);
    return true;
  } catch {
    return false;
  }
}
