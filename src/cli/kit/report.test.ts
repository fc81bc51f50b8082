import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SallyportError } from '../../util/index.ts';
import { ConfigFileError } from './config-file.ts';
import { CliError, Failed, UsageError } from './errors.ts';
import { EXIT } from './exit-codes.ts';
import { reportError } from './report.ts';
import { runCommand } from './run.ts';

const capture = () => {
  let err = '';
  return { write: (s: string) => void (err += s), text: () => err };
};

test('one printer: typed errors become a line and their exit code; bad usage says where the options are', () => {
  const cases: [unknown, number, string][] = [
    [new UsageError('missing --x'), EXIT.USAGE, 'sallyport cmd: missing --x\n(see sallyport cmd --help)\n'],
    [
      new ConfigFileError('CONFIG_KEY', "c.json: unknown key 'a'"),
      EXIT.USAGE,
      "sallyport cmd: c.json: unknown key 'a'\n(see sallyport cmd --help)\n",
    ],
    [new Failed('no grant'), EXIT.FAILED, 'sallyport cmd: no grant\n'],
    [
      new CliError('API', 'token rejected', EXIT.UNAUTHENTICATED),
      EXIT.UNAUTHENTICATED,
      'sallyport cmd: token rejected\n',
    ],
    [
      new SallyportError('INGRESS_CONFIG', 'no route'),
      EXIT.USAGE,
      'sallyport cmd: no route\n(see sallyport cmd --help)\n',
    ],
    [new SallyportError('AGENT_CONTROL', 'no agent'), EXIT.FAILED, 'sallyport cmd: no agent\n'],
  ];
  for (const [e, code, text] of cases) {
    const c = capture();
    assert.equal(
      reportError('cmd', e, c.write, { usageCodes: ['INGRESS_CONFIG'], failedCodes: ['AGENT_CONTROL'] }),
      code,
    );
    assert.equal(c.text(), text);
  }
  const c = capture();
  assert.equal(reportError('cmd', new Error('a bug'), c.write), undefined, 'not ours: the caller rethrows');
  assert.equal(c.text(), '');
  assert.equal(
    reportError('cmd', new Error('refused'), c.write, {
      classify: () => ({ code: EXIT.UNREACHABLE, message: 'x' }),
    }),
    EXIT.UNREACHABLE,
  );
});

test('runCommand: --help prints the help, a failure its message, a bug is rethrown', async () => {
  let out = '';
  let err = '';
  const io = { env: {}, stdout: (s: string) => void (out += s), stderr: (s: string) => void (err += s) };
  const def = { name: 'demo', flags: { n: { type: 'number', value: 'N' } } as const, help: 'usage: demo' };
  assert.equal(await runCommand(def, ['-h'], io, () => 9), 0);
  assert.equal(out, 'usage: demo\n');
  assert.equal(await runCommand(def, ['--n', 'x'], io, () => 9), 2);
  assert.match(err, /^sallyport demo: --n takes a number, got 'x'\n\(see sallyport demo --help\)\n$/);
  assert.equal(await runCommand(def, ['--n', '3'], io, ({ values }) => values.n ?? 0), 3);
  await assert.rejects(
    runCommand(def, [], io, () => {
      throw new TypeError('bug');
    }),
    TypeError,
  );
});
