// Pre-auth keys, enrollment of nodes, their liveness facts, and device login.
import { sql } from 'kysely';
import { StoreError } from './errors.ts';
import * as R from './records.ts';
import { randomBytes } from '../crypto/index.ts';
import {
  CONNECTOR_KEY_LIFETIME_MS,
  ENGINEER_KEY_LIFETIME_MS,
  insertNode,
  newId,
  secret,
  sha256Hex,
} from './base.ts';
import { CustomerStore } from './customers.ts';

export class EnrollmentStore extends CustomerStore {
  // ── pre-auth keys and enrollment ────────────────────────────────────────────────────────────

  /** A new pre-auth key bound to a deployment (connectors) or a user (engineers). The secret is returned once. */
  createPreauthKey(
    actor: string,
    k: { deployment?: string; user?: string; reusable: boolean; expiresAt: number },
  ): Promise<{ key: string; record: R.PreauthKeyRecord }> {
    if ((k.deployment === undefined) === (k.user === undefined))
      return Promise.reject(
        new StoreError('INVALID', 'a pre-auth key is bound to exactly one of deployment or user'),
      );
    return this.mutate(actor, async (trx, now) => {
      let deploymentId: string | null = null;
      let userId: string | null = null;
      if (k.deployment !== undefined) {
        const d = await trx
          .selectFrom('deployments')
          .select('id')
          .where('name', '=', k.deployment)
          .executeTakeFirst();
        if (!d) throw new StoreError('NOT_FOUND', `no deployment ${JSON.stringify(k.deployment)}`);
        deploymentId = d.id;
      } else {
        const u = await trx.selectFrom('users').select('id').where('name', '=', k.user!).executeTakeFirst();
        if (!u) throw new StoreError('NOT_FOUND', `no user ${JSON.stringify(k.user)}`);
        userId = u.id;
      }
      if (k.expiresAt <= now) throw new StoreError('INVALID', 'expiry must be in the future');
      const key = secret('sppk_');
      const row = {
        id: newId(),
        key_hash: sha256Hex(key),
        reusable: k.reusable ? 1 : 0,
        expires_at: k.expiresAt,
        deployment_id: deploymentId,
        user_id: userId,
        used_count: 0,
        revoked_at: null,
        created_at: now,
        created_by: actor,
      };
      await trx.insertInto('preauth_keys').values(row).execute();
      return {
        result: { key, record: R.toPreauthKey(row) },
        audit: {
          action: 'preauth-key.create',
          subject: `preauth-key:${row.id}`,
          details: {
            deployment: k.deployment ?? null,
            user: k.user ?? null,
            reusable: k.reusable,
            expiresAt: k.expiresAt,
          },
        },
      };
    });
  }

  async listPreauthKeys(): Promise<R.PreauthKeyRecord[]> {
    return (await this.db.selectFrom('preauth_keys').selectAll().orderBy('created_at').execute()).map(
      R.toPreauthKey,
    );
  }

  revokePreauthKey(actor: string, id: string): Promise<void> {
    return this.mutate(actor, async (trx, now) => {
      const r = await trx
        .updateTable('preauth_keys')
        .set({ revoked_at: now })
        .where('id', '=', id)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) === 0) throw new StoreError('NOT_FOUND', `no active pre-auth key ${id}`);
      return {
        result: undefined,
        audit: { action: 'preauth-key.revoke', subject: `preauth-key:${id}`, details: {} },
      };
    });
  }

  /**
   * Enrolls a node with a pre-auth key, in one transaction with the key's use count and the audit
   * record. A deployment key enrolls a connector there; a user key enrolls an engineer node.
   */
  enrollWithPreauthKey(e: {
    key: string;
    nodeKey: string;
    kind: R.NodeKind;
    name: string;
  }): Promise<R.NodeRecord> {
    return this.mutate(`node:${e.nodeKey}`, async (trx, now) => {
      const k = await trx
        .selectFrom('preauth_keys')
        .selectAll()
        .where('key_hash', '=', sha256Hex(e.key))
        .executeTakeFirst();
      if (!k) throw new StoreError('AUTH', 'unknown pre-auth key');
      if (k.revoked_at !== null) throw new StoreError('REVOKED', 'pre-auth key revoked');
      if (Number(k.expires_at) <= now) throw new StoreError('EXPIRED', 'pre-auth key expired');
      if (!k.reusable && Number(k.used_count) > 0)
        throw new StoreError('EXHAUSTED', 'single-use pre-auth key already used');
      const kind: R.NodeKind = k.deployment_id !== null ? 'connector' : 'engineer';
      if (kind !== e.kind)
        throw new StoreError('INVALID', `this pre-auth key enrolls ${kind} nodes, not ${e.kind} nodes`);
      const upd = await trx
        .updateTable('preauth_keys')
        .set({ used_count: sql`used_count + 1` })
        .where('id', '=', k.id)
        .where((eb) => (k.reusable ? eb.lit(true) : eb('used_count', '=', 0)))
        .executeTakeFirst();
      if (Number(upd.numUpdatedRows) === 0)
        throw new StoreError('EXHAUSTED', 'single-use pre-auth key already used');
      const life = kind === 'connector' ? CONNECTOR_KEY_LIFETIME_MS : ENGINEER_KEY_LIFETIME_MS;
      const row = await insertNode(trx, now, {
        public_key: e.nodeKey,
        kind,
        name: e.name,
        deployment_id: k.deployment_id,
        user_id: k.user_id,
        expires_at: now + life,
      });
      return {
        result: R.toNode(row),
        audit: {
          action: 'node.enroll',
          subject: `node:${e.nodeKey}`,
          details: {
            id: row.id,
            kind,
            name: e.name,
            preauthKey: k.id,
            deploymentId: k.deployment_id,
            userId: k.user_id,
          },
        },
      };
    });
  }

  async getNodeByKey(publicKey: string): Promise<R.NodeRecord | undefined> {
    const row = await this.db
      .selectFrom('nodes')
      .selectAll()
      .where('public_key', '=', publicKey)
      .executeTakeFirst();
    return row && R.toNode(row);
  }

  async getNode(id: string): Promise<R.NodeRecord | undefined> {
    const row = await this.db.selectFrom('nodes').selectAll().where('id', '=', id).executeTakeFirst();
    return row && R.toNode(row);
  }

  async listNodes(): Promise<R.NodeRecord[]> {
    return (await this.db.selectFrom('nodes').selectAll().orderBy('created_at').execute()).map(R.toNode);
  }

  revokeNode(actor: string, publicKey: string): Promise<R.NodeRecord> {
    return this.mutate(actor, async (trx, now) => {
      const row = await trx
        .selectFrom('nodes')
        .selectAll()
        .where('public_key', '=', publicKey)
        .executeTakeFirst();
      if (!row || row.revoked_at !== null) throw new StoreError('NOT_FOUND', 'no active node with that key');
      await trx.updateTable('nodes').set({ revoked_at: now }).where('id', '=', row.id).execute();
      return {
        result: R.toNode({ ...row, revoked_at: now }),
        audit: { action: 'node.revoke', subject: `node:${publicKey}`, details: { id: row.id } },
      };
    });
  }

  /**
   * Keys of nodes that lost access within the last `windowMs` (revoked, expired, or their user
   * disabled): the relays' revocation list. A node gone longer ago holds no valid relay token.
   */
  async lostAccessNodeKeys(windowMs: number): Promise<string[]> {
    const now = this.now();
    const since = now - windowMs;
    const rows = await this.db
      .selectFrom('nodes')
      .leftJoin('users', 'users.id', 'nodes.user_id')
      .select('nodes.public_key')
      .where((eb) =>
        eb.or([
          eb('nodes.revoked_at', '>', since),
          eb.and([eb('nodes.expires_at', '<=', now), eb('nodes.expires_at', '>', since)]),
          eb.and([eb('users.disabled', '=', 1), eb('nodes.expires_at', '>', since)]),
        ]),
      )
      .orderBy('nodes.public_key')
      .execute();
    return rows.map((r) => r.public_key);
  }

  /** Liveness and path facts an agent reports: not security state, so not audited. */
  async touchNode(id: string, f: { endpoints?: string[]; homeRelay?: string | null }): Promise<void> {
    await this.db
      .updateTable('nodes')
      .set({
        last_seen_at: this.now(),
        ...(f.endpoints ? { endpoints: JSON.stringify(f.endpoints) } : {}),
        ...(f.homeRelay !== undefined ? { home_relay: f.homeRelay } : {}),
      })
      .where('id', '=', id)
      .execute();
  }

  /**
   * A connector registers the services it serves (replacing its earlier registrations). A service
   * of the deployment that another connector holds is refused (not rebound) while that connector's
   * key is live; it is free once that key is revoked or expired, or when an administrator binds it
   * elsewhere (bindService). Each refusal is audited as service.takeover_refused.
   */
  registerServices(
    node: R.NodeRecord,
    services: {
      name: string;
      kind: R.ServiceKind;
      address: string;
      tlsMode?: R.TlsMode;
      labels?: Record<string, string>;
    }[],
  ): Promise<{ registered: R.ServiceRecord[]; refused: { name: string; holder: string }[] }> {
    if (node.kind !== 'connector' || !node.deploymentId)
      return Promise.reject(new StoreError('INVALID', 'only connectors register services'));
    const actor = `node:${node.publicKey}`;
    return this.mutateAll(async (trx, now) => {
      const registered: R.ServiceRecord[] = [];
      const refused: { name: string; holder: string; subject: string }[] = [];
      const keep = services.map((s) => s.name);
      let q = trx.updateTable('services').set({ connector_id: null }).where('connector_id', '=', node.id);
      if (keep.length) q = q.where('name', 'not in', keep);
      await q.execute();
      const dep = await trx
        .selectFrom('deployments')
        .select('name')
        .where('id', '=', node.deploymentId!)
        .executeTakeFirstOrThrow();
      for (const s of services) {
        const old = await trx
          .selectFrom('services')
          .selectAll()
          .where('deployment_id', '=', node.deploymentId!)
          .where('name', '=', s.name)
          .executeTakeFirst();
        if (old && old.connector_id !== null && old.connector_id !== node.id) {
          const holder = await trx
            .selectFrom('nodes')
            .select(['public_key', 'revoked_at', 'expires_at'])
            .where('id', '=', old.connector_id)
            .executeTakeFirst();
          if (holder && holder.revoked_at === null && Number(holder.expires_at) > now) {
            refused.push({
              name: s.name,
              holder: holder.public_key,
              subject: `service:${dep.name}/${s.name}`,
            });
            continue;
          }
        }
        const row = {
          id: old?.id ?? newId(),
          deployment_id: node.deploymentId!,
          name: s.name,
          kind: s.kind,
          address: s.address,
          tls_mode: R.storedTlsMode(s.kind, s.tlsMode, old?.tls_mode),
          labels: JSON.stringify(s.labels ?? (old ? JSON.parse(old.labels) : {})),
          connector_id: node.id,
          created_at: old?.created_at ?? now,
        };
        if (old) await trx.updateTable('services').set(row).where('id', '=', old.id).execute();
        else await trx.insertInto('services').values(row).execute();
        registered.push(R.toService(row));
      }
      const ok = services.filter((s) => !refused.some((r) => r.name === s.name));
      return {
        result: { registered, refused: refused.map(({ name, holder }) => ({ name, holder })) },
        audit: [
          {
            actor,
            action: 'service.register',
            subject: actor,
            details: { services: ok.map((s) => ({ name: s.name, kind: s.kind, address: s.address })) },
          },
          ...refused.map((r) => ({
            actor,
            action: 'service.takeover_refused',
            subject: r.subject,
            details: { holder: r.holder, address: services.find((s) => s.name === r.name)!.address },
          })),
        ],
      };
    });
  }

  /**
   * An administrator binds a service to a live connector of its deployment (by node key), or
   * releases it (null) so that the next connector to register it gets it. Audited service.bind.
   */
  bindService(
    actor: string,
    b: { deployment: string; name: string; connectorKey: string | null },
  ): Promise<R.ServiceRecord> {
    return this.mutate(actor, async (trx, now) => {
      const d = await trx
        .selectFrom('deployments')
        .select('id')
        .where('name', '=', b.deployment)
        .executeTakeFirst();
      const svc = d
        ? await trx
            .selectFrom('services')
            .selectAll()
            .where('deployment_id', '=', d.id)
            .where('name', '=', b.name)
            .executeTakeFirst()
        : undefined;
      if (!d || !svc) throw new StoreError('NOT_FOUND', `no service ${b.deployment}/${b.name}`);
      let to: { id: string; public_key: string } | undefined;
      if (b.connectorKey !== null) {
        to = await trx
          .selectFrom('nodes')
          .select(['id', 'public_key'])
          .where('public_key', '=', b.connectorKey)
          .where('kind', '=', 'connector')
          .where('deployment_id', '=', d.id)
          .where('revoked_at', 'is', null)
          .where('expires_at', '>', now)
          .executeTakeFirst();
        if (!to) throw new StoreError('NOT_FOUND', `no live connector of ${b.deployment} with that key`);
      }
      const from =
        svc.connector_id === null
          ? undefined
          : await trx
              .selectFrom('nodes')
              .select('public_key')
              .where('id', '=', svc.connector_id)
              .executeTakeFirst();
      await trx
        .updateTable('services')
        .set({ connector_id: to?.id ?? null })
        .where('id', '=', svc.id)
        .execute();
      return {
        result: R.toService({ ...svc, connector_id: to?.id ?? null }),
        audit: {
          action: 'service.bind',
          subject: `service:${b.deployment}/${b.name}`,
          details: { from: from?.public_key ?? null, to: to?.public_key ?? null },
        },
      };
    });
  }

  // ── device login ─────────────────────────────────────────────────────────────────────────────

  async startDeviceLogin(d: {
    nodeKey: string;
    name: string;
    ttlMs: number;
    /** Most pending codes at once (default 1000). */
    maxPending?: number;
  }): Promise<{ deviceCode: string; userCode: string; expiresAt: number }> {
    const deviceCode = secret('spdc_');
    const alphabet = 'BCDFGHJKLMNPQRSTVWXZ';
    const rnd = randomBytes(8);
    let userCode = '';
    for (let i = 0; i < 8; i++) userCode += (i === 4 ? '-' : '') + alphabet[rnd[i] % alphabet.length];
    const now = this.now();
    // Unauthenticated callers create these rows: drop expired ones and cap the pending ones.
    await this.db
      .deleteFrom('device_codes')
      .where('expires_at', '<=', now)
      .where('status', '=', 'pending')
      .execute();
    const pending = await this.db
      .selectFrom('device_codes')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('status', '=', 'pending')
      .executeTakeFirstOrThrow();
    if (Number(pending.n) >= (d.maxPending ?? 1000))
      throw new StoreError('BUSY', 'too many pending device logins; try again later', { retryable: true });
    await this.db
      .insertInto('device_codes')
      .values({
        device_code_hash: sha256Hex(deviceCode),
        user_code: userCode,
        node_key: d.nodeKey,
        name: d.name,
        created_at: now,
        expires_at: now + d.ttlMs,
        status: 'pending',
        approved_by: null,
        node_id: null,
      })
      .execute();
    return { deviceCode, userCode, expiresAt: now + d.ttlMs };
  }

  /** The signed-in user approves a code: the engineer node is enrolled for that user. */
  approveDeviceLogin(user: R.UserRecord, userCode: string): Promise<R.NodeRecord> {
    return this.mutate(`user:${user.name}`, async (trx, now) => {
      const dc = await trx
        .selectFrom('device_codes')
        .selectAll()
        .where('user_code', '=', userCode.toUpperCase())
        .executeTakeFirst();
      if (!dc || dc.status !== 'pending')
        throw new StoreError('NOT_FOUND', 'no pending device login with that code');
      if (Number(dc.expires_at) <= now) throw new StoreError('EXPIRED', 'device login code expired');
      const existing = await trx
        .selectFrom('nodes')
        .selectAll()
        .where('public_key', '=', dc.node_key)
        .executeTakeFirst();
      let row;
      if (existing) {
        if (existing.user_id !== user.id || existing.revoked_at !== null)
          throw new StoreError('CONFLICT', 'node key belongs to another node');
        row = { ...existing, expires_at: now + ENGINEER_KEY_LIFETIME_MS };
        await trx
          .updateTable('nodes')
          .set({ expires_at: row.expires_at })
          .where('id', '=', existing.id)
          .execute();
      } else {
        row = await insertNode(trx, now, {
          public_key: dc.node_key,
          kind: 'engineer',
          name: dc.name,
          deployment_id: null,
          user_id: user.id,
          expires_at: now + ENGINEER_KEY_LIFETIME_MS,
        });
      }
      await trx
        .updateTable('device_codes')
        .set({ status: 'approved', approved_by: user.id, node_id: row.id })
        .where('device_code_hash', '=', dc.device_code_hash)
        .execute();
      return {
        result: R.toNode(row),
        audit: {
          action: 'node.enroll',
          subject: `node:${dc.node_key}`,
          details: { id: row.id, kind: 'engineer', name: dc.name, deviceLogin: true, userId: user.id },
        },
      };
    });
  }

  /** pending | approved (with the node) | expired; NOT_FOUND for an unknown code. */
  async pollDeviceLogin(
    deviceCode: string,
  ): Promise<{ status: 'pending' | 'approved' | 'expired'; node?: R.NodeRecord }> {
    const dc = await this.db
      .selectFrom('device_codes')
      .selectAll()
      .where('device_code_hash', '=', sha256Hex(deviceCode))
      .executeTakeFirst();
    if (!dc) throw new StoreError('NOT_FOUND', 'unknown device code');
    if (dc.status === 'approved' && dc.node_id)
      return { status: 'approved', node: await this.getNode(dc.node_id) };
    if (Number(dc.expires_at) <= this.now()) return { status: 'expired' };
    return { status: 'pending' };
  }
}
