// The egress commands refuse what they cannot do before starting, with a message naming the fix.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { billingConfig } from '../../src/cli/billing-scraper.ts';
import { UsageError } from '../../src/cli/io.ts';
import { stateConfig } from '../../src/cli/state-exporter.ts';
import { bin } from './helpers.ts';

const B = ['--deployment', 'd', '--bucket', 'b', '--region', 'r', '--spool-dir', 's', '--pid', '1'];
const S = [
  '--deployment',
  'd',
  '--queue-url',
  'https://q/1/x',
  '--region',
  'r',
  '--spool-dir',
  's',
  '--disk-path',
  '.',
];
const without = (a: string[], flag: string) => a.filter((_, i) => a[i] !== flag && a[i - 1] !== flag);

test('billing-scraper and state-exporter refuse bad usage with the fix named', () => {
  const cases: [() => unknown, RegExp][] = [
    [() => billingConfig(without(B, '--bucket'), {}), /--bucket BUCKET is required/],
    [() => billingConfig([...B, '--cgroup', '/x'], {}), /one of --cgroup DIR or --pid N/],
    [() => billingConfig(without(B, '--region'), {}), /--region NAME is required/],
    [() => billingConfig([...B, '--interval', '10'], {}), /--interval wants a duration/],
    [() => billingConfig([...B, '--interval', '50ms'], {}), /at least 100ms/],
    [() => billingConfig([...B, '--spool-policy', 'drop-newest'], {}), /drop-oldest or refuse-new/],
    [() => billingConfig([...B, '--spool-max-bytes', '1T'], {}), /--spool-max-bytes wants a size/],
    [() => billingConfig([...B, '--deployment', 'a/b'], {}), /--deployment 'a\/b' must be/],
    [() => billingConfig([...B, '--endpoint', 'vpce.example'], {}), /--endpoint wants http/],
    [() => stateConfig(without(S, '--disk-path'), {}), /give at least one source/],
    [
      () => stateConfig([...S, '--interval', '10s', '--heartbeat', '5s'], {}),
      /--heartbeat must not be shorter/,
    ],
    [() => stateConfig([...S, '--nope'], {}), /Unknown option '--nope'/],
  ];
  for (const [f, re] of cases)
    assert.throws(f, (e: unknown) => e instanceof UsageError && re.test(e.message), String(re));
  assert.equal(billingConfig(without(B, '--region'), { AWS_REGION: 'eu-west-1' })?.region, 'eu-west-1');
});

test('bad usage exits 2 and an unreadable cgroup exits 1, before anything is sent', () => {
  const r2 = spawnSync(process.execPath, [bin, 'billing-scraper', '--bucket', 'b'], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(r2.status, 2);
  assert.match(r2.stderr, /see sallyport billing-scraper --help/);
  const r1 = spawnSync(
    process.execPath,
    [bin, 'billing-scraper', ...without(B, '--pid'), '--cgroup', '/nonexistent-cgroup'],
    {
      encoding: 'utf8',
      timeout: 60_000,
    },
  );
  assert.equal(r1.status, 1);
  assert.match(r1.stderr, /cpu\.stat: is it a cgroup v2 directory\?/);
});
