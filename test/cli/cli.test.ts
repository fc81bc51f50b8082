// The `sallyport` command as a user runs it: a child process through bin/sallyport.js.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../../bin/sallyport.js', import.meta.url));
const run = (...args: string[]) =>
  spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 120_000 });

test('--help lists the commands with an example; no command is a usage error', () => {
  const r = run('--help');
  assert.equal(r.status, 0);
  assert.match(r.stdout, /usage: sallyport <command>/);
  assert.match(r.stdout, /Examples:/);
  assert.equal(run().status, 2);
});

test('version prints the package version', () => {
  const r = run('version');
  assert.equal(r.status, 0);
  assert.match(r.stdout, /^sallyport \d+\.\d+\.\d+\n$/);
});

test('an unknown command exits 2 and says what to do next', () => {
  const r = run('frobnicate');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /unknown command 'frobnicate'.*--help/);
});

// The lab's story itself runs in test/lab (sallyport lab --once --json); here only its command line.
test('lab: an unknown option exits 2 and names it; --help tells the story and how to run it', () => {
  const bad = run('lab', '--mib', '4');
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--mib/);
  const h = run('lab', '--help');
  assert.equal(h.status, 0);
  assert.match(h.stdout, /usage: sallyport lab/);
  assert.match(h.stdout, /--once/);
  assert.match(h.stdout, /--json/);
});
