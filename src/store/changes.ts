// The netmap change log (migration 0006): how several coordinators on one PostgreSQL tell each
// other that netmaps changed. A change is appended after the mutation it follows has committed:
// the head row's lock hands out versions in commit order, the row names the change by ids only
// (the store stays the truth), and on PostgreSQL `pg_notify` in the same transaction wakes every
// listener with the version alone. A listener that missed notifications reads `changesAfter` the
// last version it applied. On SQLite (one coordinator) nothing calls this, but it works the same.
//
// Timer hints ride the same mechanism without a row: a coordinator that is not the timer owner
// tells the owner that deadlines or standing inputs changed (`notifyTimers`).
import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import type { StoreOptions } from './base.ts';
import type { DatabaseConfig } from './db.ts';
import type { Database } from './schema.ts';
import { IncidentStore } from './incidents.ts';
import { StoreError } from './errors.ts';

/** The LISTEN channel whose payload is a change version. */
export const CHANGE_CHANNEL = 'sallyport_netmap';
/** The LISTEN channel whose payload is a timer hint ('access' or 'standing'). */
export const TIMER_CHANNEL = 'sallyport_timers';
/** Most rows one `changesAfter` call returns. */
export const MAX_CHANGE_PAGE = 500;

export type TimerHint = 'access' | 'standing';

export interface StoredChange {
  version: number;
  origin: string;
  /** The change as its publisher encoded it (JSON text; control/change-ref.ts parses it). */
  change: string;
  createdAt: number;
}

export class ChangeStore extends IncidentStore {
  /** Where the store lives; the coordinator opens its dedicated sessions (LISTEN, lock) there. */
  readonly config: DatabaseConfig;

  protected constructor(db: Kysely<Database>, opts: StoreOptions, config: DatabaseConfig) {
    super(db, opts);
    this.config = config;
  }

  get isPostgres(): boolean {
    return this.config.kind === 'postgres';
  }

  /** Appends a change (by ids) and, on PostgreSQL, notifies its version; returns the version. */
  async appendChange(origin: string, change: string): Promise<number> {
    if (change.length > 1_000_000) throw new StoreError('INVALID', 'netmap change record too large');
    const now = this.now();
    return this.db.transaction().execute(async (trx) => {
      const head = await trx
        .updateTable('netmap_change_head')
        .set({ version: sql`version + 1` })
        .where('id', '=', 1)
        .returning('version')
        .executeTakeFirstOrThrow();
      const version = Number(head.version);
      await trx.insertInto('netmap_changes').values({ version, origin, change, created_at: now }).execute();
      if (this.isPostgres) await sql`select pg_notify(${CHANGE_CHANNEL}, ${String(version)})`.execute(trx);
      return version;
    });
  }

  /** The last version handed out (0 before the first change). */
  async changeHead(): Promise<number> {
    const h = await this.db
      .selectFrom('netmap_change_head')
      .select('version')
      .where('id', '=', 1)
      .executeTakeFirstOrThrow();
    return Number(h.version);
  }

  /** Changes after `version`, oldest first, at most `limit` (≤ MAX_CHANGE_PAGE). */
  async changesAfter(version: number, limit = MAX_CHANGE_PAGE): Promise<StoredChange[]> {
    const rows = await this.db
      .selectFrom('netmap_changes')
      .selectAll()
      .where('version', '>', version)
      .orderBy('version')
      .limit(Math.min(limit, MAX_CHANGE_PAGE))
      .execute();
    return rows.map((r) => ({
      version: Number(r.version),
      origin: r.origin,
      change: r.change,
      createdAt: Number(r.created_at),
    }));
  }

  /** Deletes changes made before `before` (ms); returns how many. */
  async pruneChanges(before: number): Promise<number> {
    const r = await this.db.deleteFrom('netmap_changes').where('created_at', '<', before).executeTakeFirst();
    return Number(r.numDeletedRows);
  }

  /** Tells the timer owner (PostgreSQL only) that its deadlines or standing inputs may have changed. */
  async notifyTimers(hint: TimerHint): Promise<void> {
    if (!this.isPostgres) return;
    await sql`select pg_notify(${TIMER_CHANNEL}, ${hint})`.execute(this.db);
  }
}
