#!/usr/bin/env node
// Runs the test groups with node's test runner (TAP summary at the end).
//   node scripts/test.mjs            every group
//   node scripts/test.mjs unit vnet  only those groups
// Groups: unit (src/**/*.test.ts), bench (the benchmark framework's own tests), and one per folder under test/ (vnet, interop, netlab, ...).
import { readdirSync, statSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;

function walk(dir, out = []) {
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.test.ts')) out.push(relative(root, p));
  }
  return out.sort();
}

const groups = { unit: () => walk(join(root, 'src')), bench: () => walk(join(root, 'bench')) };
for (const name of existsSync(join(root, 'test')) ? readdirSync(join(root, 'test')) : []) {
  if (statSync(join(root, 'test', name)).isDirectory()) groups[name] = () => walk(join(root, 'test', name));
}

const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  console.log(`usage: npm test [-- GROUP...]\ngroups: ${Object.keys(groups).join(', ')}`);
  process.exit(0);
}
const unknown = args.filter((g) => !groups[g]);
if (unknown.length) {
  console.error(`unknown test group(s): ${unknown.join(', ')}; known: ${Object.keys(groups).join(', ')}`);
  process.exit(2);
}
const chosen = args.length ? args : Object.keys(groups);
const files = chosen.flatMap((g) => groups[g]());
if (files.length === 0) {
  console.error(`no test files in group(s) ${chosen.join(', ')}`);
  process.exit(1);
}
// Human-readable spec output on stdout; TAP to a file, whose totals close the run as one plain line.
mkdirSync(join(root, '.tmp'), { recursive: true });
const tapFile = join(root, '.tmp', `test-${process.pid}.tap`);
const r = spawnSync(
  process.execPath,
  [
    '--import',
    'tsx',
    '--test',
    '--test-concurrency=2',
    '--test-reporter=spec',
    '--test-reporter-destination=stdout',
    '--test-reporter=tap',
    `--test-reporter-destination=${tapFile}`,
    ...files,
  ],
  { cwd: root, stdio: 'inherit', env: process.env },
);
const tap = existsSync(tapFile) ? readFileSync(tapFile, 'utf8') : '';
const total = (k) =>
  [...tap.matchAll(new RegExp(`^# ${k} (\\d+)$`, 'gm'))].reduce((a, m) => a + Number(m[1]), 0);
rmSync(tapFile, { force: true });
// A cancelled test (a timeout, a hung hook) is a failure, not a pass.
const failed = total('fail') + total('cancelled');
console.log(`\ntests: ${total('pass')} passed, ${failed} failed, ${total('skipped')} skipped`);
if (failed > 0 && r.status === 0) process.exit(1);
process.exit(r.status ?? 1);
