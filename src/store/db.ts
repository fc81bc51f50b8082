// Opening the database: SQLite through better-sqlite3 (WAL, foreign keys on) or PostgreSQL through
// pg, both behind Kysely, then the one migration set. The SQLite file holds password and token
// hashes: it is created 0600 (and an existing one, with its -wal and -shm, made 0600) before SQLite
// opens it; SQLite gives the -wal and -shm files it creates the database file's mode. Both drivers
// are optional dependencies of the package, loaded only here and only when the coordinator opens
// its database: a connector or relay install never needs them (better-sqlite3 is a native build).
import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import type SQLiteModule from 'better-sqlite3';
import type PgModule from 'pg';
import { Kysely, Migrator, PostgresDialect, SqliteDialect } from 'kysely';
import type { Database } from './schema.ts';
import { migrationProvider } from './migrations.ts';
import { StoreError } from './errors.ts';

export type DatabaseConfig = { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string };

/** Parses `--db`: a postgres:// or postgresql:// URL, else a SQLite file path. */
export function parseDatabaseConfig(db: string): DatabaseConfig {
  if (!/^postgres(ql)?:\/\//.test(db)) return { kind: 'sqlite', path: db };
  // libpq's multi-host form (postgres://a:5432,b:5432/db) is not understood by the pg driver,
  // which would try a host named "a:5432,b": refuse it and say what to use instead.
  const authority = db.replace(/^postgres(ql)?:\/\//, '').split(/[/?]/)[0] ?? '';
  if (authority.slice(authority.lastIndexOf('@') + 1).includes(','))
    throw new StoreError(
      'INVALID',
      'the database URL names several hosts, which the PostgreSQL driver cannot fail over between: ' +
        'give one address that follows the primary (a managed endpoint, a virtual IP, or a proxy such as ' +
        'HAProxy with Patroni) — docs/operating-the-vendor-side.md, "Database failover"',
    );
  return { kind: 'postgres', url: db };
}

const INT8_OID = 20;

/** The versions the coordinator is tested with; named in the error when a driver is missing. */
export const DRIVERS = { 'better-sqlite3': 'better-sqlite3@12', pg: 'pg@8' } as const;

/** Imports a database driver; StoreError('MISSING_DRIVER') naming the install command if absent. */
export async function loadDriver<T>(
  name: keyof typeof DRIVERS,
  use: string,
  load: () => Promise<{ default: T }>,
): Promise<T> {
  try {
    return (await load()).default;
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND' && code !== 'ERR_DLOPEN_FAILED')
      throw e;
    throw new StoreError(
      'MISSING_DRIVER',
      `the coordinator needs ${name} for ${use}: npm install ${DRIVERS[name]} ` +
        `(it is an optional dependency; installs with --omit=optional leave it out)`,
      { cause: e },
    );
  }
}

export async function openKysely(cfg: DatabaseConfig): Promise<Kysely<Database>> {
  if (cfg.kind === 'sqlite') {
    const SQLite = await loadDriver<typeof SQLiteModule>(
      'better-sqlite3',
      'a SQLite database',
      () => import('better-sqlite3'),
    );
    if (cfg.path !== ':memory:') {
      mkdirSync(dirname(cfg.path), { recursive: true, mode: 0o700 });
      closeSync(openSync(cfg.path, 'a', 0o600));
      for (const suffix of ['', '-wal', '-shm'])
        if (existsSync(cfg.path + suffix)) chmodSync(cfg.path + suffix, 0o600);
    }
    const sqlite = new SQLite(cfg.path);
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('foreign_keys = ON');
    sqlite.pragma('busy_timeout = 5000');
    return new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
  }
  const pg = await loadDriver<typeof PgModule>('pg', 'a PostgreSQL database', () => import('pg'));
  const pool = new pg.Pool({
    connectionString: cfg.url,
    max: 10,
    types: {
      getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
        oid === INT8_OID
          ? (v: string) => Number(v)
          : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
    },
  });
  // An idle client losing its connection (server restart) must not crash the process: the pool
  // drops that client and the next query opens a new one.
  pool.on('error', () => {});
  // A client in use when the connection is lost (failover, server crash) rejects its query, which
  // the caller sees, and also emits 'error', which with no listener would end the process.
  pool.on('connect', (client) => client.on('error', () => {}));
  return new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
}

/** Applies every pending migration; throws StoreError('INTERNAL') with the failing one's name. */
export async function migrate(db: Kysely<Database>): Promise<string[]> {
  const migrator = new Migrator({ db, provider: migrationProvider });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error)
    throw new StoreError('INTERNAL', `migration ${failed?.migrationName ?? '?'} failed: ${String(error)}`, {
      cause: error,
    });
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
