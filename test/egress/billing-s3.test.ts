// The billing scraper against the S3 stand-in (s3rver), as a real process sampling a real busy
// process's cgroup: the bucket goes away for OUTAGE_MS (60 s with SALLYPORT_FULL=1), the scraper is
// killed with SIGKILL mid-batch during the outage and restarted, the bucket comes back on the same
// port with the same storage — and then every record is there once, no sample is missing or twice,
// and the CPU the records add up to is the cgroup's cpu.stat usage read directly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { needs } from '../../src/testing/require.ts';
import { buildUsageRecord, usageKeyOfBody, type UsageRecord } from '../../src/egress/usage.ts';
import { S3Sink } from '../../src/egress/s3-sink.ts';
import {
  busyIn,
  cli,
  exited,
  freePort,
  makeCgroup,
  OUTAGE_MS,
  sleep,
  startS3,
  until,
  usageUsec,
} from './helpers.ts';

const BUCKET = 'usage';
const INTERVAL_MS = 200;
const creds = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' };

async function listAll(s3: S3Client): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const r = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, ContinuationToken: token }));
    for (const o of r.Contents ?? []) keys.push(o.Key!);
    token = r.NextContinuationToken;
  } while (token);
  return keys;
}

test(
  'billing → S3: outage, kill -9 mid-batch, restart: nothing lost, nothing twice, CPU matches cpu.stat',
  { timeout: 180_000 },
  async (t) => {
    const cg = makeCgroup(`sallyport-egress-${process.pid}`);
    if (!needs(t, typeof cg === 'string' ? cg : undefined)) return;
    const { dir: cgDir, remove } = cg as Exclude<typeof cg, string>;
    const work = mkdtempSync(join(tmpdir(), 'egress-s3-'));
    const procs: { kill: (s: NodeJS.Signals) => void }[] = [];
    t.after(async () => {
      for (const p of procs) p.kill('SIGKILL');
      await sleep(200);
      remove();
      rmSync(work, { recursive: true, force: true });
    });
    const port = await freePort();
    const store = join(work, 's3');
    let s3d = await startS3(store, port, BUCKET);
    const spoolDir = join(work, 'spool');
    const endpoint = `http://127.0.0.1:${port}`;
    const s3 = new S3Client({
      region: 'us-east-1',
      endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    });
    t.after(() => s3.destroy());
    const args = [
      'billing-scraper',
      '--deployment',
      'acme-prod',
      '--host',
      'db-0',
      '--cgroup',
      cgDir,
      '--bucket',
      BUCKET,
      '--endpoint',
      endpoint,
      '--path-style',
      '--region',
      'us-east-1',
      '--spool-dir',
      spoolDir,
      '--interval',
      `${INTERVAL_MS}ms`,
      '--batch',
      '3',
      '--metrics-listen',
      '127.0.0.1:0',
    ];
    const baseline = usageUsec(cgDir); // 0: nothing ran in the new cgroup yet
    let scraper = cli(args, creds);
    procs.push(scraper.p);
    await until('the scraper to start', () => /spool .* holds/.test(scraper.out()));
    const busy = busyIn(cgDir);
    procs.push(busy);
    await until('two records in the bucket', async () => (await listAll(s3)).length >= 2);

    // the bucket goes away; records pile up in the spool
    await s3d.close();
    const spooled = () => readdirSync(join(spoolDir, 'q')).filter((f) => f.endsWith('.rec')).length;
    await until('records to wait in the spool', () => spooled() >= 2, OUTAGE_MS + 10_000);
    const metricsPort = Number(/metrics on 127\.0\.0\.1:(\d+)/.exec(scraper.out())![1]);
    const m = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    assert.match(m, /sallyport_egress_upload_failures_total\{component="billing"\} [1-9]/);
    assert.match(m, /sallyport_egress_spool_records\{component="billing"\} [1-9]/);

    // kill -9 mid-batch (samples in the journal, not yet sealed), then start again, still in the outage
    await until('a batch half full', () => /\n.*\n/.test(readJournal(spoolDir)));
    scraper.p.kill('SIGKILL');
    await exited(scraper.p);
    scraper = cli(args, creds);
    procs.push(scraper.p);
    await until('the scraper to start again', () => /spool .* holds/.test(scraper.out()));
    await sleep(OUTAGE_MS / 2);

    // the bucket is back, same port, same storage
    s3d = await startS3(store, port, BUCKET);
    t.after(() => s3d.close());
    busy.kill('SIGKILL');
    await exited(busy);
    await sleep(4 * INTERVAL_MS); // a few samples of the now-quiet cgroup
    scraper.p.kill('SIGTERM');
    await exited(scraper.p);
    assert.equal(scraper.p.exitCode, 0, scraper.out());
    assert.equal(spooled(), 0, 'the spool drained');

    const direct = usageUsec(cgDir);
    const keys = await listAll(s3);
    const records: UsageRecord[] = [];
    for (const k of keys) {
      const r = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: k }));
      records.push(JSON.parse(await r.Body!.transformToString()) as UsageRecord);
    }
    assert.equal(new Set(keys).size, keys.length);
    assert.equal(new Set(records.map((r) => r.seq)).size, records.length, 'one object per record');
    for (const [i, r] of records.entries())
      assert.match(
        keys[i],
        new RegExp(`^acme-prod/\\d{4}/\\d{2}/\\d{2}/\\d{2}/db-0-${String(r.seq).padStart(10, '0')}$`),
      );
    const samples = records.flatMap((r) => r.samples).sort((a, b) => a.atMs - b.atMs);
    assert.equal(new Set(samples.map((s) => s.atMs)).size, samples.length, 'no sample in two objects');
    // the chain of counters has no hole: each delta is the step from the sample before
    let prev = baseline;
    for (const s of samples) {
      assert.equal(s.cpuDeltaUsec, s.cpuUsageUsec - prev, `delta at ${s.atMs}`);
      prev = s.cpuUsageUsec;
    }
    const billed = records.reduce((a, r) => a + r.cpuDeltaUsec, 0);
    assert.ok(direct - baseline > 500_000, `the busy process used ${direct - baseline} µs of CPU`);
    assert.ok(
      Math.abs(direct - baseline - billed) <= INTERVAL_MS * 1000,
      `billed ${billed} µs vs cpu.stat ${direct - baseline} µs: within one interval`,
    );
  },
);

function readJournal(spoolDir: string): string {
  try {
    return readFileSync(join(spoolDir, 'batch.jsonl'), 'utf8');
  } catch {
    return '';
  }
}

test('billing → S3: a record uploaded twice is one object with the same bytes', async (t) => {
  const work = mkdtempSync(join(tmpdir(), 'egress-s3-twice-'));
  const port = await freePort();
  const s3d = await startS3(join(work, 's3'), port, BUCKET);
  const endpoint = `http://127.0.0.1:${port}`;
  const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
  const client = new S3Client({
    region: 'us-east-1',
    endpoint,
    forcePathStyle: true,
    credentials,
    requestChecksumCalculation: 'WHEN_REQUIRED',
  });
  const sink = new S3Sink({ bucket: BUCKET, region: 'us-east-1', keyOf: usageKeyOfBody, client });
  t.after(async () => {
    sink.close();
    await s3d.close();
    rmSync(work, { recursive: true, force: true });
  });
  const record = buildUsageRecord({
    deployment: 'acme-prod',
    host: 'db-0',
    seq: 3,
    intervalMs: 1000,
    samples: [
      {
        atMs: Date.UTC(2026, 11, 6, 4),
        cpuUsageUsec: 10,
        cpuUserUsec: 10,
        cpuSystemUsec: 0,
        cpuDeltaUsec: 10,
        memoryBytes: null,
        memory: null,
      },
    ],
  });
  const body = Buffer.from(JSON.stringify(record));
  const signal = new AbortController().signal;
  await sink.send(3, body, { signal });
  await sink.send(3, body, { signal }); // the retry after a lost answer or a kill -9 before the ack
  assert.deepEqual(await listAll(client), ['acme-prod/2026/12/06/04/db-0-0000000003']);
  const got = await client.send(
    new GetObjectCommand({ Bucket: BUCKET, Key: 'acme-prod/2026/12/06/04/db-0-0000000003' }),
  );
  assert.equal(
    await got.Body!.transformToString(),
    body.toString(),
    'stored as sent: no aws-chunked framing',
  );
});
