// Every command explains itself: --help with an example and its exit codes; `sallyport --help`
// documents the exit codes every command uses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { commandHelp, commandNames, mainHelp } from '../../src/cli/main.ts';
import { EXIT } from '../../src/cli/exit.ts';

const bin = fileURLToPath(new URL('../../bin/sallyport.js', import.meta.url));
const run = (...args: string[]) =>
  spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 120_000 });

test('every command has --help with a usage line, an example and its exit codes', async () => {
  const names = commandNames();
  assert.ok(names.length >= 17, `only ${names.length} commands`);
  const missing: string[] = [];
  for (const n of names) {
    const h = await commandHelp(n);
    if (!/usage: sallyport/.test(h)) missing.push(`${n}: no usage line`);
    if (!/^examples?:/im.test(h)) missing.push(`${n}: no example`);
    if (!/exit codes?:/i.test(h)) missing.push(`${n}: no exit codes`);
  }
  assert.deepEqual(missing, []);
});

test('sallyport --help documents every exit code the commands use', () => {
  const h = mainHelp();
  for (const [name, code] of Object.entries(EXIT))
    assert.match(h, new RegExp(`^  ${code}  \\S`, 'm'), `exit code ${code} (${name}) not documented`);
  assert.match(h, /--json/);
});

test('`help CMD` is `CMD --help`; version --json; a near miss suggests the command', () => {
  const a = run('help', 'grants');
  const b = run('grants', '--help');
  assert.equal(a.status, 0);
  assert.equal(a.stdout, b.stdout);
  assert.match(a.stdout, /usage: sallyport grants/);
  const v = run('version', '--json');
  assert.equal(v.status, 0);
  assert.match((JSON.parse(v.stdout) as { version: string }).version, /^\d+\.\d+\.\d+$/);
  const near = run('aprove');
  assert.equal(near.status, EXIT.USAGE);
  assert.match(near.stderr, /Did you mean approve\?/);
});
