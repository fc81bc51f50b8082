import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeClock } from '../clock/index.ts';
import { LocalAudit } from './local-audit.ts';

test('a restarted connector continues its local audit chain from the file’s tail, past a torn line', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sp-local-audit-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const clock = new FakeClock({ wallMs: 1_800_000_000_000 });
  const a = new LocalAudit(dir, clock, 'node:test');
  for (let i = 0; i < 3; i++) a.append('stream.served', `grant:g${i}`, { i, pad: 'x'.repeat(200) });
  await a.flushed();
  appendFileSync(a.file, '{"type":"record","seq":4,"torn'); // a crash mid-write
  const b = new LocalAudit(dir, clock, 'node:test');
  assert.equal(LocalAudit.lastRecord(b.file)?.seq, 3);
  b.append('stream.served', 'grant:g3', { i: 3 });
  await b.flushed();
  const recs = LocalAudit.read(b.file);
  assert.deepEqual(
    recs.map((r) => r.seq),
    [1, 2, 3, 4],
  );
  assert.equal(recs[3].prevHash, recs[2].hash);
  assert.equal(LocalAudit.verify(b.file).ok, true);
});

test('a record whose details are not well-formed Unicode still lands, repaired and marked', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sp-local-audit-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const a = new LocalAudit(dir, new FakeClock({ wallMs: 1_800_000_000_000 }), 'node:test');
  a.append('stream.served', 'grant:g1', { peerName: 'bob\uD83D', nested: { q: ['\uDE00x'] }, bytes: 5 });
  a.append('stream.served', 'grant:g2', { ok: true });
  await a.flushed();
  assert.equal(a.failures, 0);
  const recs = LocalAudit.read(a.file);
  assert.equal(recs.length, 2);
  assert.deepEqual(recs[0].details, {
    peerName: 'bob\uFFFD',
    nested: { q: ['\uFFFDx'] },
    bytes: 5,
    repaired: 'lone surrogates replaced by U+FFFD',
  });
  assert.equal(LocalAudit.verify(a.file).ok, true);
});
