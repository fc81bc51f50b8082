// The one migration set, for SQLite and PostgreSQL alike. Only column types the two share are used:
// text, integer and bigint (SQLite maps bigint to INTEGER affinity). Migrations are append-only:
// never edit a released one, add the next.
import { sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';

/** Deployments, users, nodes and services. */
async function t0001Catalog(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('deployments')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('region', 'text', (c) => c.notNull())
    .addColumn('cloud', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('users')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('password_hash', 'text', (c) => c.notNull())
    .addColumn('is_admin', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('disabled', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('nodes')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('public_key', 'text', (c) => c.notNull().unique())
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('connector', 'engineer')`))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('deployment_id', 'text', (c) => c.references('deployments.id'))
    .addColumn('user_id', 'text', (c) => c.references('users.id'))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('last_seen_at', 'bigint')
    .addColumn('endpoints', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('home_relay', 'text')
    .addColumn('revoked_at', 'bigint')
    .execute();
  await db.schema.createIndex('nodes_deployment').on('nodes').column('deployment_id').execute();
  await db.schema.createIndex('nodes_user').on('nodes').column('user_id').execute();
  await db.schema
    .createTable('services')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('deployment_id', 'text', (c) => c.notNull().references('deployments.id'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) =>
      c.notNull().check(sql`kind in ('kubernetes', 'clickhouse', 'prometheus', 'http', 'tcp')`),
    )
    .addColumn('address', 'text', (c) => c.notNull())
    .addColumn('tls_mode', 'text', (c) => c.notNull().check(sql`tls_mode in ('terminate', 'passthrough')`))
    .addColumn('labels', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('connector_id', 'text', (c) => c.references('nodes.id'))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addUniqueConstraint('services_deployment_name', ['deployment_id', 'name'])
    .execute();
}

/** Pre-auth keys, groups, memberships and grants. */
async function t0001Access(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('preauth_keys')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('key_hash', 'text', (c) => c.notNull().unique())
    .addColumn('reusable', 'integer', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('deployment_id', 'text', (c) => c.references('deployments.id'))
    .addColumn('user_id', 'text', (c) => c.references('users.id'))
    .addColumn('used_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('revoked_at', 'bigint')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addCheckConstraint('preauth_keys_bound', sql`(deployment_id is null) <> (user_id is null)`)
    .execute();
  await db.schema
    .createTable('groups')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('memberships')
    .addColumn('group_id', 'text', (c) => c.notNull().references('groups.id'))
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
    .addPrimaryKeyConstraint('memberships_pk', ['group_id', 'user_id'])
    .execute();
  await db.schema.createIndex('memberships_user').on('memberships').column('user_id').execute();
  await db.schema
    .createTable('grants')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('subject_type', 'text', (c) =>
      c.notNull().check(sql`subject_type in ('user', 'group', 'node')`),
    )
    .addColumn('subject_id', 'text', (c) => c.notNull())
    .addColumn('deployment_id', 'text', (c) => c.notNull().references('deployments.id'))
    .addColumn('services', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('not_before', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint')
    .addColumn('revoked_at', 'bigint')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('grants_deployment').on('grants').column('deployment_id').execute();
  await db.schema
    .createIndex('grants_subject')
    .on('grants')
    .columns(['subject_type', 'subject_id'])
    .execute();
}

/** API tokens and device codes. */
async function t0001Sessions(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('api_tokens')
    .addColumn('token_hash', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('device_codes')
    .addColumn('device_code_hash', 'text', (c) => c.primaryKey())
    .addColumn('user_code', 'text', (c) => c.notNull().unique())
    .addColumn('node_key', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('approved_by', 'text')
    .addColumn('node_id', 'text')
    .execute();
}

/** The audit chain and its head. */
async function t0001Audit(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('audit_log')
    .addColumn('seq', 'bigint', (c) => c.primaryKey())
    .addColumn('time', 'bigint', (c) => c.notNull())
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('details', 'text', (c) => c.notNull())
    .addColumn('prev_hash', 'text', (c) => c.notNull())
    .addColumn('hash', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('audit_head')
    .addColumn('id', 'integer', (c) => c.primaryKey())
    .addColumn('seq', 'bigint', (c) => c.notNull())
    .addColumn('hash', 'text', (c) => c.notNull())
    .execute();
  await sql`insert into audit_head (id, seq, hash) values (1, 0, ${'0'.repeat(64)})`.execute(db);
}

/** The first schema (written in four parts for reading: the released statements, in their order). */
const t0001: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await t0001Catalog(db);
    await t0001Access(db);
    await t0001Sessions(db);
    await t0001Audit(db);
  },
};

/** Signed checkpoints of the audit chain head (src/audit/checkpoint.ts), one per (seq, key). */
const t0002: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('audit_checkpoints')
      .addColumn('seq', 'bigint', (c) => c.notNull())
      .addColumn('key_id', 'text', (c) => c.notNull())
      .addColumn('hash', 'text', (c) => c.notNull())
      .addColumn('time', 'bigint', (c) => c.notNull())
      .addColumn('signature', 'text', (c) => c.notNull())
      .addColumn('public_key', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('audit_checkpoints_pk', ['seq', 'key_id'])
      .execute();
  },
};

/**
 * Just-in-time access (src/access): the policy document, requests, their approvals, extension
 * requests, and the access state of request-derived grants. A request's approved grant is ALSO a
 * row of `grants` (subject = the requester's user, expires_at = its end), so the netmap and the
 * agent channel see it like any grant. Each state row carries the pure state as JSON plus the
 * columns queries need, and a `version` bumped by every write (optimistic concurrency: a write that
 * finds another version retries, so two approvals at once create one grant).
 */
const t0003: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('access_policy')
      .addColumn('id', 'integer', (c) => c.primaryKey())
      .addColumn('version', 'integer', (c) => c.notNull())
      .addColumn('document', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_by', 'text', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('access_requests')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('grant_id', 'text', (c) => c.notNull().unique())
      .addColumn('requester', 'text', (c) => c.notNull())
      .addColumn('deployment', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('pending_until', 'bigint', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('version', 'integer', (c) => c.notNull())
      .addColumn('state', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('access_requests_status').on('access_requests').column('status').execute();
    await db.schema
      .createTable('access_approvals')
      .addColumn('subject', 'text', (c) => c.notNull())
      .addColumn('approver', 'text', (c) => c.notNull())
      .addColumn('roles', 'text', (c) => c.notNull())
      .addColumn('at', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('access_approvals_pk', ['subject', 'approver'])
      .execute();
    await db.schema
      .createTable('access_grants')
      .addColumn('id', 'text', (c) => c.primaryKey().references('grants.id'))
      .addColumn('request_id', 'text', (c) => c.notNull().unique().references('access_requests.id'))
      .addColumn('subject', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('end_at', 'bigint', (c) => c.notNull())
      .addColumn('version', 'integer', (c) => c.notNull())
      .addColumn('state', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('access_grants_status').on('access_grants').column('status').execute();
    await db.schema
      .createTable('access_extensions')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('grant_id', 'text', (c) => c.notNull().references('access_grants.id'))
      .addColumn('requester', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('pending_until', 'bigint', (c) => c.notNull())
      .addColumn('version', 'integer', (c) => c.notNull())
      .addColumn('state', 'text', (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex('access_extensions_status')
      .on('access_extensions')
      .column('status')
      .execute();
  },
};

/**
 * Each grant's access level (src/access/policy.ts ACCESS_LEVELS), which the netmap carries to the
 * connector and its targets enforce. Grants made before it become read-only (the safest level);
 * a request-derived grant takes the level its request was approved at (access_grants.state).
 */
const t0004: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .alterTable('grants')
      .addColumn('access', 'text', (c) =>
        c
          .notNull()
          .defaultTo('read-only')
          .check(sql`access in ('read-only', 'read-write', 'admin')`),
      )
      .execute();
    const rows = await sql<{ id: string; state: string }>`select id, state from access_grants`.execute(db);
    for (const r of rows.rows) {
      let level: unknown;
      try {
        level = (JSON.parse(r.state) as { access?: unknown }).access;
      } catch {
        continue;
      }
      if (level === 'read-write' || level === 'admin')
        await sql`update grants set access = ${level} where id = ${r.id}`.execute(db);
    }
  },
};

/**
 * Alerts (DESIGN.md §7): receiver tokens for Alertmanager's webhook (stored hashed; bound to one
 * deployment or global), and incidents, one per firing episode of an alert (its fingerprint and
 * startsAt), open until Alertmanager reports it resolved. `deployment_id` is null for alerts whose
 * `deployment` label names no known deployment (the global bucket); the label itself is kept.
 */
const t0005: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('alert_tokens')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull().unique())
      .addColumn('token_hash', 'text', (c) => c.notNull().unique())
      .addColumn('deployment_id', 'text', (c) => c.references('deployments.id'))
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('created_by', 'text', (c) => c.notNull())
      .addColumn('revoked_at', 'bigint')
      .execute();
    await db.schema
      .createTable('incidents')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('fingerprint', 'text', (c) => c.notNull())
      .addColumn('starts_at', 'text', (c) => c.notNull())
      .addColumn('deployment_id', 'text', (c) => c.references('deployments.id'))
      .addColumn('deployment_label', 'text')
      .addColumn('alertname', 'text', (c) => c.notNull())
      .addColumn('severity', 'text', (c) => c.notNull())
      .addColumn('summary', 'text', (c) => c.notNull())
      .addColumn('labels', 'text', (c) => c.notNull())
      .addColumn('state', 'text', (c) => c.notNull().check(sql`state in ('open', 'closed')`))
      .addColumn('opened_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .addColumn('closed_at', 'bigint')
      .addColumn('ends_at', 'text')
      .addColumn('notifications', 'integer', (c) => c.notNull())
      .addUniqueConstraint('incidents_episode', ['fingerprint', 'starts_at'])
      .execute();
    await db.schema.createIndex('incidents_state').on('incidents').columns(['state', 'opened_at']).execute();
  },
};

/**
 * The netmap change log (several coordinators on one PostgreSQL, DESIGN.md "Amendments"): every
 * change that alters netmaps gets the next `version` from the single netmap_change_head row (its
 * row lock orders versions as commits, so a reader never sees version n+1 before n) and a row here
 * naming what changed by id only; the store stays the truth. A coordinator whose LISTEN connection
 * dropped catches up by reading the rows after the last version it applied. Old rows are pruned.
 */
const t0006: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('netmap_change_head')
      .addColumn('id', 'integer', (c) => c.primaryKey())
      .addColumn('version', 'bigint', (c) => c.notNull())
      .execute();
    await sql`insert into netmap_change_head (id, version) values (1, 0)`.execute(db);
    await db.schema
      .createTable('netmap_changes')
      .addColumn('version', 'bigint', (c) => c.primaryKey())
      .addColumn('origin', 'text', (c) => c.notNull())
      .addColumn('change', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();
  },
};

/**
 * The management path of each deployment (DESIGN.md §7): how the vendor's management services
 * reach its Kubernetes API — `public` (the API server's public endpoint, allow-listed to the
 * vendor's egress addresses), `private` (only through the overlay), or
 * `private-with-public-fallback` (the overlay; the public endpoint only while the overlay is down,
 * every use audited as break-glass and sent to the customer's webhook). No row: `private`.
 */
const t0007: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('deployment_management')
      .addColumn('deployment_id', 'text', (c) => c.primaryKey().references('deployments.id'))
      .addColumn('mode', 'text', (c) =>
        c.notNull().check(sql`mode in ('public', 'private', 'private-with-public-fallback')`),
      )
      .addColumn('public_server', 'text')
      .addColumn('customer_webhook', 'text')
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute();
  },
};

/**
 * Sign-in through the company's identity provider (docs/sso.md): a user made by an OIDC sign-in
 * carries the provider's subject (`idp_subject`, unique; null for local users, whose name a
 * provider can never take over). Each bearer token records how it was signed in (`method`:
 * `password` or `oidc`), when the person last authenticated (`auth_time`: approvals need a recent
 * one), when the coordinator last asked the provider whether the person still has access
 * (`checked_at`) and, for `oidc`, the provider's refresh token that it asks with (`idp_refresh`).
 */
const t0008: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema.alterTable('users').addColumn('idp_subject', 'text').execute();
    await db.schema.createIndex('users_idp_subject').unique().on('users').column('idp_subject').execute();
    await db.schema
      .alterTable('api_tokens')
      .addColumn('method', 'text', (c) => c.notNull().defaultTo('password'))
      .execute();
    await db.schema.alterTable('api_tokens').addColumn('auth_time', 'bigint').execute();
    await db.schema.alterTable('api_tokens').addColumn('checked_at', 'bigint').execute();
    await db.schema.alterTable('api_tokens').addColumn('idp_refresh', 'text').execute();
  },
};

/**
 * Customers (docs/customer-portal.md): a customer owns deployments (each at most one customer),
 * may have a webhook for its notifications and a set of switches the vendor allows it to flip. A
 * user with a `customer_id` is that customer's person: scoped to its deployments, the only kind of
 * person who can co-approve for it. `deployment_controls` holds the switches' state per deployment.
 */
const t0009: Migration = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable('customers')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull().unique())
      .addColumn('webhook', 'text')
      .addColumn('switches', 'text', (c) => c.notNull().defaultTo('[]'))
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('customer_deployments')
      .addColumn('deployment_id', 'text', (c) => c.primaryKey().references('deployments.id'))
      .addColumn('customer_id', 'text', (c) => c.notNull().references('customers.id'))
      .execute();
    await db.schema.alterTable('users').addColumn('customer_id', 'text').execute();
    await db.schema
      .createTable('deployment_controls')
      .addColumn('deployment_id', 'text', (c) => c.primaryKey().references('deployments.id'))
      .addColumn('require_co_approval', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('no_access', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('hours', 'text')
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_by', 'text', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('customer_invites')
      .addColumn('token_hash', 'text', (c) => c.primaryKey())
      .addColumn('customer_id', 'text', (c) => c.notNull().references('customers.id'))
      .addColumn('user_name', 'text', (c) => c.notNull())
      .addColumn('groups', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .addColumn('used_at', 'bigint')
      .execute();
  },
};

/** Every migration, by name; names sort in order of application. */
export const MIGRATIONS: Record<string, Migration> = {
  '0001_initial': t0001,
  '0002_audit_checkpoints': t0002,
  '0003_access': t0003,
  '0004_grant_access': t0004,
  '0005_incidents': t0005,
  '0006_netmap_changes': t0006,
  '0007_management': t0007,
  '0008_sso': t0008,
  '0009_customers': t0009,
};

export const migrationProvider: MigrationProvider = {
  getMigrations: () => Promise.resolve(MIGRATIONS),
};
