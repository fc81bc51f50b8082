import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigFileError } from './config-file.ts';
import { UsageError } from './errors.ts';
import type { FlagTable } from './flags.ts';
import { HELP, parse, type CommandSpec } from './parse.ts';

const FLAGS = {
  state: { type: 'string', value: 'DIR', env: 'SALLYPORT_STATE' },
  count: { type: 'number', value: 'N', default: 5, min: 1, max: 1000 },
  every: { type: 'duration', value: 'D', units: ['ms', 's', 'm'], default: '10s' },
  json: { type: 'boolean' },
  relay: { type: 'repeatable', value: 'URL', env: 'SALLYPORT_RELAYS', envSplit: /\s+/ },
  mode: { type: 'string', value: 'MODE', choices: ['a', 'b'] },
  suffix: { type: 'string', value: 'DOMAIN', required: '--suffix DOMAIN is required' },
  config: { type: 'string', value: 'FILE', notInFile: true },
} as const satisfies FlagTable;

const SPEC: CommandSpec<typeof FLAGS> = {
  name: 'demo',
  flags: FLAGS,
  positionals: { max: 1, usage: 'give at most one NAME' },
  config: { flag: 'config' },
};

const ok = (argv: string[], env: Record<string, string> = {}) => {
  const p = parse(SPEC, ['--suffix', 'x', ...argv], env);
  assert.notEqual(p, HELP);
  return p as Exclude<typeof p, typeof HELP>;
};

test('values: typed, defaults filled, absent flags undefined, --name=value and repeats', () => {
  const p = ok(['--count=7', 'thing', '--relay', 'r1', '--relay', 'r2', '--json', '--every', '500ms']);
  assert.deepEqual(p.positionals, ['thing']);
  assert.equal(p.values.count, 7);
  assert.equal(p.values.every, 500);
  assert.equal(p.values.json, true);
  assert.deepEqual(p.values.relay, ['r1', 'r2']);
  assert.equal(p.values.state, undefined);
  assert.equal(p.values.mode, undefined);
  assert.deepEqual(ok([]).values.count, 5);
  assert.equal(ok([]).values.every, 10_000);
  assert.equal(ok(['--state', '-']).values.state, '-', "'-' is a value");
});

test('flags win over the environment, which wins over defaults; repeatable variables split', () => {
  const env = { SALLYPORT_STATE: '/from/env', SALLYPORT_RELAYS: ' a  b ' };
  assert.equal(ok([], env).values.state, '/from/env');
  assert.equal(ok(['--state', '/flag'], env).values.state, '/flag');
  assert.deepEqual(ok([], env).values.relay, ['a', 'b']);
});

test('--help and -h win over everything but a malformed line', () => {
  assert.equal(parse(SPEC, ['--help', 'a', 'b', 'c'], {}), HELP);
  assert.equal(parse(SPEC, ['-h'], {}), HELP);
  assert.throws(() => parse(SPEC, ['--help', '--nope'], {}), /Unknown option '--nope'/);
});

test('every mistake is a UsageError with its code and a message naming the fix', () => {
  const cases: [string[], string, RegExp][] = [
    [['--stat', 'x'], 'UNKNOWN_OPTION', /^Unknown option '--stat': did you mean --state\?$/],
    [['-x'], 'UNKNOWN_OPTION', /^Unknown option '-x'$/],
    [['--state'], 'MISSING_VALUE', /^--state needs a value: --state DIR$/],
    [
      ['--state', '--json'],
      'MISSING_VALUE',
      /--state needs a value: --state DIR \(a value starting with '-': --state=--json\)/,
    ],
    [['--json=yes'], 'UNEXPECTED_VALUE', /--json takes no value/],
    [['--count', '0'], 'BAD_VALUE', /^--count takes 1\.\.1000, got '0'$/],
    [['--count', '1e3'], 'BAD_VALUE', /--count takes 1\.\.1000, got '1e3'/],
    [['--every', '10h'], 'BAD_VALUE', /--every wants a duration such as 10ms, 10s, 10m; got '10h'/],
    [['--mode', 'c'], 'BAD_VALUE', /--mode takes a, b; got 'c'/],
    [['one', 'two'], 'BAD_ARGUMENTS', /^give at most one NAME$/],
  ];
  for (const [argv, code, re] of cases)
    assert.throws(
      () => parse(SPEC, ['--suffix', 'x', ...argv], {}),
      (e: unknown) => e instanceof UsageError && e.code === code && e.exit === 2 && re.test(e.message),
      `${argv.join(' ')}: ${code} ${re}`,
    );
  assert.throws(
    () => parse(SPEC, [], {}),
    (e: unknown) =>
      e instanceof UsageError && e.code === 'MISSING_FLAG' && e.message === '--suffix DOMAIN is required',
  );
  const none = { name: 'none', flags: {} };
  assert.throws(() => parse(none, ['x'], {}), /unexpected argument 'x': sallyport none takes none/);
});

test('--config fills what flags and the environment left, converted like flags; unknown keys refused', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sallyport-kit-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'c.json');
  writeFileSync(file, '{ "count": 9, "state": "/file", "suffix": "f", // comment\n "relay": "one" }');
  const p = parse(SPEC, ['--config', file, '--count', '3'], { SALLYPORT_STATE: '/env' });
  assert.notEqual(p, HELP);
  const { values } = p as Exclude<typeof p, typeof HELP>;
  assert.deepEqual([values.count, values.state, values.suffix, values.relay], [3, '/env', 'f', ['one']]);
  writeFileSync(file, '{ "count": 5000 }');
  assert.throws(() => parse(SPEC, ['--config', file], {}), /--count takes 1\.\.1000, got '5000'/);
  writeFileSync(file, '{ "config": "again" }');
  assert.throws(
    () => parse(SPEC, ['--config', file], {}),
    (e: unknown) => e instanceof ConfigFileError && e.code === 'CONFIG_KEY' && e.exit === 2,
  );
});

test('pass-through: the words after -- are kept as typed, flags and all', () => {
  const spec = { name: 'pt', flags: FLAGS, positionals: { max: 1 }, passThrough: true };
  const p = parse(spec, ['--suffix', 'x', 'dep', '--', 'get', '--json', '-n', 'x'], {});
  assert.notEqual(p, HELP);
  const { positionals, rest, values } = p as Exclude<typeof p, typeof HELP>;
  assert.deepEqual([positionals, rest, values.json], [['dep'], ['get', '--json', '-n', 'x'], undefined]);
});
