// Sessions signed in through the company's identity provider (OIDC), beside the password sessions
// of IdentityStore: the user a provider identity maps to, its groups kept equal to what the
// provider says, and the per-token facts the coordinator checks (how and when the person signed
// in, when the provider last confirmed them). docs/sso.md.
//
//   ssoSignIn     provider identity → user (made on first sign-in) + bearer token, groups synced
//   tokenSession  bearer token → user + how/when it was signed in (AUTH when unknown or expired)
//   ssoRefreshed  the provider confirmed the person again: groups synced, checked_at now
//   ssoEnded      the provider refused the person: every provider session of the user ends
import type { Transaction } from 'kysely';
import type { AuditEntry } from './audit.ts';
import { StoreError } from './errors.ts';
import * as R from './records.ts';
import { newId, secret, sha256Hex } from './base.ts';
import { IdentityStore } from './identity.ts';
import type { Database } from './schema.ts';

/** What the identity provider says of a person, already mapped to sallyport's names. */
export interface SsoIdentity {
  /** The provider's issuer and subject, `ISSUER#SUB`: stable across renames at the provider. */
  subject: string;
  /** The sallyport user name (made on first sign-in; kept after that). */
  name: string;
  /** sallyport groups the person is in (only existing groups count; the rest are left out). */
  groups: readonly string[];
  admin: boolean;
}

export type SessionMethod = 'password' | 'oidc';

export interface TokenSession {
  user: R.UserRecord;
  method: SessionMethod;
  /** When the person last authenticated (ms). */
  authTime: number;
  /** When the provider last confirmed the person (password sessions: the sign-in). */
  checkedAt: number;
  expiresAt: number;
  /** The provider's refresh token (`oidc`), else null. */
  idpRefresh: string | null;
  /** The user's provider subject (`ISSUER#SUB`), else null. */
  idpSubject: string | null;
  /** A customer's person (scoped to its deployments), not the vendor's. */
  customer: boolean;
}

type Trx = Transaction<Database>;

export class SessionStore extends IdentityStore {
  /**
   * Signs in a provider identity: finds its user by subject or makes one named `id.name` (CONFLICT
   * when a local user has that name: a provider never takes over a local account, such as a
   * break-glass administrator), syncs its groups and admin flag, and issues a bearer token.
   * AUTH when the user was disabled in sallyport.
   */
  async ssoSignIn(
    id: SsoIdentity,
    s: { authTime: number; idpRefresh: string | null; ttlMs: number },
  ): Promise<{
    token: string;
    user: R.UserRecord;
    expiresAt: number;
    groups: string[];
    changed: R.Membership[];
  }> {
    const token = secret('spt_');
    return this.mutateAll(async (trx, now) => {
      const audit: AuditEntry[] = [];
      let row = await trx
        .selectFrom('users')
        .selectAll()
        .where('idp_subject', '=', id.subject)
        .executeTakeFirst();
      if (!row) {
        const clash = await trx
          .selectFrom('users')
          .select('id')
          .where('name', '=', id.name)
          .executeTakeFirst();
        if (clash)
          throw new StoreError(
            'CONFLICT',
            `a user named ${JSON.stringify(id.name)} exists already and was not made by this identity provider: ` +
              'rename or remove it, or map the provider to another name (--oidc-username-claim)',
          );
        row = {
          id: newId(),
          name: id.name,
          password_hash: 'sso',
          is_admin: 0,
          disabled: 0,
          created_at: now,
          idp_subject: id.subject,
          customer_id: null,
        };
        await trx.insertInto('users').values(row).execute();
        audit.push({
          actor: `user:${id.name}`,
          action: 'user.create',
          subject: `user:${id.name}`,
          details: { id: row.id, admin: false, source: 'oidc', idpSubject: id.subject },
        });
      }
      if (row.disabled) throw new StoreError('AUTH', 'this account is disabled in sallyport');
      const { groups, changed } = await this.#sync(trx, row, id, audit);
      await trx
        .insertInto('api_tokens')
        .values({
          token_hash: sha256Hex(token),
          user_id: row.id,
          created_at: now,
          expires_at: now + s.ttlMs,
          method: 'oidc',
          auth_time: Math.min(s.authTime, now),
          checked_at: now,
          idp_refresh: s.idpRefresh,
        })
        .execute();
      audit.push({
        actor: `user:${row.name}`,
        action: 'user.login',
        subject: `user:${row.name}`,
        details: { method: 'oidc' },
      });
      return {
        result: {
          token,
          user: R.toUser({ ...row, is_admin: id.admin ? 1 : 0 }),
          expiresAt: now + s.ttlMs,
          groups,
          changed,
        },
        audit,
      };
    });
  }

  /** The session a bearer token is; AUTH when unknown, expired or the user is disabled. */
  async tokenSession(token: string): Promise<TokenSession> {
    const row = await this.db
      .selectFrom('api_tokens')
      .innerJoin('users', 'users.id', 'api_tokens.user_id')
      .selectAll('users')
      .select([
        'api_tokens.expires_at as token_expires',
        'api_tokens.created_at as token_created',
        'api_tokens.method as method',
        'api_tokens.auth_time as auth_time',
        'api_tokens.checked_at as checked_at',
        'api_tokens.idp_refresh as idp_refresh',
      ])
      .where('api_tokens.token_hash', '=', sha256Hex(token))
      .executeTakeFirst();
    if (!row || Number(row.token_expires) <= this.now() || row.disabled)
      throw new StoreError('AUTH', 'bearer token unknown or expired');
    const created = Number(row.token_created);
    return {
      user: R.toUser(row),
      method: row.method === 'oidc' ? 'oidc' : 'password',
      authTime: row.auth_time === null ? created : Number(row.auth_time),
      checkedAt: row.checked_at === null ? created : Number(row.checked_at),
      expiresAt: Number(row.token_expires),
      idpRefresh: row.idp_refresh,
      idpSubject: row.idp_subject,
      customer: row.customer_id !== null,
    };
  }

  /**
   * The provider confirmed the person behind `token` again (a refresh): their groups and admin
   * flag follow what it says now, the token is marked checked, and the provider's new refresh
   * token (if it rotated) replaces the old. Group changes are audited; a quiet check is not.
   */
  async ssoRefreshed(
    token: string,
    id: SsoIdentity,
    idpRefresh: string | null,
  ): Promise<{ user: R.UserRecord; changed: R.Membership[] }> {
    return this.mutateAll(async (trx, now) => {
      const audit: AuditEntry[] = [];
      const t = await trx
        .selectFrom('api_tokens')
        .select(['user_id'])
        .where('token_hash', '=', sha256Hex(token))
        .executeTakeFirst();
      if (!t) throw new StoreError('AUTH', 'bearer token unknown or expired');
      const row = await trx
        .selectFrom('users')
        .selectAll()
        .where('id', '=', t.user_id)
        .executeTakeFirstOrThrow();
      if (row.idp_subject !== id.subject)
        throw new StoreError('AUTH', 'the identity provider answered for another person');
      const { changed } = await this.#sync(trx, row, id, audit);
      await trx
        .updateTable('api_tokens')
        .set({ checked_at: now, ...(idpRefresh ? { idp_refresh: idpRefresh } : {}) })
        .where('token_hash', '=', sha256Hex(token))
        .execute();
      return { result: { user: R.toUser({ ...row, is_admin: id.admin ? 1 : 0 }), changed }, audit };
    });
  }

  /**
   * A new token for a provider session the provider just confirmed (the CLI's profile refresh):
   * same person, same authentication time, groups synced, the old token ended. AUTH when `token`
   * is not a live provider session.
   */
  async ssoRotate(
    token: string,
    id: SsoIdentity,
    idpRefresh: string | null,
    ttlMs: number,
  ): Promise<{ token: string; expiresAt: number; user: R.UserRecord; changed: R.Membership[] }> {
    const fresh = secret('spt_');
    return this.mutateAll(async (trx, now) => {
      const audit: AuditEntry[] = [];
      const t = await trx
        .selectFrom('api_tokens')
        .selectAll()
        .where('token_hash', '=', sha256Hex(token))
        .executeTakeFirst();
      if (!t || t.method !== 'oidc' || Number(t.expires_at) <= now)
        throw new StoreError('AUTH', 'not a live session signed in through the identity provider');
      const row = await trx
        .selectFrom('users')
        .selectAll()
        .where('id', '=', t.user_id)
        .executeTakeFirstOrThrow();
      if (row.disabled || row.idp_subject !== id.subject)
        throw new StoreError(
          'AUTH',
          'the identity provider answered for another person, or the account is disabled',
        );
      const { changed } = await this.#sync(trx, row, id, audit);
      await trx
        .insertInto('api_tokens')
        .values({
          token_hash: sha256Hex(fresh),
          user_id: row.id,
          created_at: now,
          expires_at: now + ttlMs,
          method: 'oidc',
          auth_time: t.auth_time ?? Number(t.created_at),
          checked_at: now,
          idp_refresh: idpRefresh ?? t.idp_refresh,
        })
        .execute();
      await trx.deleteFrom('api_tokens').where('token_hash', '=', sha256Hex(token)).execute();
      audit.push({
        actor: `user:${row.name}`,
        action: 'user.session-refresh',
        subject: `user:${row.name}`,
        details: { method: 'oidc' },
      });
      return {
        result: {
          token: fresh,
          expiresAt: now + ttlMs,
          user: R.toUser({ ...row, is_admin: id.admin ? 1 : 0 }),
          changed,
        },
        audit,
      };
    });
  }

  /**
   * The provider refused to confirm the person behind `token` (disabled or removed there, or
   * their grant revoked): every provider-signed session of that user ends now. Audited with the
   * provider's reason. False when the token was gone already.
   */
  async ssoEnded(token: string, reason: string): Promise<boolean> {
    const row = await this.db
      .selectFrom('api_tokens')
      .innerJoin('users', 'users.id', 'api_tokens.user_id')
      .select(['users.id as id', 'users.name as name'])
      .where('api_tokens.token_hash', '=', sha256Hex(token))
      .executeTakeFirst();
    if (!row) return false;
    await this.mutate(`user:${row.name}`, async (trx) => {
      const r = await trx
        .deleteFrom('api_tokens')
        .where('user_id', '=', row.id)
        .where('method', '=', 'oidc')
        .executeTakeFirst();
      return {
        result: undefined,
        audit: {
          action: 'user.sso-ended',
          subject: `user:${row.name}`,
          details: { reason: reason.slice(0, 200), sessions: Number(r.numDeletedRows) },
        },
      };
    });
    return true;
  }

  /** Makes the user's memberships and admin flag what `id` says; audit entries for each change. */
  async #sync(
    trx: Trx,
    row: { id: string; name: string; is_admin: number },
    id: SsoIdentity,
    audit: AuditEntry[],
  ): Promise<{ groups: string[]; changed: R.Membership[] }> {
    const changed: R.Membership[] = [];
    const want = new Set(id.groups);
    const all = await trx.selectFrom('groups').select(['id', 'name']).execute();
    const have = new Set(
      (await trx.selectFrom('memberships').select('group_id').where('user_id', '=', row.id).execute()).map(
        (m) => m.group_id,
      ),
    );
    const entry = (action: string, group: string): AuditEntry => ({
      actor: `user:${row.name}`,
      action,
      subject: `group:${group}`,
      details: { user: row.name, source: 'oidc' },
    });
    for (const g of all) {
      if (want.has(g.name) && !have.has(g.id)) {
        await trx.insertInto('memberships').values({ group_id: g.id, user_id: row.id }).execute();
        audit.push(entry('group.add-member', g.name));
        changed.push({ groupId: g.id, userId: row.id });
      } else if (!want.has(g.name) && have.has(g.id)) {
        await trx
          .deleteFrom('memberships')
          .where('group_id', '=', g.id)
          .where('user_id', '=', row.id)
          .execute();
        audit.push(entry('group.remove-member', g.name));
        changed.push({ groupId: g.id, userId: row.id });
      }
    }
    const admin = id.admin ? 1 : 0;
    if (row.is_admin !== admin) {
      await trx.updateTable('users').set({ is_admin: admin }).where('id', '=', row.id).execute();
      audit.push({
        actor: `user:${row.name}`,
        action: admin ? 'user.admin-granted' : 'user.admin-removed',
        subject: `user:${row.name}`,
        details: { source: 'oidc' },
      });
    }
    const groups = all
      .filter((g) => want.has(g.name))
      .map((g) => g.name)
      .sort();
    return { groups, changed };
  }
}
