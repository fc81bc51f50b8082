// Customers and what they switch (migration 0009, docs/customer-portal.md): a customer owns
// deployments, has people (users with its customer_id), a webhook for its notifications, and the
// switches the vendor lets it flip per deployment — require co-approval, no access. Every change
// is audited in the same transaction.
import type { AccessHours } from '../access/index.ts';
import { StoreError } from './errors.ts';
import { newId, secret, sha256Hex } from './base.ts';
import { hashPassword } from './passwords.ts';
import { SessionStore } from './sessions.ts';

export const CUSTOMER_SWITCHES = ['co-approval', 'no-access', 'hours'] as const;
export type CustomerSwitch = (typeof CUSTOMER_SWITCHES)[number];

export interface CustomerRecord {
  name: string;
  deployments: string[];
  webhook: string | null;
  /** The switches the vendor allows this customer to flip. */
  switches: CustomerSwitch[];
  createdAt: number;
}

export interface DeploymentControls {
  deployment: string;
  customer: string | null;
  requireCoApproval: boolean;
  noAccess: boolean;
  /** Requests only inside these hours (UTC); null: any time. */
  hours: AccessHours | null;
  updatedAt: number | null;
  updatedBy: string | null;
}

const switchesOf = (text: string): CustomerSwitch[] => {
  try {
    const v = JSON.parse(text) as unknown;
    return Array.isArray(v) ? CUSTOMER_SWITCHES.filter((s) => v.includes(s)) : [];
  } catch {
    return [];
  }
};

export class CustomerStore extends SessionStore {
  /** A customer owning `deployments` (each owned by one customer at most). */
  createCustomer(
    actor: string,
    c: { name: string; deployments: string[]; webhook?: string | null; switches?: CustomerSwitch[] },
  ): Promise<CustomerRecord> {
    return this.mutate(actor, async (trx, now) => {
      const id = newId();
      const switches = CUSTOMER_SWITCHES.filter((s) => c.switches?.includes(s));
      await trx
        .insertInto('customers')
        .values({
          id,
          name: c.name,
          webhook: c.webhook ?? null,
          switches: JSON.stringify(switches),
          created_at: now,
        })
        .execute();
      for (const name of c.deployments) {
        const d = await trx
          .selectFrom('deployments')
          .select('id')
          .where('name', '=', name)
          .executeTakeFirst();
        if (!d) throw new StoreError('NOT_FOUND', `no deployment ${JSON.stringify(name)}`);
        const owned = await trx
          .selectFrom('customer_deployments')
          .innerJoin('customers', 'customers.id', 'customer_deployments.customer_id')
          .select('customers.name')
          .where('customer_deployments.deployment_id', '=', d.id)
          .executeTakeFirst();
        if (owned) throw new StoreError('CONFLICT', `${name} belongs to customer ${owned.name} already`);
        await trx
          .insertInto('customer_deployments')
          .values({ deployment_id: d.id, customer_id: id })
          .execute();
      }
      return {
        result: {
          name: c.name,
          deployments: [...c.deployments].sort(),
          webhook: c.webhook ?? null,
          switches,
          createdAt: now,
        },
        audit: {
          action: 'customer.create',
          subject: `customer:${c.name}`,
          details: { deployments: c.deployments, switches, webhook: c.webhook ? 'set' : 'none' },
        },
      };
    });
  }

  /** Every customer, or only those with `ids`. */
  async listCustomers(ids?: readonly string[]): Promise<CustomerRecord[]> {
    if (ids && ids.length === 0) return [];
    let q = this.db.selectFrom('customers').selectAll().orderBy('name');
    if (ids) q = q.where('id', 'in', ids);
    const rows = await q.execute();
    let o = this.db
      .selectFrom('customer_deployments')
      .innerJoin('deployments', 'deployments.id', 'customer_deployments.deployment_id')
      .select(['customer_deployments.customer_id as customer', 'deployments.name as name'])
      .orderBy('deployments.name');
    if (ids) o = o.where('customer_deployments.customer_id', 'in', ids);
    const owned = await o.execute();
    return rows.map((r) => ({
      name: r.name,
      deployments: owned.filter((o) => o.customer === r.id).map((o) => o.name),
      webhook: r.webhook,
      switches: switchesOf(r.switches),
      createdAt: Number(r.created_at),
    }));
  }

  /**
   * A one-time invitation for a customer's person: `user` (not taken) will join `groups` when they
   * accept it with a password of their own. Returns the token (shown once; stored hashed).
   */
  inviteCustomerPerson(
    actor: string,
    i: { customer: string; user: string; groups: string[]; ttlMs: number },
  ): Promise<{ token: string; expiresAt: number }> {
    const token = secret('spi_');
    return this.mutate(actor, async (trx, now) => {
      const c = await trx
        .selectFrom('customers')
        .select('id')
        .where('name', '=', i.customer)
        .executeTakeFirst();
      if (!c) throw new StoreError('NOT_FOUND', `no customer ${JSON.stringify(i.customer)}`);
      if (await trx.selectFrom('users').select('id').where('name', '=', i.user).executeTakeFirst())
        throw new StoreError('CONFLICT', `a user named ${JSON.stringify(i.user)} exists already`);
      for (const g of i.groups)
        if (!(await trx.selectFrom('groups').select('id').where('name', '=', g).executeTakeFirst()))
          throw new StoreError('NOT_FOUND', `no group ${JSON.stringify(g)}`);
      await trx
        .insertInto('customer_invites')
        .values({
          token_hash: sha256Hex(token),
          customer_id: c.id,
          user_name: i.user,
          groups: JSON.stringify(i.groups),
          created_at: now,
          expires_at: now + i.ttlMs,
          used_at: null,
        })
        .execute();
      return {
        result: { token, expiresAt: now + i.ttlMs },
        audit: {
          action: 'customer.invite',
          subject: `customer:${i.customer}`,
          details: { user: i.user, groups: i.groups, expiresAt: now + i.ttlMs },
        },
      };
    });
  }

  /** Accepts an invitation: the person is made with their password; AUTH when unknown, used or expired. */
  async acceptCustomerInvite(token: string, password: string): Promise<{ user: string; customer: string }> {
    const hash = await hashPassword(password, this.scrypt, this.kdf);
    return this.mutateAll(async (trx, now) => {
      const inv = await trx
        .selectFrom('customer_invites')
        .innerJoin('customers', 'customers.id', 'customer_invites.customer_id')
        .selectAll('customer_invites')
        .select('customers.name as customer')
        .where('customer_invites.token_hash', '=', sha256Hex(token))
        .executeTakeFirst();
      if (!inv || inv.used_at !== null || Number(inv.expires_at) <= now)
        throw new StoreError('AUTH', 'this invitation is unknown, used or expired: ask for a new one');
      const id = newId();
      await trx
        .insertInto('users')
        .values({
          id,
          name: inv.user_name,
          password_hash: hash,
          is_admin: 0,
          disabled: 0,
          created_at: now,
          idp_subject: null,
          customer_id: inv.customer_id,
        })
        .execute();
      for (const g of JSON.parse(inv.groups) as string[]) {
        const row = await trx.selectFrom('groups').select('id').where('name', '=', g).executeTakeFirst();
        if (row) await trx.insertInto('memberships').values({ group_id: row.id, user_id: id }).execute();
      }
      await trx
        .updateTable('customer_invites')
        .set({ used_at: now })
        .where('token_hash', '=', sha256Hex(token))
        .execute();
      const actor = `user:${inv.user_name}`;
      return {
        result: { user: inv.user_name, customer: inv.customer },
        audit: [
          {
            actor,
            action: 'user.create',
            subject: actor,
            details: { id, admin: false, customer: inv.customer, source: 'invite' },
          },
          {
            actor,
            action: 'customer.invite-accepted',
            subject: `customer:${inv.customer}`,
            details: { user: inv.user_name },
          },
        ],
      };
    });
  }

  /** The customer owning `deployment`, if any. */
  async customerOf(deployment: string): Promise<CustomerRecord | undefined> {
    const row = await this.db
      .selectFrom('customer_deployments')
      .innerJoin('deployments', 'deployments.id', 'customer_deployments.deployment_id')
      .innerJoin('customers', 'customers.id', 'customer_deployments.customer_id')
      .select('customers.id as id')
      .where('deployments.name', '=', deployment)
      .executeTakeFirst();
    return row ? (await this.listCustomers([row.id]))[0] : undefined;
  }

  /** The switches' state for `deployment` (all off when never set). */
  async deploymentControls(deployment: string): Promise<DeploymentControls> {
    const d = await this.db
      .selectFrom('deployments')
      .select('id')
      .where('name', '=', deployment)
      .executeTakeFirst();
    if (!d) throw new StoreError('NOT_FOUND', `no deployment ${JSON.stringify(deployment)}`);
    const c = await this.db
      .selectFrom('deployment_controls')
      .selectAll()
      .where('deployment_id', '=', d.id)
      .executeTakeFirst();
    const customer = await this.customerOf(deployment);
    return {
      deployment,
      customer: customer?.name ?? null,
      requireCoApproval: c?.require_co_approval === 1,
      noAccess: c?.no_access === 1,
      hours: c?.hours ? (JSON.parse(c.hours) as AccessHours) : null,
      updatedAt: c ? Number(c.updated_at) : null,
      updatedBy: c?.updated_by ?? null,
    };
  }

  /** Flips switches of `deployment` (audited `customer.controls` with the old and new values). */
  setDeploymentControls(
    actor: string,
    deployment: string,
    patch: { requireCoApproval?: boolean; noAccess?: boolean; hours?: AccessHours | null },
  ): Promise<DeploymentControls> {
    return this.mutate(actor, async (trx, now) => {
      const d = await trx
        .selectFrom('deployments')
        .select('id')
        .where('name', '=', deployment)
        .executeTakeFirst();
      if (!d) throw new StoreError('NOT_FOUND', `no deployment ${JSON.stringify(deployment)}`);
      const old = await trx
        .selectFrom('deployment_controls')
        .selectAll()
        .where('deployment_id', '=', d.id)
        .executeTakeFirst();
      const row = {
        deployment_id: d.id,
        require_co_approval:
          patch.requireCoApproval === undefined
            ? (old?.require_co_approval ?? 0)
            : patch.requireCoApproval
              ? 1
              : 0,
        no_access: patch.noAccess === undefined ? (old?.no_access ?? 0) : patch.noAccess ? 1 : 0,
        hours:
          patch.hours === undefined ? (old?.hours ?? null) : patch.hours ? JSON.stringify(patch.hours) : null,
        updated_at: now,
        updated_by: actor,
      };
      if (old)
        await trx.updateTable('deployment_controls').set(row).where('deployment_id', '=', d.id).execute();
      else await trx.insertInto('deployment_controls').values(row).execute();
      const owner = await trx
        .selectFrom('customer_deployments')
        .innerJoin('customers', 'customers.id', 'customer_deployments.customer_id')
        .select('customers.name')
        .where('customer_deployments.deployment_id', '=', d.id)
        .executeTakeFirst();
      return {
        result: {
          deployment,
          customer: owner?.name ?? null,
          requireCoApproval: row.require_co_approval === 1,
          noAccess: row.no_access === 1,
          hours: row.hours ? (JSON.parse(row.hours) as AccessHours) : null,
          updatedAt: now,
          updatedBy: actor,
        },
        audit: {
          action: 'customer.controls',
          subject: `deployment:${deployment}`,
          details: {
            requireCoApproval: row.require_co_approval === 1,
            noAccess: row.no_access === 1,
            hours: row.hours ? (JSON.parse(row.hours) as AccessHours) : null,
            before: {
              requireCoApproval: old?.require_co_approval === 1,
              noAccess: old?.no_access === 1,
              hours: old?.hours ? (JSON.parse(old.hours) as AccessHours) : null,
            },
          },
        },
      };
    });
  }
}
