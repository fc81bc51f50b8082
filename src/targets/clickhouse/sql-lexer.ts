// A ClickHouse SQL tokenizer for the router-auth gate. It must never see fewer tokens than
// ClickHouse does, so where the two could disagree it refuses instead of guessing:
//
//   string   '…'  with \x escapes and '' doubling (ClickHouse reads both)
//   ident    [A-Za-z_][A-Za-z0-9_]*          → kind 'ident' (keywords are idents too)
//   qident   `…` or "…"                       → kind 'qident' (refused when empty or holding a
//                                                backslash or a doubled quote: servers differ)
//   number   0x1F · 12 · 1.5 · 1e-3 · .5
//   op       ( ) [ ] , ; . + - * / % = == != <> < > <= >= || -> ? :
//   comment  -- to end of line · /* … */ (a nested /* inside is refused: servers differ)
//
// Anything else (non-ASCII outside strings, $, @, #, {, an unterminated string) → not parsed.

export type TokenKind = 'ident' | 'qident' | 'string' | 'number' | 'op';
export interface Token {
  kind: TokenKind;
  /** Identifier text (unquoted), operator, or the raw literal. */
  value: string;
  pos: number;
}
export type LexResult = { ok: true; tokens: Token[] } | { ok: false; reason: string };

export const MAX_QUERY_BYTES = 256 * 1024;
export const MAX_TOKENS = 20_000;

const OPS2 = ['==', '!=', '<>', '<=', '>=', '||', '->'];
const OPS1 = '()[],;.+-*/%=<>?:';

const isIdStart = (c: number) => (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
const isDigit = (c: number) => c >= 48 && c <= 57;
const isId = (c: number) => isIdStart(c) || isDigit(c);

/** Tokenizes a query; never throws. */
export function lex(sql: string): LexResult {
  if (sql.length > MAX_QUERY_BYTES)
    return { ok: false, reason: `query longer than ${MAX_QUERY_BYTES} bytes` };
  const tokens: Token[] = [];
  let i = 0;
  const n = sql.length;
  while (i < n) {
    if (tokens.length > MAX_TOKENS) return { ok: false, reason: `more than ${MAX_TOKENS} tokens` };
    const c = sql.charCodeAt(i);
    if (c === 32 || c === 9 || c === 10 || c === 13 || c === 12 || c === 11) {
      i++;
      continue;
    }
    if (sql.startsWith('--', i)) {
      const e = sql.indexOf('\n', i);
      i = e < 0 ? n : e + 1;
      continue;
    }
    if (sql.startsWith('/*', i)) {
      const e = sql.indexOf('*/', i + 2);
      if (e < 0) return { ok: false, reason: `unterminated comment at ${i}` };
      if (sql.slice(i + 2, e).includes('/*')) return { ok: false, reason: `nested comment at ${i}` };
      i = e + 2;
      continue;
    }
    const start = i;
    if (c === 39 /* ' */ || c === 96 /* ` */ || c === 34 /* " */) {
      const q = sql[i]!;
      let j = i + 1;
      let text = '';
      let escaped = false;
      for (;;) {
        if (j >= n)
          return { ok: false, reason: `unterminated ${q === "'" ? 'string' : 'identifier'} at ${start}` };
        const d = sql[j]!;
        if (d === '\\') {
          if (j + 1 >= n) return { ok: false, reason: `unterminated string at ${start}` };
          escaped = true;
          text += sql.slice(j, j + 2);
          j += 2;
          continue;
        }
        if (d === q) {
          if (sql[j + 1] === q) {
            text += q;
            j += 2;
            continue;
          }
          j++;
          break;
        }
        text += d;
        j++;
      }
      i = j;
      if (q === "'") tokens.push({ kind: 'string', value: sql.slice(start, i), pos: start });
      else {
        // Escapes, doubled quotes and empty names are where lexers disagree: refuse them.
        if (escaped || text.includes(q) || text === '') {
          return { ok: false, reason: `unusual quoted identifier at ${start}` };
        }
        tokens.push({ kind: 'qident', value: text, pos: start });
      }
      continue;
    }
    if (isIdStart(c)) {
      let j = i + 1;
      while (j < n && isId(sql.charCodeAt(j))) j++;
      tokens.push({ kind: 'ident', value: sql.slice(i, j), pos: i });
      i = j;
      continue;
    }
    if (isDigit(c) || (c === 46 && i + 1 < n && isDigit(sql.charCodeAt(i + 1)) && !afterOperand(tokens))) {
      const m = /^(?:0[xX][0-9a-fA-F]+|\d*\.?\d+(?:[eE][+-]?\d+)?|\d+\.(?:[eE][+-]?\d+)?)/.exec(
        sql.slice(i, i + 400),
      );
      if (!m) return { ok: false, reason: `bad number at ${i}` };
      i += m[0].length;
      if (i < n && isIdStart(sql.charCodeAt(i))) return { ok: false, reason: `bad number at ${start}` };
      tokens.push({ kind: 'number', value: m[0], pos: start });
      continue;
    }
    const op = OPS2.find((o) => sql.startsWith(o, i)) ?? (OPS1.includes(sql[i]!) ? sql[i] : undefined);
    if (op === undefined)
      return { ok: false, reason: `unexpected character ${JSON.stringify(sql[i])} at ${i}` };
    tokens.push({ kind: 'op', value: op, pos: i });
    i += op.length;
  }
  return { ok: true, tokens };
}

/** `t.1` is tuple access, not the number .1: a dot right after an operand is an operator. */
function afterOperand(tokens: Token[]): boolean {
  const t = tokens[tokens.length - 1];
  return t !== undefined && (t.kind !== 'op' || t.value === ')' || t.value === ']');
}
