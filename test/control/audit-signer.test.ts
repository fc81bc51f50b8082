// The anchored audit signer (src/control/audit-signer.ts) over a real store: its anchor file (0600,
// only a committed checkpoint advances it), an anchor file it cannot trust refuses the start, and
// a second coordinator appending to the same database is not mistaken for a rewrite.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeClock } from '../../src/clock/index.ts';
import { SigningKey } from '../../src/crypto/index.ts';
import { createAuditSigner, createMetrics } from '../../src/control/index.ts';
import { Store, parseDatabaseConfig } from '../../src/store/index.ts';

const clock = new FakeClock({ wallMs: Date.UTC(2026, 11, 6) });

function tmp(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'sallyport-signer-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const tick = (s: Store, i: number) =>
  s.recordAudit('admin', { action: 'test.tick', subject: `t:${i}`, details: { i } });

test('the anchor file: 0600, the last committed checkpoint; a rolled-back one never advances it', async (t) => {
  const dir = tmp(t);
  const key = SigningKey.generate();
  const metrics = createMetrics();
  const signer = createAuditSigner(key, clock, 3, { dataDir: dir, metrics });
  let failAt = 0;
  const store = await Store.open(parseDatabaseConfig(join(dir, 'db.sqlite')), {
    clock,
    auditSigner: signer,
    afterAudit: (r) => {
      if (r.seq === failAt) throw new Error('the change fails after its record');
    },
  });
  t.after(() => store.close());
  for (let i = 0; i < 3; i++) await tick(store, i);
  const file = join(dir, 'audit-anchor.json');
  assert.equal(statSync(file).mode & 0o777, 0o600);
  const onDisk = () =>
    (JSON.parse(readFileSync(file, 'utf8')) as { checkpoint: { seq: number } }).checkpoint.seq;
  assert.equal(onDisk(), 3);
  // seq 6 is signed inside a transaction that then rolls back: the anchor stays at 3, and the
  // seq 6 that is finally written (another record) is signed without a false alarm.
  await tick(store, 3);
  await tick(store, 4);
  failAt = 6;
  await assert.rejects(tick(store, 5), /fails after its record/);
  assert.equal(onDisk(), 3);
  failAt = 0;
  await tick(store, 6);
  assert.equal(onDisk(), 6);
  assert.deepEqual(signer.state(), { signer: 'ok', anchorSeq: 6 });
  assert.deepEqual(
    (await store.listAuditCheckpoints()).map((c) => c.seq),
    [3, 6],
  );
  assert.match(await metrics.registry.metrics(), /sallyport_coordinator_audit_signer_halted 0/);
  // a restarted signer reads its anchor back
  assert.equal(createAuditSigner(key, clock, 3, { dataDir: dir }).latest()?.seq, 6);
});

test('an anchor file that is unreadable or signed by another key refuses the start (CONFIG)', (t) => {
  const dir = tmp(t);
  const key = SigningKey.generate();
  const file = join(dir, 'audit-anchor.json');
  writeFileSync(file, 'not json');
  assert.throws(() => createAuditSigner(key, clock, 3, { dataDir: dir }), {
    code: 'CONFIG',
    message: /cannot read the audit anchor .*move it away only if/,
  });
  const other = SigningKey.generate();
  const forged = createAuditSigner(other, clock, 1).sign({ seq: 4, hash: 'a'.repeat(64) })!;
  writeFileSync(file, JSON.stringify({ version: 1, checkpoint: forged }));
  assert.throws(() => createAuditSigner(key, clock, 3, { dataDir: dir }), {
    code: 'CONFIG',
    message: /not signed by this coordinator's audit key/,
  });
});

test('a second coordinator appending to the same database is an extension, not a rewrite', async (t) => {
  const dir = tmp(t);
  mkdirSync(join(dir, 'a'));
  mkdirSync(join(dir, 'b'));
  const db = parseDatabaseConfig(join(dir, 'shared.sqlite'));
  const a = createAuditSigner(SigningKey.generate(), clock, 4, { dataDir: join(dir, 'a') });
  const b = createAuditSigner(SigningKey.generate(), clock, 3, { dataDir: join(dir, 'b') });
  const sa = await Store.open(db, { clock, auditSigner: a });
  t.after(() => sa.close());
  const sb = await Store.open(db, { clock, auditSigner: b });
  t.after(() => sb.close());
  for (let i = 0; i < 30; i++) await tick(i % 3 === 0 ? sb : sa, i);
  await sa.signAuditHead();
  await sb.signAuditHead();
  assert.deepEqual([a.state().signer, b.state().signer], ['ok', 'ok']);
  assert.deepEqual([a.state().anchorSeq, b.state().anchorSeq], [30, 30]);
  const bySigner = (await sa.listAuditCheckpoints()).map((c) => [
    c.seq,
    c.publicKey === a.publicKey ? 'a' : 'b',
  ]);
  assert.ok(bySigner.some(([, s]) => s === 'a') && bySigner.some(([, s]) => s === 'b'));
  assert.ok(bySigner.some(([seq, s]) => seq === (30 as number) && s === 'a'));
});
