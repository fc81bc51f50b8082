// JSON with comments: the format of sallyport's config and policy files. Plain JSON plus
//   // line comments and /* block comments */ outside strings, and
//   trailing commas before } and ].
// Everything else is JSON.parse's strict grammar. Comments and trailing commas are replaced by
// spaces (newlines kept), so an offset in the stripped text is the same offset in the file and a
// syntax error names the file's own line and column. `//` inside a string (a URL) is text.
import { SallyportError } from './errors.ts';

/** Codes: JSONC_SYNTAX (with line and column), JSONC_COMMENT (an unterminated block comment). */
export class JsoncError extends SallyportError {}

/** The text with comments and trailing commas blanked out; same length, same line breaks. */
export function stripJsonc(text: string): string {
  const out = text.split('');
  let lastComma = -1; // index of a comma with only blanks/comments after it so far
  let prev = ''; // the last character outside comments and blanks
  let i = 0;
  const blank = (from: number, to: number) => {
    for (let j = from; j < to; j++) if (out[j] !== '\n' && out[j] !== '\r') out[j] = ' ';
  };
  while (i < text.length) {
    const c = text[i];
    if (c === '"') {
      lastComma = -1;
      prev = c;
      i++;
      while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
      i++;
    } else if (c === '/' && text[i + 1] === '/') {
      const end = text.indexOf('\n', i);
      const to = end < 0 ? text.length : end;
      blank(i, to);
      i = to;
    } else if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      if (end < 0) {
        const { line, column } = position(text, i);
        throw new JsoncError('JSONC_COMMENT', `unterminated /* comment at line ${line} column ${column}`);
      }
      blank(i, end + 2);
      i = end + 2;
    } else if (c === ',') {
      // Only a comma after a value can trail: `[,]` and `{,}` stay errors.
      lastComma = prev === '[' || prev === '{' || prev === ',' ? -1 : i;
      prev = c;
      i++;
    } else if (c === '}' || c === ']') {
      if (lastComma >= 0) out[lastComma] = ' ';
      lastComma = -1;
      prev = c;
      i++;
    } else {
      if (!/\s/.test(c)) {
        lastComma = -1;
        prev = c;
      }
      i++;
    }
  }
  return out.join('');
}

/** 1-based line and column of an offset. */
export function position(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset).split('\n');
  return { line: before.length, column: before[before.length - 1].length + 1 };
}

/** Parses JSON with comments and trailing commas; JsoncError naming line and column on bad input. */
export function parseJsonc(text: string): unknown {
  const plain = stripJsonc(text.startsWith('\uFEFF') ? text.slice(1) : text);
  try {
    return JSON.parse(plain);
  } catch (e) {
    const msg = (e as Error).message;
    const at = /position (\d+)/.exec(msg);
    const where = at
      ? (({ line, column }) => ` at line ${line} column ${column}`)(position(plain, Number(at[1])))
      : '';
    throw new JsoncError('JSONC_SYNTAX', `${msg.replace(/ in JSON at position \d+.*$/s, '')}${where}`, {
      cause: e,
    });
  }
}
