// The spool's bound, end to end: the billing scraper (sampling this test's own process with --pid)
// cannot reach its bucket, its spool fills, and the policy applies and is counted in /metrics —
// refuse-new keeps the oldest records, drop-oldest keeps the newest.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCgroup2Mount } from '../../src/egress/cgroup.ts';
import { needs } from '../../src/testing/require.ts';
import { cli, exited, freePort, until } from './helpers.ts';

async function fill(t: TestContext, policy: string): Promise<{ seqs: number[]; metrics: string }> {
  const work = mkdtempSync(join(tmpdir(), 'egress-full-'));
  t.after(() => rmSync(work, { recursive: true, force: true }));
  const dead = await freePort(); // nothing listens here: the bucket is unreachable
  const spoolDir = join(work, 'spool');
  const s = cli(
    [
      'billing-scraper',
      '--deployment',
      'd',
      '--host',
      'h',
      '--pid',
      String(process.pid),
      '--bucket',
      'usage',
      '--endpoint',
      `http://127.0.0.1:${dead}`,
      '--path-style',
      '--region',
      'us-east-1',
      '--spool-dir',
      spoolDir,
      '--interval',
      '100ms',
      '--batch',
      '1',
      '--spool-max-records',
      '3',
      '--spool-policy',
      policy,
      '--metrics-listen',
      '127.0.0.1:0',
    ],
    { AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y' },
  );
  t.after(() => s.p.kill('SIGKILL'));
  await until('the scraper to start', () => /metrics on 127\.0\.0\.1:(\d+)/.test(s.out()));
  const port = Number(/metrics on 127\.0\.0\.1:(\d+)/.exec(s.out())![1]);
  const get = async () => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const reason = policy === 'refuse-new' ? 'refuse_new' : 'drop_oldest';
  const counted = new RegExp(
    `sallyport_egress_dropped_total\\{reason="${reason}",component="billing"\\} ([3-9]|\\d\\d)`,
  );
  await until(`${reason} counted`, async () => counted.test(await get()));
  const metrics = await get();
  s.p.kill('SIGTERM');
  await exited(s.p);
  const seqs = readdirSync(join(spoolDir, 'q'))
    .filter((f) => f.endsWith('.rec'))
    .map((f) => Number(f.slice(0, 16)))
    .sort((a, b) => a - b);
  return { seqs, metrics };
}

const cgroupV2 = () =>
  parseCgroup2Mount(readFileSync('/proc/self/mounts', 'utf8')) ? undefined : 'no cgroup v2 hierarchy mounted';

test('spool full, refuse-new: the oldest records stay, the new are refused and counted', async (t) => {
  if (!needs(t, cgroupV2())) return;
  const { seqs, metrics } = await fill(t, 'refuse-new');
  assert.deepEqual(seqs, [1, 2, 3]);
  assert.match(metrics, /sallyport_egress_spool_records\{component="billing"\} 3/);
  assert.match(metrics, /sallyport_egress_upload_failures_total\{component="billing"\} [1-9]/);
});

test('spool full, drop-oldest: the newest records stay, the oldest are dropped and counted', async (t) => {
  if (!needs(t, cgroupV2())) return;
  const { seqs, metrics } = await fill(t, 'drop-oldest');
  assert.ok(seqs.length <= 3 && !seqs.includes(1), `spool holds ${seqs}`);
  assert.match(metrics, /sallyport_egress_spool_records\{component="billing"\} 3/);
});
