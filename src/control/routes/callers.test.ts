// No caller of the coordinator's API spells an /api/v1 path: the CLI, the lab, the test harness and
// the benchmarks call every route by its declaration (`api.route(routes.x, { params, query, body })`,
// index.ts), so a path or its types change in one place. Caught: a string or template literal that
// starts with /api/v1 anywhere in the arguments of a `.call(…)` or `.raw(…)` (ApiClient's untyped
// calls), on one line or several. Not caught: a path put in a variable first. The server's own
// tests (test/) still send, through `call` and `raw`, what no declaration allows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = fileURLToPath(new URL('../../../', import.meta.url));

/** The folders checked, from the repository's root. */
export const CHECKED = ['src/cli', 'src/lab', 'src/testing', 'bench'];

/**
 * Deliberate exceptions: `file` (from the repository's root) → why it spells a path. Keep it short;
 * none today.
 */
export const ALLOWED: Readonly<Record<string, string>> = {};

function files(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) files(p, out);
    else if (name.endsWith('.ts')) out.push(p);
  }
  return out;
}

/** A literal starting with /api/v1 at or under `n`. */
function spellsPath(n: ts.Node): boolean {
  if ((ts.isStringLiteral(n) || ts.isNoSubstitutionTemplateLiteral(n)) && n.text.startsWith('/api/v1'))
    return true;
  if (ts.isTemplateExpression(n) && n.head.text.startsWith('/api/v1')) return true;
  return ts.forEachChild(n, (c) => spellsPath(c) || undefined) === true;
}

/** `file:line` and the call's first line, for every `.call(…)` / `.raw(…)` given an /api/v1 literal. */
export function rawApiCalls(file: string, text: string): string[] {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if (
      ts.isCallExpression(node) &&
      ts.isPropertyAccessExpression(node.expression) &&
      (node.expression.name.text === 'call' || node.expression.name.text === 'raw') &&
      node.arguments.some(spellsPath)
    ) {
      const line = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1;
      found.push(`${file}:${line} ${node.getText(sf).split('\n')[0]}`);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}

test('the CLI, the lab, the test harness and the benchmarks call every API route by its declaration', () => {
  const found = CHECKED.flatMap((dir) => files(join(root, dir)))
    .map((f) => relative(root, f).split('\\').join('/'))
    .filter((f) => !(f in ALLOWED))
    .flatMap((f) => rawApiCalls(f, readFileSync(join(root, f), 'utf8')));
  assert.deepEqual(
    found,
    [],
    `call these through api.route(routes.NAME, { params, query, body }) or api.routeRaw (src/control/routes/):\n${found.join('\n')}`,
  );
});

test('every exception is a file that exists, with a reason', () => {
  for (const [f, why] of Object.entries(ALLOWED)) {
    assert.ok(statSync(join(root, f), { throwIfNoEntry: false })?.isFile(), `${f}: no such file`);
    assert.ok(why.trim().length > 0, `${f}: give the reason`);
  }
});

test('the check finds a path literal in any argument, on any line; not in comments, help text or other calls', () => {
  const text = [
    "await api.call('GET', '/api/v1/users');", // 1
    'await c.api.call<{ token: string }>(', // 2
    "  'POST',",
    '  `/api/v1/users/${enc(name)}/disable`,',
    ');',
    "await api.withToken(t).raw(add ? 'PUT' : 'DELETE', '/api/v1/groups/' + g);", // 6
    "await api.raw('GET', '/console/');",
    'await api.route(routes.usersList);',
    '// GET /api/v1/incidents, newest first',
    'const help = `POST /api/v1/alerts/alertmanager (docs/alerts.md)`;',
    "demo({ request: { path: '/api/v1/query?query=up' } });",
    "await remote.call('info');",
  ].join('\n');
  assert.deepEqual(
    rawApiCalls('x.ts', text).map((s) => s.split(' ')[0]),
    ['x.ts:1', 'x.ts:2', 'x.ts:6'],
  );
});
