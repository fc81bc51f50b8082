// One dedicated PostgreSQL connection outside the pool, for what lives as long as a session: a
// LISTEN (notifications reach only the connection that listens) and a session advisory lock
// (held until unlocked or the connection closes, so the lock moves when its holder dies). The
// connection names itself (application_name) so that any coordinator can see who holds the lock.
//
//   open ──(error, end, terminated by the server)──► lost: `onLost` fires once; queries fail
//
// The caller reconnects by opening a new session. No reconnection is hidden here.
import type PgModule from 'pg';
import { loadDriver } from './db.ts';
import { StoreError } from './errors.ts';

/**
 * The session advisory lock that names the timer owner (grant expiry, standing grants, change-log
 * pruning): "sally" in ASCII, one bigint. pg_locks shows it as classid 0x73, objid 0x616c6c79.
 */
export const TIMER_LOCK_KEY = 0x73616c6c79;

export interface PgSessionOptions {
  /** Shown in pg_stat_activity.application_name (≤ 63 bytes); the timer owner's name. */
  applicationName: string;
  /** Gives up connecting when aborted. */
  signal?: AbortSignal;
  /** A query that takes longer fails (ms); default 5000. */
  queryTimeoutMs?: number;
}

export class PgSession {
  readonly #client: PgModule.Client;
  readonly #lost: ((err: Error) => void)[] = [];
  #isLost = false;
  /** The server process id of this connection (pg_terminate_backend takes it). */
  readonly pid: number;

  private constructor(client: PgModule.Client, pid: number) {
    this.#client = client;
    this.pid = pid;
    const lose = (err: Error) => {
      if (this.#isLost) return;
      this.#isLost = true;
      for (const fn of this.#lost) fn(err);
    };
    client.on('error', (err) => lose(err));
    client.on('end', () => lose(new StoreError('INTERNAL', 'connection ended')));
  }

  static async open(url: string, o: PgSessionOptions): Promise<PgSession> {
    const pg = await loadDriver<typeof PgModule>('pg', 'a PostgreSQL database', () => import('pg'));
    o.signal?.throwIfAborted();
    const client = new pg.Client({
      connectionString: url,
      application_name: o.applicationName.slice(0, 63),
      keepAlive: true,
      query_timeout: o.queryTimeoutMs ?? 5000,
      connectionTimeoutMillis: o.queryTimeoutMs ?? 5000,
    });
    // Until the session is built, an error is the connect failing (reported by connect()).
    client.on('error', () => {});
    const abort = () => void client.end().catch(() => {});
    o.signal?.addEventListener('abort', abort, { once: true });
    try {
      await client.connect();
      o.signal?.throwIfAborted();
      const r = await client.query<{ pid: number }>('select pg_backend_pid() as pid');
      return new PgSession(client, Number(r.rows[0].pid));
    } catch (e) {
      await client.end().catch(() => {});
      if (o.signal?.aborted) throw new StoreError('ABORTED', 'aborted while connecting', { cause: e });
      throw new StoreError('UNAVAILABLE', `cannot open a PostgreSQL session: ${(e as Error).message}`, {
        cause: e,
        retryable: true,
      });
    } finally {
      o.signal?.removeEventListener('abort', abort);
    }
  }

  get lost(): boolean {
    return this.#isLost;
  }

  /** Calls `fn` once when the connection is lost (not after close()). */
  onLost(fn: (err: Error) => void): void {
    this.#lost.push(fn);
  }

  /** LISTENs on `channels` and calls `fn` with every notification on them. */
  async listen(channels: readonly string[], fn: (channel: string, payload: string) => void): Promise<void> {
    this.#client.on('notification', (n) => fn(n.channel, n.payload ?? ''));
    for (const c of channels) {
      if (!/^[a-z_][a-z0-9_]*$/.test(c)) throw new StoreError('INVALID', `bad channel name ${c}`);
      await this.#client.query(`listen ${c}`);
    }
  }

  /** pg_try_advisory_lock on this session: true when it holds the lock now. */
  async tryLock(key: number): Promise<boolean> {
    const r = await this.#client.query<{ ok: boolean }>('select pg_try_advisory_lock($1::bigint) as ok', [
      key,
    ]);
    return r.rows[0].ok === true;
  }

  /** True while this session holds the advisory lock `key` (a round trip: also a liveness check). */
  async holds(key: number): Promise<boolean> {
    const r = await this.#client.query<{ n: number }>(
      `select count(*)::int as n from pg_locks
        where locktype = 'advisory' and granted and pid = pg_backend_pid()
          and objsubid = 1 and classid::bigint = $1 and objid::bigint = $2`,
      [Math.floor(key / 2 ** 32), key % 2 ** 32],
    );
    return Number(r.rows[0].n) > 0;
  }

  /** The application_name of the session holding advisory lock `key`, or null when none does. */
  async lockHolder(key: number): Promise<string | null> {
    const r = await this.#client.query<{ name: string }>(
      `select a.application_name as name from pg_locks l join pg_stat_activity a on a.pid = l.pid
        where l.locktype = 'advisory' and l.granted and l.objsubid = 1
          and l.classid::bigint = $1 and l.objid::bigint = $2
          and l.database = (select oid from pg_database where datname = current_database())
        limit 1`,
      [Math.floor(key / 2 ** 32), key % 2 ** 32],
    );
    return r.rows[0]?.name ?? null;
  }

  /** Closes the connection (a held session lock is released by the server). */
  async close(): Promise<void> {
    this.#isLost = true;
    this.#lost.length = 0;
    await this.#client.end().catch(() => {});
  }
}
