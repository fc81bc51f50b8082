// Opening the database: SQLite through better-sqlite3 (WAL, foreign keys on) or PostgreSQL through
// pg, both behind Kysely, then the one migration set. The SQLite file holds password and token
// hashes: it is created 0600 (and an existing one, with its -wal and -shm, made 0600) before SQLite
// opens it; SQLite gives the -wal and -shm files it creates the database file's mode.
import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import { Kysely, Migrator, PostgresDialect, SqliteDialect } from 'kysely';
import type { Database } from './schema.ts';
import { migrationProvider } from './migrations.ts';
import { StoreError } from './errors.ts';

export type DatabaseConfig = { kind: 'sqlite'; path: string } | { kind: 'postgres'; url: string };

/** Parses `--db`: a postgres:// or postgresql:// URL, else a SQLite file path. */
export function parseDatabaseConfig(db: string): DatabaseConfig {
  return /^postgres(ql)?:\/\//.test(db) ? { kind: 'postgres', url: db } : { kind: 'sqlite', path: db };
}

const INT8_OID = 20;

export function openKysely(cfg: DatabaseConfig): Kysely<Database> {
  if (cfg.kind === 'sqlite') {
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
