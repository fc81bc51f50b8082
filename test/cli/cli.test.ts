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

test('lab runs a real session and stream transfer and reports it as JSON', () => {
  const r = run('lab', '--mib', '4', '--json');
  assert.equal(r.status, 0, r.stderr);
  const result = JSON.parse(r.stdout.trim().split('\n').pop()!);
  assert.equal(result.sha256Match, true);
  assert.equal(result.mib, 4);
  assert.ok(result.handshakes >= 1);
  assert.equal(run('lab', '--mib', 'lots').status, 2);
});
