// Cutting user text to a length for records that must stay well-formed Unicode (audit records are
// canonical JSON, which refuses a lone surrogate: RFC 7493, src/audit/canonical.ts).

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** `s` with every lone surrogate replaced by U+FFFD (String.prototype.toWellFormed, ES2024). */
export function wellFormedText(s: string): string {
  return s.replace(LONE_SURROGATE, '\uFFFD');
}

export interface Truncated {
  /** At most `max` code points of the text, never ending inside a surrogate pair. */
  text: string;
  /** True when code points were cut off. */
  truncated: boolean;
  /** The whole text's length in code points. */
  length: number;
}

/**
 * `s` cut to at most `max` code points (a surrogate pair is one code point and is never split);
 * lone surrogates already in `s` become U+FFFD, so the result is always well-formed.
 */
export function truncateText(s: string, max: number): Truncated {
  const whole = wellFormedText(s);
  let points = 0;
  let cut = whole.length;
  for (let i = 0; i < whole.length; i++) {
    const c = whole.charCodeAt(i);
    if (c >= 0xdc00 && c <= 0xdfff) continue; // the low half of a pair (whole is well-formed)
    if (points === max) cut = i;
    points++;
  }
  return { text: whole.slice(0, cut), truncated: points > max, length: points };
}

/**
 * The audit-record members for a text field `name` cut to `max` code points: `{ [name]: text }`,
 * plus `[name]Truncated: true` and `[name]Length` (code points) when it was cut.
 */
export function truncatedField(
  name: string,
  s: string,
  max: number,
): Record<string, string | number | boolean> {
  const t = truncateText(s, max);
  return t.truncated
    ? { [name]: t.text, [`${name}Truncated`]: true, [`${name}Length`]: t.length }
    : { [name]: t.text };
}
