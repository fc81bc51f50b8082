// Standing grants and the netmap inputs of one node.
import { StoreError } from './errors.ts';
import * as R from './records.ts';
import { newId, resolveSubject } from './base.ts';
import { ACCESS_LEVELS, type AccessLevel } from '../access/index.ts';

export interface NetmapInputs {
  self: R.NodeRecord;
  deployments: R.DeploymentRecord[];
  services: R.ServiceRecord[];
  grants: R.GrantRecord[];
  /** Candidate peers (the other side of the grants), revoked and expired ones included. */
  nodes: R.NodeRecord[];
  users: { id: string; name: string }[];
  memberships: R.Membership[];
}

import { EnrollmentStore } from './enrollment.ts';

export class GrantStore extends EnrollmentStore {
  // ── standing grants ──────────────────────────────────────────────────────────────────────────

  createGrant(
    actor: string,
    g: {
      subject: { type: R.SubjectType; name: string };
      deployment: string;
      services: string[];
      notBefore?: number;
      expiresAt?: number | null;
      /** Default read-only. */
      access?: AccessLevel;
    },
  ): Promise<R.GrantRecord> {
    return this.mutate(actor, async (trx, now) => {
      const d = await trx
        .selectFrom('deployments')
        .select('id')
        .where('name', '=', g.deployment)
        .executeTakeFirst();
      if (!d) throw new StoreError('NOT_FOUND', `no deployment ${JSON.stringify(g.deployment)}`);
      const subjectId = await resolveSubject(trx, g.subject);
      if (g.expiresAt != null && g.expiresAt <= now)
        throw new StoreError('INVALID', 'expiry must be in the future');
      const access = g.access ?? 'read-only';
      if (!(ACCESS_LEVELS as readonly string[]).includes(access))
        throw new StoreError('INVALID', `access must be one of ${ACCESS_LEVELS.join(', ')}`);
      const row = {
        id: newId(),
        subject_type: g.subject.type,
        subject_id: subjectId,
        deployment_id: d.id,
        services: JSON.stringify([...new Set(g.services)].sort()),
        not_before: g.notBefore ?? now,
        expires_at: g.expiresAt ?? null,
        revoked_at: null,
        created_at: now,
        created_by: actor,
        access,
      };
      await trx.insertInto('grants').values(row).execute();
      return {
        result: R.toGrant(row),
        audit: {
          action: 'grant.create',
          subject: `grant:${row.id}`,
          details: {
            subject: g.subject,
            deployment: g.deployment,
            services: JSON.parse(row.services),
            notBefore: row.not_before,
            expiresAt: row.expires_at,
            access,
          },
        },
      };
    });
  }

  async listGrants(
    opts: { deployment?: string; includeRevoked?: boolean } = {},
  ): Promise<(R.GrantRecord & { deployment: string })[]> {
    let q = this.db
      .selectFrom('grants')
      .innerJoin('deployments', 'deployments.id', 'grants.deployment_id')
      .selectAll('grants')
      .select('deployments.name as deployment_name');
    if (opts.deployment !== undefined) q = q.where('deployments.name', '=', opts.deployment);
    if (!opts.includeRevoked) q = q.where('grants.revoked_at', 'is', null);
    return (await q.orderBy('grants.created_at').execute()).map((r) => ({
      ...R.toGrant(r),
      deployment: r.deployment_name,
    }));
  }

  async getGrant(id: string): Promise<R.GrantRecord | undefined> {
    const row = await this.db.selectFrom('grants').selectAll().where('id', '=', id).executeTakeFirst();
    return row && R.toGrant(row);
  }

  revokeGrant(actor: string, id: string): Promise<R.GrantRecord> {
    return this.mutate(actor, async (trx, now) => {
      const row = await trx.selectFrom('grants').selectAll().where('id', '=', id).executeTakeFirst();
      if (!row || row.revoked_at !== null) throw new StoreError('NOT_FOUND', `no active grant ${id}`);
      const access = await trx
        .selectFrom('access_grants')
        .select('id')
        .where('id', '=', id)
        .executeTakeFirst();
      if (access)
        throw new StoreError(
          'CONFLICT',
          `grant ${id} came from an access request: revoke it with 'sallyport revoke ${id}'`,
        );
      await trx.updateTable('grants').set({ revoked_at: now }).where('id', '=', id).execute();
      return {
        result: R.toGrant({ ...row, revoked_at: now }),
        audit: { action: 'grant.revoke', subject: `grant:${id}`, details: {} },
      };
    });
  }

  // ── netmap inputs: only the rows that concern one node ───────────────────────────────────────

  async netmapInputs(nodeId: string): Promise<NetmapInputs | undefined> {
    const self = await this.getNode(nodeId);
    if (!self) return undefined;
    const db = this.db;
    let grants: R.GrantRecord[];
    let memberships: R.Membership[] = [];
    if (self.kind === 'engineer') {
      memberships = self.userId
        ? (await db.selectFrom('memberships').selectAll().where('user_id', '=', self.userId).execute()).map(
            (m) => ({ groupId: m.group_id, userId: m.user_id }),
          )
        : [];
      const groupIds = memberships.map((m) => m.groupId);
      grants = (
        await db
          .selectFrom('grants')
          .selectAll()
          .where('revoked_at', 'is', null)
          .where((eb) =>
            eb.or([
              eb.and([eb('subject_type', '=', 'node'), eb('subject_id', '=', self.id)]),
              ...(self.userId
                ? [eb.and([eb('subject_type', '=', 'user'), eb('subject_id', '=', self.userId)])]
                : []),
              ...(groupIds.length
                ? [eb.and([eb('subject_type', '=', 'group'), eb('subject_id', 'in', groupIds)])]
                : []),
            ]),
          )
          .execute()
      ).map(R.toGrant);
    } else {
      grants = self.deploymentId
        ? (
            await db
              .selectFrom('grants')
              .selectAll()
              .where('revoked_at', 'is', null)
              .where('deployment_id', '=', self.deploymentId)
              .execute()
          ).map(R.toGrant)
        : [];
    }
    const deploymentIds = [
      ...new Set([...grants.map((g) => g.deploymentId), ...(self.deploymentId ? [self.deploymentId] : [])]),
    ];
    const deployments = deploymentIds.length
      ? (await db.selectFrom('deployments').selectAll().where('id', 'in', deploymentIds).execute()).map(
          R.toDeployment,
        )
      : [];
    const services = deploymentIds.length
      ? (
          await db.selectFrom('services').selectAll().where('deployment_id', 'in', deploymentIds).execute()
        ).map(R.toService)
      : [];
    let nodes: R.NodeRecord[] = [];
    if (self.kind === 'engineer') {
      if (deploymentIds.length)
        nodes = (
          await db
            .selectFrom('nodes')
            .selectAll()
            .where('kind', '=', 'connector')
            .where('deployment_id', 'in', deploymentIds)
            .execute()
        ).map(R.toNode);
    } else if (grants.length) {
      const nodeIds = grants.filter((g) => g.subjectType === 'node').map((g) => g.subjectId);
      const groupIds = grants.filter((g) => g.subjectType === 'group').map((g) => g.subjectId);
      if (groupIds.length)
        memberships = (
          await db.selectFrom('memberships').selectAll().where('group_id', 'in', groupIds).execute()
        ).map((m) => ({ groupId: m.group_id, userId: m.user_id }));
      const userIds = [
        ...new Set([
          ...grants.filter((g) => g.subjectType === 'user').map((g) => g.subjectId),
          ...memberships.map((m) => m.userId),
        ]),
      ];
      if (nodeIds.length || userIds.length)
        nodes = (
          await db
            .selectFrom('nodes')
            .selectAll()
            .where('kind', '=', 'engineer')
            .where((eb) =>
              eb.or([
                ...(nodeIds.length ? [eb('id', 'in', nodeIds)] : []),
                ...(userIds.length ? [eb('user_id', 'in', userIds)] : []),
              ]),
            )
            .execute()
        ).map(R.toNode);
    }
    const userIds = [
      ...new Set([self.userId, ...nodes.map((x) => x.userId)].filter((x): x is string => !!x)),
    ];
    const users = userIds.length
      ? await db.selectFrom('users').select(['id', 'name']).where('id', 'in', userIds).execute()
      : [];
    return { self, deployments, services, grants, nodes, users, memberships };
  }

  /** Node ids whose netmaps a change to a grant subject can touch (engineer side). */
  async nodeIdsOfSubject(type: R.SubjectType, id: string): Promise<string[]> {
    if (type === 'node') return [id];
    let userIds = [id];
    if (type === 'group')
      userIds = (
        await this.db.selectFrom('memberships').select('user_id').where('group_id', '=', id).execute()
      ).map((m) => m.user_id);
    if (!userIds.length) return [];
    return (await this.db.selectFrom('nodes').select('id').where('user_id', 'in', userIds).execute()).map(
      (r) => r.id,
    );
  }

  async nodeIdsOfKeys(keys: string[]): Promise<string[]> {
    if (!keys.length) return [];
    return (await this.db.selectFrom('nodes').select('id').where('public_key', 'in', keys).execute()).map(
      (r) => r.id,
    );
  }

  async connectorIdsOf(deploymentId: string): Promise<string[]> {
    return (
      await this.db
        .selectFrom('nodes')
        .select('id')
        .where('kind', '=', 'connector')
        .where('deployment_id', '=', deploymentId)
        .execute()
    ).map((r) => r.id);
  }

  async groupGrantDeployments(groupId: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom('grants')
      .select('deployment_id')
      .where('subject_type', '=', 'group')
      .where('subject_id', '=', groupId)
      .where('revoked_at', 'is', null)
      .execute();
    return [...new Set(rows.map((r) => r.deployment_id))];
  }

  /** Row counts of every table (tests: "nothing was written"). */
  async counts(): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const t of [
      'deployments',
      'services',
      'nodes',
      'preauth_keys',
      'users',
      'groups',
      'memberships',
      'grants',
      'api_tokens',
      'device_codes',
      'audit_log',
      'access_policy',
      'access_requests',
      'access_approvals',
      'access_grants',
      'access_extensions',
    ] as const) {
      const r = await this.db
        .selectFrom(t)
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow();
      out[t] = Number(r.n);
    }
    return out;
  }
}
