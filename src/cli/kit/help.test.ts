import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FlagTable } from './flags.ts';
import { optionLines } from './help.ts';

const FLAGS = {
  state: { type: 'string', value: 'DIR', help: 'state directory\n(env SALLYPORT_STATE)' },
  'direct-datagram-max': { type: 'number', value: 'BYTES', help: 'largest datagram\nof a direct path' },
  json: { type: 'boolean', help: 'print JSON' },
  secret: { type: 'string', value: 'X', hidden: true },
  server: { type: 'string', value: 'URL' },
  token: { type: 'string', value: 'TOKEN' },
} as const satisfies FlagTable;

test('a listing: labels, descriptions from the column, long labels wrapped, hidden flags left out', () => {
  assert.equal(
    optionLines(
      {
        state: FLAGS.state,
        'direct-datagram-max': FLAGS['direct-datagram-max'],
        json: FLAGS.json,
        secret: FLAGS.secret,
      },
      16,
    ),
    [
      '  --state DIR   state directory',
      '                (env SALLYPORT_STATE)',
      '  --direct-datagram-max BYTES',
      '                largest datagram',
      '                of a direct path',
      '  --json        print JSON',
      '',
    ].join('\n'),
  );
});

test('entries: an own description, and a group of flags inline or wrapped', () => {
  const text = optionLines(FLAGS, 12, [
    { flag: 'json', help: 'records as JSON' },
    { group: ['server', 'token'], help: 'the coordinator', gap: 3 },
    { group: ['server', 'token'], help: 'as for admin' },
  ]);
  assert.equal(
    text,
    [
      '  --json    records as JSON',
      '  --server URL, --token TOKEN   the coordinator',
      '  --server URL, --token TOKEN',
      '            as for admin',
      '',
    ].join('\n'),
  );
  assert.throws(() => optionLines(FLAGS, 12, ['nope']), /--nope, which is not declared/);
});
