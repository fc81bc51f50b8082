// Issue 13, part 3: the audit anchored outside the vendor's database. Someone with write access to
// the coordinator's database but not to its audit key edits a record, re-hashes the chain after it
// and deletes the later checkpoint rows. The coordinator must then refuse to sign (its anchor file
// says the chain it last signed is gone), count and log the alarm, and report unhealthy; the DB
// export alone still verifies (the control), but `audit verify --anchors` with the checkpoints the
// customer's connector was sent names the contradicted record. On SQLite and on PostgreSQL.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkpointLine, hashRecord, writeExport, type Checkpoint } from '../../src/audit/index.ts';
import { VerifyKey } from '../../src/crypto/index.ts';
import { run } from '../../src/cli/audit.ts';
import { EXIT } from '../../src/cli/exit.ts';
import { routes, type ControlClient } from '../../src/control/index.ts';
import type { ServerMessage } from '../../src/proto/control/index.ts';
import { needs } from '../../src/testing/require.ts';
import { postgresMissing, startPostgres } from '../../src/testing/postgres.ts';
import { newKey, sleep, startFixture, type Fixture } from './fixture.ts';

const EVERY = 5;

async function cli(...argv: string[]) {
  let out = '';
  let err = '';
  const code = await run(argv, { out: (s) => void (out += s), err: (s) => void (err += s) });
  return { code, out, err };
}

async function until(what: string, pred: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  for (let waited = 0; !(await pred()); waited += 20) {
    if (waited > ms) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** The checkpoints a connector is sent (what its local audit keeps as `audit.anchor` records). */
function anchorsOf(c: ControlClient): Checkpoint[] {
  const got: Checkpoint[] = [];
  c.on('message', (m: ServerMessage) => {
    if ((m as { type: string }).type === 'checkpoint')
      got.push((m as unknown as { checkpoint: Checkpoint }).checkpoint);
  });
  return got;
}

/** Writes records until the head reaches `seq`. */
async function growTo(f: Fixture, seq: number, tag: string): Promise<void> {
  for (let i = 0; (await f.coord.store.auditHead()).seq < seq; i++)
    await f.admin.route(routes.groupsCreate, { body: { name: `${tag}-${i}` } });
}

/** The attacker: edits record `seq`, re-hashes every later record, the head, deletes checkpoints ≥ seq. */
async function rewrite(f: Fixture, seq: number): Promise<void> {
  const db = f.coord.store.db;
  const rows = await f.coord.store.listAudit({ limit: 10_000 });
  let prev = rows[seq - 2].hash;
  for (const r of rows.slice(seq - 1)) {
    const subject = r.seq === seq ? 'group:nothing-to-see' : r.subject;
    const hash = hashRecord(prev, { ...r, subject });
    await db
      .updateTable('audit_log')
      .set({ subject, prev_hash: prev, hash })
      .where('seq', '=', r.seq)
      .execute();
    prev = hash;
  }
  await db.updateTable('audit_head').set({ hash: prev }).where('id', '=', 1).execute();
  await db.deleteFrom('audit_checkpoints').where('seq', '>=', seq).execute();
}

async function scenario(t: TestContext, dbUrl: string | undefined): Promise<void> {
  const f = await startFixture({ auditCheckpointEvery: EVERY, ...(dbUrl ? { db: dbUrl } : {}) });
  const tmp = mkdtempSync(join(tmpdir(), 'sallyport-anchor-'));
  t.after(async () => {
    await f.stop();
    rmSync(tmp, { recursive: true, force: true });
  });
  const auditKey = (await f.anon.route(routes.info)).auditKey;
  await f.admin.route(routes.deploymentsCreate, {
    body: { name: 'acme-prod', region: 'us-east-1', cloud: 'aws' },
  });
  const preauth = async () =>
    (await f.admin.route(routes.preauthKeysCreate, { body: { deployment: 'acme-prod' } })).key;
  const conn = await f.connect(newKey(), {
    version: 1,
    kind: 'connector',
    name: 'c1',
    preauthKey: await preauth(),
    features: ['anchors'],
  });
  const anchors = anchorsOf(conn);
  // A connector from before anchoring (no 'anchors' feature) would close the channel on a message
  // it does not know: it is sent none.
  const old = await f.connect(newKey(), {
    version: 1,
    kind: 'connector',
    name: 'c0',
    preauthKey: await preauth(),
  });
  const oldAnchors = anchorsOf(old);
  await growTo(f, 3 * EVERY + 1, 'before');
  // (soft wait: on a coordinator that pushes nothing the assertions below say what is missing)
  await until('anchors', () => anchors.some((a) => a.seq === 3 * EVERY), 3000).catch(() => undefined);

  const edited = EVERY + 2; // seq 7: between the anchors at 5 and 10
  await rewrite(f, edited);
  const refusalsBefore = f.logs.filter((l) => l.includes('AUDIT_REWRITE')).length;
  await growTo(f, 4 * EVERY, 'after'); // seq 20 is due for a checkpoint

  // The coordinator refuses to sign the rewritten chain: no checkpoint at 20, none at the head on
  // export, the alarm counted and logged at error level or above, and /health says so.
  const cps = await f.coord.store.listAuditCheckpoints();
  assert.deepEqual(
    cps.map((c) => c.seq),
    [EVERY],
    'only the checkpoint before the edit is left: nothing was signed over the rewritten chain',
  );
  await f.admin.route(routes.auditCheckpoints);
  assert.deepEqual(
    (await f.coord.store.listAuditCheckpoints()).map((c) => c.seq),
    [EVERY],
    'the export does not get a signed head either',
  );
  const metrics = await f.coord.metrics.registry.metrics();
  assert.match(metrics, /^sallyport_coordinator_audit_rewrite_detected_total [1-9]/m);
  assert.match(metrics, /^sallyport_coordinator_audit_signer_halted 1$/m);
  const alarms = f.logs.filter((l) => l.includes('AUDIT_REWRITE'));
  assert.ok(alarms.length > refusalsBefore, 'the refusal is logged');
  const level = (JSON.parse(alarms.at(-1)!) as { level: number }).level;
  assert.ok(level >= 50, `logged at error or fatal, not level ${level}`);
  const health = await f.anon.routeRaw(routes.health, {});
  assert.equal(health.status, 503, health.text);
  assert.equal((health.body as { audit: { signer: string } }).audit.signer, 'halted');
  // Ordinary writes still work (the chain still grows, unsigned), and a restart stays halted.
  await f.admin.route(routes.groupsCreate, { body: { name: 'still-writable' } });
  await f.restart();
  assert.match(await f.coord.metrics.registry.metrics(), /^sallyport_coordinator_audit_signer_halted 1$/m);

  // The customer's anchors: the checkpoints at 5, 10 and 15 its connector was sent.
  assert.deepEqual(
    anchors.map((a) => a.seq),
    [EVERY, 2 * EVERY, 3 * EVERY],
  );
  assert.deepEqual(oldAnchors, []);
  assert.equal(old.errors, 0);
  const anchorFile = join(tmp, 'anchors.jsonl');
  writeFileSync(anchorFile, anchors.map((a) => checkpointLine(a) + '\n').join(''));

  // The control: the database's own export, with the trusted key, verifies.
  const exportFile = join(tmp, 'export.jsonl');
  writeFileSync(
    exportFile,
    writeExport({
      records: await f.coord.store.listAudit({ limit: 10_000 }),
      checkpoints: await f.coord.store.listAuditCheckpoints(),
      keys: [VerifyKey.fromBase64(auditKey)],
      exportedAt: Date.now(),
    }),
  );
  const control = await cli('verify', exportFile, '--trust-key', auditKey);
  assert.equal(control.code, EXIT.OK, control.out + control.err);

  // With the customer's anchors: the first contradicted record is named.
  const v = await cli('verify', exportFile, '--trust-key', auditKey, '--anchors', anchorFile);
  assert.equal(v.code, EXIT.FAILED, v.out + v.err);
  assert.match(v.out, /FAILED ANCHOR_MISMATCH at line \d+, seq 10 \(altered from seq 6\)/);
  const j = await cli('verify', exportFile, '--trust-key', auditKey, '--anchors', anchorFile, '--json');
  const rep = JSON.parse(j.out) as { failure: { code: string; seq: number; fromSeq: number } };
  assert.deepEqual([rep.failure.code, rep.failure.seq, rep.failure.fromSeq], ['ANCHOR_MISMATCH', 10, 6]);
  assert.ok(rep.failure.fromSeq <= edited && edited <= rep.failure.seq);
}

test('audit rewrite in SQLite: the signer refuses and alarms; the anchors name the record', async (t) => {
  await scenario(t, undefined);
});

test('audit rewrite in PostgreSQL: the signer refuses and alarms; the anchors name the record', async (t) => {
  if (!needs(t, postgresMissing())) return;
  const pg = await startPostgres();
  t.after(() => pg.stop());
  await scenario(t, pg.url);
});
