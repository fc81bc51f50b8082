// Chapter 5, the audit. The coordinator's log: export the coordinator's audit log as `sallyport audit export` does (checkpoints first —
// the coordinator signs its head — then every record), write it to a file, and verify it offline
// against the audit key from /api/v1/info, as a customer would with `sallyport audit verify`. The
// connector's local log (inside the customer's network): its hash chain, as `audit verify --local`.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LocalAudit } from '../agent/local-audit.ts';
import { verifyExport, writeExport, type AuditRecord, type VerifyReport } from '../audit/index.ts';
import { VerifyKey } from '../crypto/index.ts';
import { routes, type ApiClient } from '../control/index.ts';
import type { Clock } from '../clock/index.ts';
import { CONNECTOR, type Detail, type Step } from './cast.ts';

const PAGE = 10_000;

export async function exportAndVerify(
  admin: ApiClient,
  file: string,
  clock: Clock,
): Promise<{ report: VerifyReport; actions: string[]; file: string }> {
  const info = await admin.route(routes.info);
  const cps = await admin.route(routes.auditCheckpoints);
  const records: AuditRecord[] = [];
  for (;;) {
    const page = await admin.route(routes.auditList, {
      query: { after: records.at(-1)?.seq ?? 0, limit: PAGE },
    });
    records.push(...page);
    if (page.length < PAGE) break;
  }
  const text = writeExport({
    records,
    checkpoints: cps.checkpoints,
    keys: cps.keys.map((k) => VerifyKey.fromBase64(k)),
    exportedAt: Math.floor(clock.wallMs()),
    lenient: true,
  });
  writeFileSync(file, text, { mode: 0o600 });
  const report = verifyExport(text, {
    trustedKeys: [VerifyKey.fromBase64(info.auditKey)],
    expectSeq: records.at(-1)?.seq ?? 0,
  });
  return { report, actions: [...new Set(records.map((r) => r.action))], file };
}

/** The actions the story's chapters 2–3 must have left in the coordinator's log. */
const EXPECTED_ACTIONS = ['request.create', 'request.approve', 'grant.create', 'certificate.client'];

export const auditStep: Step = (c, _s, detail) => verifyAudits(c.topo.admin, c.dir, c.topo.o.clock, detail);

/** Chapter 5 in any lab: the coordinator's export (through `admin`) and the connector's log under `dir`. */
export async function verifyAudits(
  admin: ApiClient,
  dir: string,
  clock: Clock,
  detail: Detail,
): Promise<string> {
  const rep = await exportAndVerify(admin, join(dir, 'audit-export.jsonl'), clock);
  const localFile = join(dir, CONNECTOR, 'audit', 'local.jsonl');
  const local = LocalAudit.verify(localFile);
  const localActions: Record<string, number> = {};
  for (const r of LocalAudit.read(localFile)) localActions[r.action] = (localActions[r.action] ?? 0) + 1;
  const queries = localActions['clickhouse.query'] ?? 0;
  detail({
    coordinator: {
      ok: rep.report.ok,
      records: rep.report.records,
      checkpoints: rep.report.checkpoints,
      signedThrough: rep.report.signedThrough,
      trusted: rep.report.trusted,
      actions: rep.actions,
      file: rep.file,
      ...(rep.report.failure ? { failure: rep.report.failure } : {}),
    },
    connector: {
      ok: local.ok,
      records: local.records,
      actions: localActions,
      file: existsSync(localFile) ? localFile : null,
      ...(local.failure ? { failure: local.failure } : {}),
    },
  });
  if (!rep.report.ok)
    throw new Error(`the coordinator's log does not verify: ${rep.report.failure?.message}`);
  if (!rep.report.trusted || rep.report.signedThrough < rep.report.lastSeq)
    throw new Error('the log is not signed through its head by the audit key');
  const missing = EXPECTED_ACTIONS.filter((a) => !rep.actions.includes(a));
  if (missing.length) throw new Error(`the log lacks ${missing.join(', ')}`);
  if (!local.ok) throw new Error(`the connector's local log does not verify: ${local.failure?.message}`);
  return (
    `coordinator: ${rep.report.records} records, chain OK, ${rep.report.checkpoints} checkpoint(s) signed by the audit key through seq ${rep.report.signedThrough}; ` +
    `connector (customer side): ${local.records} records, chain OK` +
    (queries ? `, with ${queries} ClickHouse queries of the grant read from query_log` : '')
  );
}
