// Audit anchoring end to end (issue 13, part 3): a real coordinator pushes each checkpoint it signs
// to the connector over the agent channel; the connector keeps it in the customer's local audit as
// an `audit.anchor` record. After the vendor's database is rewritten (a record edited, the chain
// re-hashed, later checkpoints deleted) the coordinator refuses to sign, and `audit verify` with
// the connector's log — or the anchors `audit anchors --local` extracts from it — names the
// contradicted record, while the database's own export verifies.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ANCHOR_ACTION, hashRecord } from '../../src/audit/index.ts';
import { LocalAudit } from '../../src/agent/local-audit.ts';
import { run } from '../../src/cli/audit.ts';
import { EXIT } from '../../src/cli/exit.ts';
import { ApiClient, routes } from '../../src/control/index.ts';
import { Harness, waitFor } from '../../src/testing/harness.ts';

async function cli(...argv: string[]) {
  let out = '';
  let err = '';
  const code = await run(argv, { out: (s) => void (out += s), err: (s) => void (err += s) });
  return { code, out, err };
}

test("checkpoints reach the customer's local audit; after a DB rewrite its anchors name the record", async (t) => {
  const h = await Harness.start();
  const tmp = mkdtempSync(join(tmpdir(), 'sallyport-anchor-int-'));
  t.after(async () => {
    await h.stop();
    rmSync(tmp, { recursive: true, force: true });
  });
  await h.deployment('acme-prod');
  const conn = await h.connector({ deployment: 'acme-prod', services: [] });
  const store = h.coordinator.store;
  const localFile = conn.agent.targets!.audit.file;
  const anchored = () =>
    LocalAudit.read(localFile)
      .filter((r) => r.action === ANCHOR_ACTION)
      .map((r) => r.details.seq as number);

  // Two checkpoints (the head signed on export), each pushed to the connector.
  for (const u of ['alice', 'bob', 'carol']) await h.user(u);
  const first = (await store.auditHead()).seq;
  await h.api.route(routes.auditCheckpoints);
  await waitFor(() => anchored().includes(first), 5000, 'the first anchor in the local audit');
  for (const u of ['dave', 'erin']) await h.user(u);
  const second = (await store.auditHead()).seq;
  await h.api.route(routes.auditCheckpoints);
  await waitFor(() => anchored().includes(second), 5000, 'the second anchor in the local audit');
  assert.equal(LocalAudit.verify(localFile).ok, true, 'the anchors are part of the local hash chain');

  // The attacker edits the record just after the first anchor, re-hashes, deletes checkpoints.
  const edited = first + 1;
  const rows = await store.listAudit({ limit: 10_000 });
  let prev = rows[edited - 2].hash;
  for (const r of rows.slice(edited - 1)) {
    const details = r.seq === edited ? { ...r.details, note: 'rewritten' } : r.details;
    const hash = hashRecord(prev, { ...r, details });
    await store.db
      .updateTable('audit_log')
      .set({ details: JSON.stringify(details), prev_hash: prev, hash })
      .where('seq', '=', r.seq)
      .execute();
    prev = hash;
  }
  await store.db.updateTable('audit_head').set({ hash: prev }).where('id', '=', 1).execute();
  await store.db.deleteFrom('audit_checkpoints').where('seq', '>=', edited).execute();

  // The coordinator refuses to sign the rewritten head, raises the alarm, reports unhealthy.
  const cps = await h.api.route(routes.auditCheckpoints);
  assert.deepEqual(
    cps.checkpoints.map((c) => c.seq),
    [first],
  );
  assert.ok(
    h.coordinatorLogs.lines.some((l) => l.code === 'AUDIT_REWRITE' && (l.level as number) >= 60),
    'AUDIT_REWRITE logged at fatal level',
  );
  const health = await new ApiClient({ server: h.coordinator.url, ca: h.coordinator.tls.cert }).routeRaw(
    routes.health,
    {},
  );
  assert.equal(health.status, 503);

  // The database's export, taken by the CLI, verifies on its own (the control)…
  const { token } = await h.api.route(routes.login, {
    body: {
      user: 'admin',
      password: 'harness-admin-password',
    },
  });
  const caFile = join(tmp, 'ca.pem');
  writeFileSync(caFile, h.coordinator.tls.cert);
  const exportFile = join(tmp, 'export.jsonl');
  const ex = await cli(
    'export',
    '--server',
    h.coordinator.url,
    '--ca',
    caFile,
    '--token',
    token,
    '--out',
    exportFile,
  );
  assert.equal(ex.code, EXIT.OK, ex.err);
  const key = h.coordinator.keys.auditKey.verifyKey.base64();
  const control = await cli('verify', exportFile, '--trust-key', key);
  assert.equal(control.code, EXIT.OK, control.out);

  // …but not against the customer's anchors: the local log itself, or the extracted anchors.
  const expected = new RegExp(
    `FAILED ANCHOR_MISMATCH at line \\d+, seq ${second} \\(altered from seq ${first + 1}\\)`,
  );
  const withLog = await cli('verify', exportFile, '--trust-key', key, '--anchors', localFile);
  assert.equal(withLog.code, EXIT.FAILED, withLog.out);
  assert.match(withLog.out, expected);
  const extracted = await cli('anchors', '--local', '--state', conn.stateDir);
  assert.equal(extracted.code, EXIT.OK, extracted.err);
  assert.equal(extracted.out.trim().split('\n').length, 2);
  const anchorsFile = join(tmp, 'anchors.jsonl');
  writeFileSync(anchorsFile, extracted.out);
  const withFile = await cli('verify', exportFile, '--trust-key', key, '--anchors', anchorsFile);
  assert.equal(withFile.code, EXIT.FAILED, withFile.out);
  assert.match(withFile.out, expected);
});
