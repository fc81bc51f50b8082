import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LabUsageError, parseLabArgs } from './options.ts';

test('lab options: defaults', () => {
  assert.deepEqual(parseLabArgs([]), {
    dir: undefined,
    json: false,
    once: false,
    netns: false,
    port: 0,
    demo: false,
  });
});

test('lab options: every flag', () => {
  const o = parseLabArgs(['--dir', 'x', '--json', '--once', '--netns', '--port', '8443', '--demo']);
  assert.deepEqual(o, { dir: 'x', json: true, once: true, netns: true, port: 8443, demo: true });
});

test('lab options: bad values are usage errors', () => {
  for (const argv of [
    ['--port', '65536'],
    ['--port', '-1'],
    ['--port', '80a'],
    ['--port', ''],
    ['--dir', ''],
    ['--mib', '3'],
    ['positional'],
  ])
    assert.throws(() => parseLabArgs(argv), LabUsageError, argv.join(' '));
});
