// The audit chain's state for the console: the coordinator signs its head (as GET
// /api/v1/audit/checkpoints does), builds the same export `sallyport audit export` writes, and runs
// the offline verifier on it, trusting only the coordinator's own audit key and expecting the head
// it holds. This shows that the stored records still chain and match their signed checkpoints;
// it is not a third party's check (that is `audit export` + `audit verify --trust-key` elsewhere).
import {
  exportLines,
  verifyExport,
  type AuditRecord,
  type Checkpoint,
  type VerifyReport,
} from '../../audit/index.ts';
import type { VerifyKey } from '../../crypto/index.ts';
import { MAX_AUDIT_PAGE, type Store } from '../../store/index.ts';
import type { Clock } from '../../clock/index.ts';

/** Above this many records the console does not verify in-process (use the CLI). */
export const MAX_CONSOLE_VERIFY = 200_000;

export interface AuditCheck {
  ok: boolean;
  /** The head the coordinator holds. */
  headSeq: number;
  records: number;
  lastSeq: number;
  checkpoints: number;
  signedThrough: number;
  keyId: string | null;
  failure: { code: string; seq: number | null; message: string } | null;
  notes: string[];
  checkedAt: number;
}

export async function checkAudit(store: Store, auditKey: VerifyKey, clock: Clock): Promise<AuditCheck> {
  await store.signAuditHead();
  const head = await store.auditHead();
  const checkedAt = Math.floor(clock.wallMs());
  if (head.seq > MAX_CONSOLE_VERIFY)
    return {
      ...empty(head.seq, checkedAt),
      failure: {
        code: 'TOO_LARGE',
        seq: null,
        message: `the log has ${head.seq} records: verify it with 'sallyport audit export' and 'sallyport audit verify'`,
      },
    };
  const lines = await auditExportLines(store, auditKey, checkedAt);
  const rep: VerifyReport = verifyExport(lines, { trustedKeys: [auditKey], expectSeq: head.seq });
  return {
    ok: rep.ok,
    headSeq: head.seq,
    records: rep.records,
    lastSeq: rep.lastSeq,
    checkpoints: rep.checkpoints,
    signedThrough: rep.signedThrough,
    keyId: rep.keyIds[0] ?? null,
    failure: rep.failure
      ? { code: rep.failure.code, seq: rep.failure.seq ?? null, message: rep.failure.message }
      : null,
    notes: rep.notes,
    checkedAt,
  };
}

/**
 * The whole log as `sallyport audit export` writes it (the head signed first), for the console's
 * check and its download: `sallyport audit verify FILE --trust-key KEY` checks it offline.
 */
export async function auditExportLines(
  store: Store,
  auditKey: VerifyKey,
  exportedAt: number,
  shown?: (r: AuditRecord) => boolean,
): Promise<string[]> {
  await store.signAuditHead();
  // Checkpoints first, then records: records only grow, so every checkpoint read is covered.
  const checkpoints: Checkpoint[] = (await store.listAuditCheckpoints()).map(
    ({ seq, hash, time, keyId, signature }) => ({ seq, hash, time, keyId, signature }),
  );
  const records = [];
  for (;;) {
    const page = await store.listAudit({ afterSeq: records.at(-1)?.seq ?? 0, limit: MAX_AUDIT_PAGE });
    records.push(...page);
    if (page.length < MAX_AUDIT_PAGE) break;
  }
  return [
    ...exportLines({
      records,
      checkpoints,
      keys: [auditKey],
      exportedAt,
      lenient: true,
      ...(shown ? { shown } : {}),
    }),
  ];
}

/**
 * What of the log a customer sees in full: records about its deployments (their requests, grants
 * and extensions, their switches and break-glass uses, anything naming the deployment in its
 * details) and about the customer itself. Everything else is elided in its export.
 */
export async function customerScope(
  store: Store,
  deployments: readonly string[],
  customer: string | null,
): Promise<(r: AuditRecord) => boolean> {
  const mine = new Set(deployments);
  const subjects = new Set<string>([
    ...deployments.map((d) => `deployment:${d}`),
    ...(customer ? [`customer:${customer}`] : []),
  ]);
  for (const r of await store.listAccessRequests({}))
    if (mine.has(r.deployment)) subjects.add(`request:${r.id}`);
  const grants = (await store.listAccessGrants({})).filter((g) => mine.has(g.deployment));
  for (const g of grants) subjects.add(`grant:${g.id}`);
  // Standing grants too (machines on these deployments: their streams are reported the same way).
  for (const d of deployments)
    for (const g of await store.listGrants({ deployment: d })) subjects.add(`grant:${g.id}`);
  for (const x of await store.listAccessExtensions({}))
    if (grants.some((g) => g.id === x.grantId)) subjects.add(`extension:${x.id}`);
  return (r) =>
    subjects.has(r.subject) ||
    (typeof (r.details as { deployment?: unknown }).deployment === 'string' &&
      mine.has((r.details as { deployment: string }).deployment));
}

const empty = (headSeq: number, checkedAt: number): AuditCheck => ({
  ok: false,
  headSeq,
  records: 0,
  lastSeq: 0,
  checkpoints: 0,
  signedThrough: 0,
  keyId: null,
  failure: null,
  notes: [],
  checkedAt,
});
