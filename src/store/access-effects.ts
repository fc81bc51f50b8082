// The persistence side of access effects (src/store/access.ts): the audit entries and
// notifications an outcome carries, the `grants` and `access_grants` rows it creates, ends or
// extends, version-checked state writes and approval rows — all inside the caller's transaction.
import type { Transaction } from 'kysely';
import { SYSTEM_ACTOR_ID, type Approval, type Effect, type Outcome } from '../access/index.ts';
import type { AuditEntry } from './audit.ts';
import { RetryTransaction } from './base.ts';
import { StoreError } from './errors.ts';
import type { Database } from './schema.ts';
import type { AccessNotice } from './access.ts';

type Trx = Transaction<Database>;

/** The audit actor of an access effect: `system`, else the user. */
const auditActor = (id: string): string => (id === SYSTEM_ACTOR_ID ? SYSTEM_ACTOR_ID : `user:${id}`);

export function auditOf(effects: readonly Effect[]): AuditEntry[] {
  const out: AuditEntry[] = [];
  for (const e of effects)
    if (e.kind === 'audit')
      out.push({
        actor: auditActor(e.actor),
        action: e.action,
        subject: e.subject,
        details: { ...e.details },
      });
  return out;
}

export const noticesOf = (effects: readonly Effect[]): AccessNotice[] =>
  effects.filter((e): e is AccessNotice => e.kind === 'notify');

export interface Step<L, S> {
  /** The user (name) causing the event, or `system`. */
  actor: string;
  subject: string;
  attempted: string;
  load(trx: Trx): Promise<L | undefined>;
  decide(loaded: L, now: number): Outcome<S>;
  save(trx: Trx, loaded: L, state: S, now: number): Promise<void>;
  /** Ticks that find nothing to do are not audited. */
  quietRefusals?: boolean;
}

/** Carries out the non-audit, non-notify effects; returns the ids of `grants` rows changed. */
export async function carryOut(trx: Trx, effects: readonly Effect[], now: number): Promise<string[]> {
  const ids: string[] = [];
  for (const e of effects) {
    if (e.kind === 'grant-created') {
      const g = e.grant;
      const dep = await trx
        .selectFrom('deployments')
        .select('id')
        .where('name', '=', g.deployment)
        .executeTakeFirst();
      const user = await trx
        .selectFrom('users')
        .select('id')
        .where('name', '=', g.subject)
        .executeTakeFirst();
      if (!dep || !user) throw new StoreError('CONFLICT', 'the deployment or the requester no longer exists');
      await trx
        .insertInto('grants')
        .values({
          id: g.id,
          subject_type: 'user',
          subject_id: user.id,
          deployment_id: dep.id,
          services: JSON.stringify(g.services),
          not_before: g.start,
          expires_at: g.end,
          revoked_at: null,
          created_at: now,
          created_by: `request:${g.requestId}`,
          access: g.access,
        })
        .execute();
      await trx
        .insertInto('access_grants')
        .values({
          id: g.id,
          request_id: g.requestId,
          subject: g.subject,
          status: g.status,
          end_at: g.end,
          version: 1,
          state: JSON.stringify(g),
        })
        .execute();
      ids.push(g.id);
    } else if (e.kind === 'grant-ended') {
      if (e.cause === 'revoked')
        await trx.updateTable('grants').set({ revoked_at: e.at }).where('id', '=', e.grantId).execute();
      ids.push(e.grantId);
    } else if (e.kind === 'grant-extended') {
      await trx.updateTable('grants').set({ expires_at: e.end }).where('id', '=', e.grantId).execute();
      ids.push(e.grantId);
    }
  }
  return ids;
}

/** Writes a state row if its version is still `version` (else the transaction runs again). */
export async function bump(
  trx: Trx,
  table: 'access_requests' | 'access_grants' | 'access_extensions',
  id: string,
  version: number,
  set: Record<string, string | number>,
): Promise<void> {
  const r = await trx
    .updateTable(table)
    .set({ ...set, version: version + 1 })
    .where('id', '=', id)
    .where('version', '=', version)
    .executeTakeFirst();
  if (Number(r.numUpdatedRows) !== 1) throw new RetryTransaction(`${table} ${id} changed meanwhile`);
}

/** Records the approvals added between `before` and `after`. */
export async function recordApprovals(
  trx: Trx,
  subject: string,
  before: readonly Approval[],
  after: readonly Approval[],
) {
  for (const a of after.slice(before.length))
    await trx
      .insertInto('access_approvals')
      .values({ subject, approver: a.by, roles: JSON.stringify(a.roles), at: a.at })
      .execute();
}
