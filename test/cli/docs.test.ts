// The user docs stay true: docs/cli.md is the commands' current --help texts, every test that
// docs/security-model.md names exists under that exact name in that file (one per invariant at
// least), every file and folder it names exists, and the links between the docs lead somewhere.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const read = (rel: string): string => readFileSync(new URL(`../../${rel}`, import.meta.url), 'utf8');

test('docs/cli.md is the current --help texts (else: node scripts/cli-docs.mjs)', () => {
  const r = spawnSync(process.execPath, ['scripts/cli-docs.mjs', '--check'], {
    cwd: root,
    encoding: 'utf8',
    timeout: 120_000,
  });
  assert.equal(r.status, 0, r.stderr || r.stdout);
});

test('every test docs/security-model.md names exists, by file and exact name, for every invariant', () => {
  const doc = read('docs/security-model.md');
  const sections = doc.split(/^## /m).filter((s) => /^I\d+ /.test(s));
  assert.deepEqual(
    sections.map((s) => s.split(' ')[0]),
    Array.from({ length: 10 }, (_, i) => `I${i + 1}`),
    'one section per invariant, I1 to I10, in order',
  );
  const ref = /`((?:src|test)\/[^`\s]+\.ts)` — "([^"\n]+)"/g;
  const problems: string[] = [];
  let total = 0;
  for (const s of sections) {
    const refs = [...s.matchAll(ref)];
    if (refs.length === 0) problems.push(`${s.split(' ')[0]} names no test`);
    for (const [, file, name] of refs) {
      total++;
      if (!existsSync(new URL(`../../${file}`, import.meta.url))) problems.push(`${file}: no such file`);
      else if (!read(file).includes(name)) problems.push(`${file}: no test named "${name}"`);
    }
  }
  assert.deepEqual(problems, []);
  assert.ok(total >= 30, `only ${total} tests named`);
});

test('every file and folder docs/security-model.md names exists (code moves, the doc follows)', () => {
  const named = read('docs/security-model.md').matchAll(/`((?:src|test|bench|scripts)\/[^`\s*]+)`/g);
  const missing = [...new Set([...named].map((m) => m[1]))].filter(
    (p) => !existsSync(new URL(`../../${p}`, import.meta.url)),
  );
  assert.deepEqual(missing, []);
});

test('links between the docs point at files that exist', () => {
  const missing: string[] = [];
  for (const f of readdirSync(new URL('../../docs/', import.meta.url)).filter((n) => n.endsWith('.md'))) {
    for (const [, target] of read(`docs/${f}`).matchAll(/\]\(([^)#\s]+\.md)(?:#[^)]*)?\)/g))
      if (!/^[a-z]+:/.test(target) && !existsSync(new URL(`../../docs/${target}`, import.meta.url)))
        missing.push(`docs/${f} → ${target}`);
  }
  assert.deepEqual(missing, []);
});
