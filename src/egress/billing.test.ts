import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeClock } from '../clock/index.ts';
import { BillingScraper } from './billing.ts';
import { Spool } from './spool.ts';
import { usageKey, usageKeyOfBody, type UsageRecord } from './usage.ts';
import type { CgroupReading } from './sample.ts';
import { EgressError } from './errors.ts';

/** A fake cgroup whose counter the test moves by hand. */
function fakeCgroup() {
  const c = { usage: 1000, fail: false };
  const read = async (): Promise<CgroupReading> => {
    if (c.fail) throw new EgressError('EGRESS_CGROUP_UNAVAILABLE', 'gone');
    return {
      cpu: { usageUsec: c.usage, userUsec: c.usage, systemUsec: 0 },
      memoryBytes: 4096,
      memory: { anon: 1, file: 2, kernel: 3, shmem: 0, sock: 0 },
    };
  };
  return { c, read };
}

async function records(spool: Spool): Promise<UsageRecord[]> {
  const out: UsageRecord[] = [];
  for (const seq of spool.oldest(1e6)) out.push(JSON.parse((await spool.read(seq))!.toString()));
  return out;
}

test('billing: batches samples into records whose CPU deltas sum to the counter, across a restart', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'billing-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const clock = new FakeClock({ now: 0, wallMs: Date.UTC(2026, 11, 6, 3, 59, 58) });
  const { c, read } = fakeCgroup();
  let spool = await Spool.open({ dir });
  const opts = { clock, read, deployment: 'acme-prod', host: 'db-0', intervalMs: 1000, batchSamples: 3 };
  let s = new BillingScraper({ ...opts, spool, sealOnStop: false });
  await s.start();
  for (let i = 0; i < 4; i++) {
    c.usage += 500;
    clock.advance(900);
    await s.settled();
    clock.advance(100); // the tick (at 1000 ms of each second)
    await s.settled();
    assert.equal(s.stats.samples, 2 * i + 1);
    c.usage += 3;
    clock.advance(50);
    await s.sampleNow(); // and an extra sample, off the beat
  }
  await s.stop(); // "crash": the partial batch stays in the journal
  await spool.close();
  c.usage += 7000; // used while the scraper was down
  clock.advance(20_000);
  spool = await Spool.open({ dir });
  s = new BillingScraper({ ...opts, spool });
  await s.start();
  clock.advance(5000);
  await s.settled();
  await s.stop(); // seals the rest
  const recs = await records(spool);
  await spool.close();
  const total = recs.reduce((a, r) => a + r.cpuDeltaUsec, 0);
  assert.equal(total, c.usage - 1000, 'every µs since the baseline is in exactly one record');
  assert.deepEqual(
    recs.map((r) => r.seq),
    recs.map((_, i) => i + 1),
  );
  assert.ok(recs.slice(0, -1).every((r) => r.samples.length === 3));
  const times = recs.flatMap((r) => r.samples.map((x) => x.atMs));
  assert.equal(new Set(times).size, times.length, 'no sample twice');
  assert.equal(usageKey(recs[0]), 'acme-prod/2026/12/06/03/db-0-0000000001');
  assert.equal(usageKeyOfBody(Buffer.from(JSON.stringify(recs[0]))), usageKey(recs[0]));
});

test('billing: a full batch left by a crash is sealed at start under its own seq, same bytes', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'billing-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const clock = new FakeClock({ now: 0, wallMs: 1_800_000_000_000 });
  const { c, read } = fakeCgroup();
  const opts = { clock, read, deployment: 'd', host: 'h', intervalMs: 1000, batchSamples: 2 };
  let spool = await Spool.open({ dir });
  let s = new BillingScraper({ ...opts, spool });
  await s.start();
  c.usage += 10;
  await s.sampleNow();
  c.usage += 10;
  await s.sampleNow(); // sealed as seq 1
  const first = (await spool.read(1))!;
  // a crash right after the seal, before the journal was reset: put the old journal back
  await s.stop();
  const { writeFileSync } = await import('node:fs');
  writeFileSync(
    join(dir, 'batch.jsonl'),
    [JSON.parse(first.toString()).samples]
      .flatMap((ss: unknown[]) => [
        JSON.stringify({ seq: 1, baseline: null }),
        ...ss.map((x) => JSON.stringify(x)),
      ])
      .join('\n') + '\n',
  );
  appendFileSync(join(dir, 'batch.jsonl'), '{"atMs":1,"cpuUs'); // and a torn line
  await spool.ack(1); // as if it had been uploaded already
  await spool.close();
  spool = await Spool.open({ dir });
  s = new BillingScraper({ ...opts, spool, sealOnStop: false });
  await s.start();
  assert.equal(s.journal.torn, 1);
  const again = (await spool.read(1))!;
  assert.equal(usageKeyOfBody(again), usageKeyOfBody(first), 'same key');
  assert.deepEqual(
    JSON.parse(again.toString()).samples,
    JSON.parse(first.toString()).samples,
    'same samples',
  );
  await s.stop();
  await spool.close();
});

test('billing: unreadable cgroup is counted, not fatal; bad options are refused', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'billing-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const clock = new FakeClock();
  const { c, read } = fakeCgroup();
  const spool = await Spool.open({ dir });
  t.after(() => spool.close());
  const errors: unknown[] = [];
  const s = new BillingScraper({
    clock,
    read,
    spool,
    deployment: 'd',
    host: 'h',
    onError: (e) => errors.push(e),
  });
  await s.start();
  c.fail = true;
  await s.sampleNow();
  c.fail = false;
  await s.sampleNow();
  await s.stop();
  assert.equal(s.stats.sampleErrors, 1);
  assert.equal(s.stats.samples, 1);
  assert.equal((errors[0] as EgressError).code, 'EGRESS_CGROUP_UNAVAILABLE');
  for (const bad of [{ deployment: 'a/b' }, { host: '' }, { intervalMs: 5 }, { batchSamples: 0 }])
    assert.throws(
      () => new BillingScraper({ clock, read, spool, deployment: 'd', host: 'h', ...bad }),
      (e: unknown) => (e as EgressError).code === 'EGRESS_INVALID_OPTIONS',
    );
});
