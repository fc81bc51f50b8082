import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeClock } from '../clock/index.ts';
import { Drainer, type Sink } from './drain.ts';
import { EgressError } from './errors.ts';
import { egressRegistry } from './metrics.ts';
import { Spool } from './spool.ts';

/** Lets the drain loop's file I/O finish (real time; the loop's own timers are on the fake clock). */
const settle = () => new Promise((r) => setTimeout(r, 30));

test('drain: oldest first, retried with doubling backoff while the sink is down, nothing skipped', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'drain-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const spool = await Spool.open({ dir });
  t.after(() => spool.close());
  for (const x of ['a', 'b', 'c']) await spool.put(await spool.reserveSeq(), Buffer.from(x));
  const clock = new FakeClock();
  const sent: string[] = [];
  const attempts: number[] = [];
  let down = true;
  const sink: Sink = {
    send: async (_seq, body) => {
      attempts.push(clock.now());
      if (down) throw new EgressError('EGRESS_UPLOAD', 'down', { retryable: true });
      sent.push(body.toString());
    },
  };
  const d = new Drainer({ clock, spool, sink, minBackoffMs: 100, maxBackoffMs: 400 });
  d.start();
  for (let i = 0; i < 8; i++) {
    await settle();
    clock.advance(100);
  }
  await settle();
  assert.deepEqual(attempts.slice(0, 4), [0, 100, 300, 700], 'backoff 100, 200, 400, then capped');
  assert.equal(sent.length, 0);
  assert.equal(spool.records, 3);
  down = false;
  clock.advance(400);
  await settle();
  await settle();
  assert.deepEqual(sent, ['a', 'b', 'c']);
  assert.equal(spool.records, 0);
  assert.equal(d.stats.uploaded, 3);
  assert.ok(d.stats.failures >= 3);
  await d.stop();
});

test('drain: a record the sink calls malformed is removed and counted, not retried forever', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'drain-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const spool = await Spool.open({ dir, maxRecords: 2 });
  t.after(() => spool.close());
  const clock = new FakeClock();
  const sink: Sink = {
    send: async (_seq, body) => {
      if (body.toString() === 'bad') throw new EgressError('EGRESS_BAD_RECORD', 'not a record');
      throw new EgressError('EGRESS_UPLOAD', 'down', { retryable: true });
    },
  };
  const d = new Drainer({ clock, spool, sink });
  await spool.put(1, Buffer.from('bad'));
  d.start();
  await settle();
  assert.equal(d.stats.rejected, 1);
  // the spool-full policy shows in the metrics
  for (let i = 2; i <= 5; i++) await spool.put(i, Buffer.from('ok'));
  const m = await egressRegistry({
    component: 'billing',
    spool,
    drain: d,
    samples: () => 4,
    sampleErrors: () => 0,
  }).metrics();
  assert.match(m, /sallyport_egress_dropped_total\{reason="drop_oldest",component="billing"\} 2/);
  assert.match(m, /sallyport_egress_dropped_total\{reason="rejected",component="billing"\} 1/);
  assert.match(m, /sallyport_egress_spool_records\{component="billing"\} 2/);
  assert.match(m, /sallyport_egress_samples_total\{component="billing"\} 4/);
  await d.stop();
});
