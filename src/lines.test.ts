// No function in src/ runs past MAX_FUNCTION_LINES lines, from its first line to its closing brace
// (CONVENTIONS.md: files stay small, one concern each; a long function is several concerns).
// Every function-like node with a body counts: declarations, methods, arrows, accessors. Test files
// (*.test.ts) are left out.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

export const MAX_FUNCTION_LINES = 120;

const srcDir = dirname(fileURLToPath(import.meta.url));

function files(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) files(p, out);
    else if (name.endsWith('.ts') && !name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

/** `file:line name (n lines)` for every function in `text` longer than `max` lines. */
export function longFunctions(file: string, text: string, max = MAX_FUNCTION_LINES): string[] {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const first = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line;
      const last = sf.getLineAndCharacterOfPosition(node.getEnd()).line;
      const lines = last - first + 1;
      if (lines > max) {
        const name = node.name && ts.isIdentifier(node.name) ? node.name.text : '(anonymous)';
        found.push(`${file}:${first + 1} ${name} (${lines} lines)`);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}

test(`no function in src/ is longer than ${MAX_FUNCTION_LINES} lines`, () => {
  const long = files(srcDir).flatMap((f) => longFunctions(relative(srcDir, f), readFileSync(f, 'utf8')));
  assert.deepEqual(long, [], `split these by concern:\n${long.join('\n')}`);
});

test('the measure counts from the first line to the closing brace, nested functions too', () => {
  const body = (n: number) => Array.from({ length: n }, (_, i) => `  const a${i} = ${i};`).join('\n');
  const fn = (name: string, inner: number) => `function ${name}() {\n${body(inner)}\n}`;
  assert.deepEqual(longFunctions('a.ts', fn('ok', 118)), []);
  assert.deepEqual(longFunctions('a.ts', fn('long', 119)), ['a.ts:1 long (121 lines)']);
  const nested = `export const x = {\n  m() {\n${body(2)}\n    return () => {\n${body(120)}\n    };\n  },\n};`;
  assert.deepEqual(longFunctions('b.ts', nested, 120), [
    'b.ts:2 m (126 lines)',
    'b.ts:5 (anonymous) (122 lines)',
  ]);
});
