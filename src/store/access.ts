// Just-in-time access in the store: the policy document, requests, approvals, extensions and the
// access state of request-derived grants. The decisions are src/access's pure transitions; this
// file loads their state, applies one event, and persists the new state together with every
// effect (audit records, the `grants` row of a new grant, its end or extension) in ONE transaction
// (I7). A refused event is audited too (`access.refuse`), with its lapse when the event found its
// subject past a deadline. Notifications are returned to the caller, to be sent after commit.
//
// Concurrency: every state row has a version; a write that finds another version throws
// RetryTransaction and the whole operation runs again on fresh state. Two approvals at once: the
// second one sees the request already approved and is refused, so one request makes one grant.
import type { Transaction } from 'kysely';
import {
  auditRefusal,
  extensionTransition,
  grantTransition,
  openExtension,
  openRequest,
  parsePolicyDocument,
  requestTransition,
  validatePolicyDocument,
  type Actor,
  type AccessHours,
  type CustomerControls,
  type Effect,
  type ExtensionPair,
  type ExtensionState,
  type GrantState,
  type Labelled,
  type PolicyIssue,
  type PolicySet,
  type RefusalCode,
  type RequestEvent,
  type RequestState,
} from '../access/index.ts';
import type { AuditEntry } from './audit.ts';
import { newId } from './base.ts';
import { StoreError } from './errors.ts';
import type { Database } from './schema.ts';
import * as R from './records.ts';
import { AuditStore } from './audit-store.ts';
import { auditOf, bump, carryOut, noticesOf, recordApprovals, type Step } from './access-effects.ts';

type Trx = Transaction<Database>;

/** A notification to send once the transaction has committed. */
export type AccessNotice = Extract<Effect, { kind: 'notify' }>;

export type AccessResult<S> =
  | { ok: true; state: S; notices: AccessNotice[]; grants: R.GrantRecord[] }
  | {
      ok: false;
      code: RefusalCode;
      reason: string;
      details?: Readonly<Record<string, unknown>>;
      notices: AccessNotice[];
      grants: R.GrantRecord[];
    };

export interface StoredPolicy {
  version: number;
  document: unknown;
  updatedAt: number;
  updatedBy: string;
}

export interface AccessRequestInput {
  deployment: string;
  services: string[];
  reason: string;
  durationMs: number;
  access?: 'read-only' | 'read-write' | 'admin';
}

export const EMPTY_POLICY: PolicySet = { policies: [], standing: [] };

export class AccessStore extends AuditStore {
  // ── policy ───────────────────────────────────────────────────────────────────────────────────

  async getPolicy(): Promise<StoredPolicy | undefined> {
    const row = await this.db.selectFrom('access_policy').selectAll().where('id', '=', 1).executeTakeFirst();
    return row
      ? {
          version: Number(row.version),
          document: JSON.parse(row.document) as unknown,
          updatedAt: Number(row.updated_at),
          updatedBy: row.updated_by,
        }
      : undefined;
  }

  /** Validates and stores the policy document; refuses with the issues (nothing stored). */
  async putPolicy(
    actor: string,
    document: unknown,
  ): Promise<{ ok: true; policy: StoredPolicy } | { ok: false; issues: readonly PolicyIssue[] }> {
    const v = validatePolicyDocument(document);
    if (!v.ok) {
      await this.recordRefusal({
        actor,
        action: 'policy.refuse',
        subject: 'policy',
        details: { issues: v.issues.slice(0, 20).map((i) => ({ code: i.code, path: i.path })) },
      });
      return { ok: false, issues: v.issues };
    }
    const text = JSON.stringify(document);
    const policy = await this.mutate(actor, async (trx, now) => {
      const old = await trx
        .selectFrom('access_policy')
        .select('version')
        .where('id', '=', 1)
        .executeTakeFirst();
      const version = old ? Number(old.version) + 1 : 1;
      if (old)
        await trx
          .updateTable('access_policy')
          .set({ version, document: text, updated_at: now, updated_by: actor })
          .where('id', '=', 1)
          .execute();
      else
        await trx
          .insertInto('access_policy')
          .values({ id: 1, version, document: text, updated_at: now, updated_by: actor })
          .execute();
      return {
        result: { version, document, updatedAt: now, updatedBy: actor },
        audit: {
          action: 'policy.update',
          subject: 'policy',
          details: {
            version,
            policies: v.value.policies.map((p) => p.id),
            standing: v.value.standing.map((p) => p.id),
          },
        },
      };
    });
    return { ok: true, policy };
  }

  async #policySet(trx: Trx): Promise<PolicySet> {
    const row = await trx
      .selectFrom('access_policy')
      .select('document')
      .where('id', '=', 1)
      .executeTakeFirst();
    return row ? parsePolicyDocument(JSON.parse(row.document)) : EMPTY_POLICY;
  }

  // ── who is acting ────────────────────────────────────────────────────────────────────────────

  /** The access Actor of a user: their name, group names and admin flag, read now. */
  async accessActor(userName: string, trx: Trx | undefined = undefined): Promise<Actor> {
    const db = trx ?? this.db;
    const u = await db.selectFrom('users').selectAll().where('name', '=', userName).executeTakeFirst();
    if (!u || u.disabled) throw new StoreError('NOT_FOUND', `no active user ${JSON.stringify(userName)}`);
    const groups = await db
      .selectFrom('memberships')
      .innerJoin('groups', 'groups.id', 'memberships.group_id')
      .select('groups.name')
      .where('memberships.user_id', '=', u.id)
      .execute();
    const base = { id: u.name, groups: groups.map((g) => g.name).sort(), admin: !!u.is_admin };
    if (u.customer_id === null) return base;
    const scope = await db
      .selectFrom('customer_deployments')
      .innerJoin('deployments', 'deployments.id', 'customer_deployments.deployment_id')
      .select('deployments.name')
      .where('customer_deployments.customer_id', '=', u.customer_id)
      .execute();
    const c = await db
      .selectFrom('customers')
      .select('name')
      .where('id', '=', u.customer_id)
      .executeTakeFirst();
    return {
      ...base,
      admin: false,
      customerOf: scope.map((d) => d.name).sort(),
      ...(c ? { customer: c.name } : {}),
    };
  }

  // ── one event, one transaction ───────────────────────────────────────────────────────────────

  async #step<L, S>(s: Step<L, S>): Promise<AccessResult<S>> {
    const touched = new Set<string>();
    const r = await this.mutateAll(async (trx, now) => {
      touched.clear();
      const loaded = await s.load(trx);
      if (loaded === undefined) throw new StoreError('NOT_FOUND', `no ${s.subject.replace(':', ' ')}`);
      const o = s.decide(loaded, now);
      const applied = o.ok ? o : o.lapse;
      const audit: AuditEntry[] = [];
      if (applied) {
        await s.save(trx, loaded, applied.state, now);
        for (const id of await carryOut(trx, applied.effects, now)) touched.add(id);
        audit.push(...auditOf(applied.effects));
      }
      if (!o.ok && !(s.quietRefusals && !o.lapse)) {
        const e = auditRefusal(s.actor, s.subject, s.attempted, o, now);
        // A refusal that changed nothing is bounded per user; one with a lapse is always recorded.
        for (const entry of auditOf([e])) audit.push(...(o.lapse ? [entry] : this.refusalEntries(entry)));
      }
      const notices = applied ? noticesOf(applied.effects) : [];
      const result: AccessResult<S> = o.ok
        ? { ok: true, state: o.state, notices, grants: [] }
        : {
            ok: false,
            code: o.code,
            reason: o.reason,
            ...(o.details ? { details: o.details } : {}),
            notices,
            grants: [],
          };
      return { result, audit };
    });
    for (const id of touched) {
      const g = await this.getGrant(id);
      if (g) r.grants.push(g);
    }
    return r;
  }

  // ── requests ─────────────────────────────────────────────────────────────────────────────────

  /** Evaluates and opens a request by `user`; a refusal is audited and nothing else is written. */
  openAccessRequest(user: string, input: AccessRequestInput): Promise<AccessResult<RequestState>> {
    return this.mutateAll<AccessResult<RequestState>>(async (trx, now) => {
      const actor = await this.accessActor(user, trx);
      const policies = await this.#policySet(trx);
      const d = await trx
        .selectFrom('deployments')
        .selectAll()
        .where('name', '=', input.deployment)
        .executeTakeFirst();
      const services: Labelled[] = d
        ? (await trx.selectFrom('services').selectAll().where('deployment_id', '=', d.id).execute()).map(
            (s) => ({
              name: s.name,
              labels: { kind: s.kind, ...(JSON.parse(s.labels) as Record<string, string>) },
            }),
          )
        : [];
      const deployment: Labelled | undefined = d
        ? { name: d.name, labels: { region: d.region, cloud: d.cloud } }
        : undefined;
      const o = openRequest(
        policies,
        {
          requester: actor,
          deployment: input.deployment,
          services: input.services,
          durationMs: input.durationMs,
          reason: input.reason,
          ...(input.access !== undefined ? { access: input.access } : {}),
        },
        { now, deployment, services, id: newId(), grantId: newId(), controls: await controlsOf(trx, d?.id) },
      );
      if (!o.ok) {
        const e = auditRefusal(actor.id, `deployment:${input.deployment}`, 'request.create', o, now);
        return {
          result: {
            ok: false as const,
            code: o.code,
            reason: o.reason,
            ...(o.details ? { details: o.details } : {}),
            notices: [],
            grants: [],
          },
          audit: auditOf([e]).flatMap((entry) => this.refusalEntries(entry)),
        };
      }
      const st = o.state;
      await trx
        .insertInto('access_requests')
        .values({
          id: st.id,
          grant_id: st.grantId,
          requester: st.requester,
          deployment: st.deployment,
          status: st.status,
          pending_until: st.pendingUntil,
          created_at: st.createdAt,
          version: 1,
          state: JSON.stringify(st),
        })
        .execute();
      return {
        result: { ok: true as const, state: st, notices: noticesOf(o.effects), grants: [] },
        audit: auditOf(o.effects),
      };
    });
  }

  static async #loadRequest(trx: Trx | Store0, id: string) {
    const row = await trx.selectFrom('access_requests').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? { version: Number(row.version), state: JSON.parse(row.state) as RequestState } : undefined;
  }

  /** Approve, deny or cancel a request (`actor` is a user name), or `tick` it (actor `system`). */
  async requestEvent(actor: string, id: string, e: RequestEvent): Promise<AccessResult<RequestState>> {
    const subject = `request:${id}`;
    return this.#step({
      actor,
      subject,
      attempted: `request.${e.type}`,
      quietRefusals: e.type === 'tick',
      load: (trx) => AccessStore.#loadRequest(trx, id),
      decide: (l, now) => requestTransition(l.state, e, now),
      save: async (trx, l, s) => {
        await bump(trx, 'access_requests', id, l.version, {
          status: s.status,
          pending_until: s.pendingUntil,
          state: JSON.stringify(s),
        });
        await recordApprovals(trx, subject, l.state.approvals, s.approvals);
      },
    });
  }

  async getAccessRequest(id: string): Promise<RequestState | undefined> {
    return (await AccessStore.#loadRequest(this.db, id))?.state;
  }

  async listAccessRequests(opts: { status?: string; limit?: number } = {}): Promise<RequestState[]> {
    let q = this.db.selectFrom('access_requests').select('state');
    if (opts.status !== undefined) q = q.where('status', '=', opts.status);
    const rows = await q
      .orderBy('created_at', 'desc')
      .limit(opts.limit ?? 500)
      .execute();
    return rows.map((r) => JSON.parse(r.state) as RequestState);
  }

  // ── grants ───────────────────────────────────────────────────────────────────────────────────

  static async #loadGrant(trx: Trx | Store0, id: string) {
    const row = await trx.selectFrom('access_grants').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? { version: Number(row.version), state: JSON.parse(row.state) as GrantState } : undefined;
  }

  static #saveGrant(trx: Trx, id: string, version: number, g: GrantState): Promise<void> {
    return bump(trx, 'access_grants', id, version, {
      status: g.status,
      end_at: g.end,
      state: JSON.stringify(g),
    });
  }

  /** Revokes a request-derived grant, or `tick`s it at its end. */
  async accessGrantEvent(
    actor: string,
    id: string,
    e: { type: 'revoke'; reason: string } | { type: 'tick' },
  ): Promise<AccessResult<GrantState>> {
    const who = e.type === 'revoke' ? await this.accessActor(actor) : undefined;
    return this.#step({
      actor,
      subject: `grant:${id}`,
      attempted: `grant.${e.type}`,
      quietRefusals: e.type === 'tick',
      load: (trx) => AccessStore.#loadGrant(trx, id),
      decide: (l, now) =>
        grantTransition(
          l.state,
          e.type === 'tick' ? e : { type: 'revoke', actor: who!, reason: e.reason },
          now,
        ),
      save: (trx, l, g) => AccessStore.#saveGrant(trx, id, l.version, g),
    });
  }

  async getAccessGrant(id: string): Promise<GrantState | undefined> {
    return (await AccessStore.#loadGrant(this.db, id))?.state;
  }

  /** Whether `id` is a request-derived grant (its `grants` row must change only through access). */
  async isAccessGrant(id: string): Promise<boolean> {
    return (await AccessStore.#loadGrant(this.db, id)) !== undefined;
  }

  async listAccessGrants(
    opts: { status?: string; subject?: string; limit?: number } = {},
  ): Promise<GrantState[]> {
    let q = this.db.selectFrom('access_grants').select('state');
    if (opts.status !== undefined) q = q.where('status', '=', opts.status);
    if (opts.subject !== undefined) q = q.where('subject', '=', opts.subject);
    const rows = await q
      .orderBy('end_at', 'desc')
      .limit(opts.limit ?? 500)
      .execute();
    return rows.map((r) => JSON.parse(r.state) as GrantState);
  }

  // ── extensions ───────────────────────────────────────────────────────────────────────────────

  async openAccessExtension(
    user: string,
    grantId: string,
    input: { addMs: number; reason: string },
  ): Promise<AccessResult<ExtensionState>> {
    const actor = await this.accessActor(user);
    const id = newId();
    return this.#step({
      actor: user,
      subject: `grant:${grantId}`,
      attempted: 'extension.create',
      load: (trx) => AccessStore.#loadGrant(trx, grantId),
      decide: (l, now) =>
        openExtension(l.state, { id, actor, addMs: input.addMs, reason: input.reason }, now),
      save: async (trx, _l, x) => {
        await trx
          .insertInto('access_extensions')
          .values({
            id: x.id,
            grant_id: x.grantId,
            requester: x.requester,
            status: x.status,
            pending_until: x.pendingUntil,
            version: 1,
            state: JSON.stringify(x),
          })
          .execute();
      },
    });
  }

  static async #loadExtension(trx: Trx | Store0, id: string) {
    const row = await trx.selectFrom('access_extensions').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) return undefined;
    const g = await AccessStore.#loadGrant(trx, row.grant_id);
    if (!g) return undefined;
    return { version: Number(row.version), extension: JSON.parse(row.state) as ExtensionState, grant: g };
  }

  async extensionEvent(actor: string, id: string, e: RequestEvent): Promise<AccessResult<ExtensionPair>> {
    const subject = `extension:${id}`;
    return this.#step({
      actor,
      subject,
      attempted: `extension.${e.type}`,
      quietRefusals: e.type === 'tick',
      load: (trx) => AccessStore.#loadExtension(trx, id),
      decide: (l, now) => extensionTransition({ extension: l.extension, grant: l.grant.state }, e, now),
      save: async (trx, l, p) => {
        await bump(trx, 'access_extensions', id, l.version, {
          status: p.extension.status,
          pending_until: p.extension.pendingUntil,
          state: JSON.stringify(p.extension),
        });
        if (JSON.stringify(p.grant) !== JSON.stringify(l.grant.state))
          await AccessStore.#saveGrant(trx, p.grant.id, l.grant.version, p.grant);
        await recordApprovals(trx, subject, l.extension.approvals, p.extension.approvals);
      },
    });
  }

  async listAccessExtensions(opts: { grantId?: string; status?: string } = {}): Promise<ExtensionState[]> {
    let q = this.db.selectFrom('access_extensions').select('state');
    if (opts.grantId !== undefined) q = q.where('grant_id', '=', opts.grantId);
    if (opts.status !== undefined) q = q.where('status', '=', opts.status);
    return (await q.limit(500).execute()).map((r) => JSON.parse(r.state) as ExtensionState);
  }

  // ── deadlines (the coordinator's expiry scheduler) ──────────────────────────────────────────

  /** The earliest deadline of anything pending or active, or undefined. */
  async nextAccessDeadline(): Promise<number | undefined> {
    const db = this.db;
    const [r, x, g] = await Promise.all([
      db
        .selectFrom('access_requests')
        .select((eb) => eb.fn.min<number>('pending_until').as('t'))
        .where('status', '=', 'pending')
        .executeTakeFirst(),
      db
        .selectFrom('access_extensions')
        .select((eb) => eb.fn.min<number>('pending_until').as('t'))
        .where('status', '=', 'pending')
        .executeTakeFirst(),
      db
        .selectFrom('access_grants')
        .select((eb) => eb.fn.min<number>('end_at').as('t'))
        .where('status', '=', 'active')
        .executeTakeFirst(),
    ]);
    const ts = [r?.t, x?.t, g?.t].filter((t) => t !== null && t !== undefined).map(Number);
    return ts.length ? Math.min(...ts) : undefined;
  }

  /** What is due at `now`: pending requests and extensions past their deadline, grants at their end. */
  async dueAccess(
    now: number,
    limit = 500,
  ): Promise<{ requests: string[]; extensions: string[]; grants: string[] }> {
    const db = this.db;
    const ids = (rows: { id: string }[]) => rows.map((r) => r.id);
    return {
      requests: ids(
        await db
          .selectFrom('access_requests')
          .select('id')
          .where('status', '=', 'pending')
          .where('pending_until', '<=', now)
          .limit(limit)
          .execute(),
      ),
      extensions: ids(
        await db
          .selectFrom('access_extensions')
          .select('id')
          .where('status', '=', 'pending')
          .where('pending_until', '<=', now)
          .limit(limit)
          .execute(),
      ),
      grants: ids(
        await db
          .selectFrom('access_grants')
          .select('id')
          .where('status', '=', 'active')
          .where('end_at', '<=', now)
          .limit(limit)
          .execute(),
      ),
    };
  }
}

/** The non-transaction handle (reads outside a transaction). */
type Store0 = AccessStore['db'];

/** The deployment customer's switches, as the request evaluation takes them. */
async function controlsOf(trx: Trx, deploymentId: string | undefined): Promise<CustomerControls | undefined> {
  if (!deploymentId) return undefined;
  const c = await trx
    .selectFrom('deployment_controls')
    .selectAll()
    .where('deployment_id', '=', deploymentId)
    .executeTakeFirst();
  if (!c) return undefined;
  const owner = await trx
    .selectFrom('customer_deployments')
    .innerJoin('customers', 'customers.id', 'customer_deployments.customer_id')
    .select('customers.name')
    .where('customer_deployments.deployment_id', '=', deploymentId)
    .executeTakeFirst();
  return {
    noAccess: c.no_access === 1,
    coApproval: c.require_co_approval === 1 && owner ? owner.name : null,
    hours: c.hours ? (JSON.parse(c.hours) as AccessHours) : null,
  };
}
