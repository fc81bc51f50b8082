// Logs for people on a terminal, JSON otherwise: the formatter, and the choice made on a real pty
// (python3's pty module) against a pipe.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { prettyLine } from './log-output.ts';

test('a pino line becomes time, level, component, message and the other fields', () => {
  const line = JSON.stringify({
    level: 40,
    time: Date.UTC(2026, 11, 7, 12, 4, 31, 207),
    name: 'coordinator',
    component: 'sso',
    msg: 'identity provider unreachable',
    err: 'connect ECONNREFUSED',
    attempt: 3,
  });
  assert.equal(
    prettyLine(line, false),
    '12:04:31.207 WARN  [coordinator/sso] identity provider unreachable err="connect ECONNREFUSED" attempt=3',
  );
  assert.ok(prettyLine(line, true).includes('\u001b[33mWARN \u001b[0m'));
  assert.equal(prettyLine('not json', false), 'not json');
  assert.equal(prettyLine('null', false), 'null');
});

const root = fileURLToPath(new URL('../../', import.meta.url));
const program = `import { pino } from 'pino'; import { logDestination } from './src/cli/log-output.ts'; pino({ base: undefined, name: 'agent' }, logDestination(1)).info({ peer: 'ab12cd34' }, 'path direct');`;

test('on a terminal the line is for people; through a pipe it is JSON', () => {
  const args = ['--import', 'tsx', '--input-type=module', '-e', program];
  const piped = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8' });
  assert.equal(piped.status, 0, piped.stderr);
  assert.equal(JSON.parse(piped.stdout.trim()).msg, 'path direct');
  const py = `import pty, sys, os\nos.environ['NO_COLOR'] = '1'\nsys.exit(pty.spawn(${JSON.stringify([process.execPath, ...args])}) >> 8)`;
  const tty = spawnSync('python3', ['-c', py], { cwd: root, encoding: 'utf8' });
  assert.equal(tty.status, 0, tty.stderr);
  assert.match(tty.stdout, /^\d\d:\d\d:\d\d\.\d{3} INFO {2}\[agent\] path direct peer=ab12cd34\r?$/m);
});
