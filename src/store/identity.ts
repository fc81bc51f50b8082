// Users (scrypt passwords, bearer tokens) and groups.
import { StoreError } from './errors.ts';
import * as R from './records.ts';
import { newId, secret, sha256Hex } from './base.ts';
import { hashPassword, verifyNoPassword, verifyPassword } from './passwords.ts';
import { CatalogStore } from './catalog.ts';

export class IdentityStore extends CatalogStore {
  // ── users, tokens ────────────────────────────────────────────────────────────────────────────

  async createUser(
    actor: string,
    u: { name: string; password: string; admin?: boolean; customer?: string },
  ): Promise<R.UserRecord> {
    const hash = await hashPassword(u.password, this.scrypt, this.kdf);
    return this.mutate(actor, async (trx, now) => {
      let customerId: string | null = null;
      if (u.customer !== undefined) {
        const c = await trx
          .selectFrom('customers')
          .select('id')
          .where('name', '=', u.customer)
          .executeTakeFirst();
        if (!c) throw new StoreError('NOT_FOUND', `no customer ${JSON.stringify(u.customer)}`);
        if (u.admin)
          throw new StoreError('CONFLICT', "a customer's person cannot administer the coordinator");
        customerId = c.id;
      }
      const row = {
        id: newId(),
        name: u.name,
        password_hash: hash,
        is_admin: u.admin ? 1 : 0,
        disabled: 0,
        created_at: now,
        idp_subject: null,
        customer_id: customerId,
      };
      await trx.insertInto('users').values(row).execute();
      return {
        result: R.toUser(row),
        audit: {
          action: 'user.create',
          subject: `user:${u.name}`,
          details: { id: row.id, admin: !!u.admin, ...(u.customer ? { customer: u.customer } : {}) },
        },
      };
    });
  }

  async countUsers(): Promise<number> {
    const r = await this.db
      .selectFrom('users')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(r.n);
  }

  async listUsers(): Promise<R.UserRecord[]> {
    return (await this.db.selectFrom('users').selectAll().orderBy('name').execute()).map(R.toUser);
  }

  async getUser(name: string): Promise<R.UserRecord> {
    const row = await this.db.selectFrom('users').selectAll().where('name', '=', name).executeTakeFirst();
    if (!row) throw new StoreError('NOT_FOUND', `no user ${JSON.stringify(name)}`);
    return R.toUser(row);
  }

  setUserDisabled(actor: string, name: string, disabled: boolean): Promise<R.UserRecord> {
    return this.mutate(actor, async (trx, now) => {
      const row = await trx.selectFrom('users').selectAll().where('name', '=', name).executeTakeFirst();
      if (!row) throw new StoreError('NOT_FOUND', `no user ${JSON.stringify(name)}`);
      await trx
        .updateTable('users')
        .set({ disabled: disabled ? 1 : 0 })
        .where('id', '=', row.id)
        .execute();
      if (disabled) {
        await trx.deleteFrom('api_tokens').where('user_id', '=', row.id).execute();
        await trx
          .updateTable('nodes')
          .set({ revoked_at: now })
          .where('user_id', '=', row.id)
          .where('revoked_at', 'is', null)
          .execute();
      }
      return {
        result: { ...R.toUser(row), disabled },
        audit: { action: disabled ? 'user.disable' : 'user.enable', subject: `user:${name}`, details: {} },
      };
    });
  }

  /**
   * Checks a password and issues a bearer token (stored hashed). AUTH on any mismatch. An unknown
   * name costs the same key derivation as a wrong password, so timing does not reveal which users
   * exist.
   */
  async login(
    name: string,
    password: string,
    ttlMs: number,
  ): Promise<{ token: string; user: R.UserRecord; expiresAt: number }> {
    const row = await this.db.selectFrom('users').selectAll().where('name', '=', name).executeTakeFirst();
    const ok = row
      ? await verifyPassword(password, row.password_hash, this.kdf)
      : await verifyNoPassword(password, this.scrypt, this.kdf);
    if (!row || !ok || row.disabled)
      throw new StoreError('AUTH', 'wrong user name or password, or account disabled');
    const token = secret('spt_');
    const user = R.toUser(row);
    const expiresAt = await this.mutate(`user:${name}`, async (trx, now) => {
      await trx
        .insertInto('api_tokens')
        .values({ token_hash: sha256Hex(token), user_id: row.id, created_at: now, expires_at: now + ttlMs })
        .execute();
      return { result: now + ttlMs, audit: { action: 'user.login', subject: `user:${name}`, details: {} } };
    });
    return { token, user, expiresAt };
  }

  /** Ends a bearer token (sign-out); audited. False when the token was unknown already. */
  async logout(token: string): Promise<boolean> {
    const row = await this.db
      .selectFrom('api_tokens')
      .innerJoin('users', 'users.id', 'api_tokens.user_id')
      .select(['users.name as name'])
      .where('api_tokens.token_hash', '=', sha256Hex(token))
      .executeTakeFirst();
    if (!row) return false;
    await this.mutate(`user:${row.name}`, async (trx) => {
      await trx.deleteFrom('api_tokens').where('token_hash', '=', sha256Hex(token)).execute();
      return {
        result: undefined,
        audit: { action: 'user.logout', subject: `user:${row.name}`, details: {} },
      };
    });
    return true;
  }

  /** The user a bearer token belongs to; AUTH when unknown, expired or the user is disabled. */
  async userForToken(token: string): Promise<R.UserRecord> {
    const row = await this.db
      .selectFrom('api_tokens')
      .innerJoin('users', 'users.id', 'api_tokens.user_id')
      .selectAll('users')
      .select('api_tokens.expires_at as token_expires')
      .where('api_tokens.token_hash', '=', sha256Hex(token))
      .executeTakeFirst();
    if (!row || Number(row.token_expires) <= this.now() || row.disabled)
      throw new StoreError('AUTH', 'bearer token unknown or expired');
    return R.toUser(row);
  }

  // ── groups ───────────────────────────────────────────────────────────────────────────────────

  createGroup(actor: string, name: string): Promise<R.GroupRecord> {
    return this.mutate(actor, async (trx, now) => {
      const row = { id: newId(), name, created_at: now };
      await trx.insertInto('groups').values(row).execute();
      return {
        result: { id: row.id, name, createdAt: now, members: [] },
        audit: { action: 'group.create', subject: `group:${name}`, details: { id: row.id } },
      };
    });
  }

  async listGroups(): Promise<R.GroupRecord[]> {
    const groups = await this.db.selectFrom('groups').selectAll().orderBy('name').execute();
    const members = await this.db
      .selectFrom('memberships')
      .innerJoin('users', 'users.id', 'memberships.user_id')
      .select(['memberships.group_id', 'users.name'])
      .orderBy('users.name')
      .execute();
    return groups.map((g) => ({
      id: g.id,
      name: g.name,
      createdAt: Number(g.created_at),
      members: members.filter((m) => m.group_id === g.id).map((m) => m.name),
    }));
  }

  setMembership(actor: string, group: string, user: string, member: boolean): Promise<R.Membership> {
    return this.mutate(actor, async (trx) => {
      const g = await trx.selectFrom('groups').select('id').where('name', '=', group).executeTakeFirst();
      if (!g) throw new StoreError('NOT_FOUND', `no group ${JSON.stringify(group)}`);
      const u = await trx.selectFrom('users').select('id').where('name', '=', user).executeTakeFirst();
      if (!u) throw new StoreError('NOT_FOUND', `no user ${JSON.stringify(user)}`);
      if (member) await trx.insertInto('memberships').values({ group_id: g.id, user_id: u.id }).execute();
      else {
        const r = await trx
          .deleteFrom('memberships')
          .where('group_id', '=', g.id)
          .where('user_id', '=', u.id)
          .executeTakeFirst();
        if (Number(r.numDeletedRows) === 0) throw new StoreError('NOT_FOUND', `${user} is not in ${group}`);
      }
      return {
        result: { groupId: g.id, userId: u.id },
        audit: {
          action: member ? 'group.add-member' : 'group.remove-member',
          subject: `group:${group}`,
          details: { user },
        },
      };
    });
  }

  deleteGroup(actor: string, name: string): Promise<void> {
    return this.mutate(actor, async (trx, now) => {
      const g = await trx.selectFrom('groups').select('id').where('name', '=', name).executeTakeFirst();
      if (!g) throw new StoreError('NOT_FOUND', `no group ${JSON.stringify(name)}`);
      await trx.deleteFrom('memberships').where('group_id', '=', g.id).execute();
      await trx
        .updateTable('grants')
        .set({ revoked_at: now })
        .where('subject_type', '=', 'group')
        .where('subject_id', '=', g.id)
        .where('revoked_at', 'is', null)
        .execute();
      await trx.deleteFrom('groups').where('id', '=', g.id).execute();
      return { result: undefined, audit: { action: 'group.delete', subject: `group:${name}`, details: {} } };
    });
  }
}
