// Customer-side query audit: reads the grant users' rows from system.query_log (as the
// connector's admin user, inside the customer's network) and appends each finished query once to
// the connector's local audit under its grant; at grant end it sends the coordinator only a
// summary (count, failures), never the query text.
//
//   every intervalMs, while some grant user is tracked:
//     SYSTEM FLUSH LOGS (admin; otherwise ClickHouse flushes every 7.5 s)
//     SELECT … FROM system.query_log WHERE type != 1 AND user IN (…) AND event_time >= watermark
//       ─► per row not seen (query_id): audit 'clickhouse.query' grant:<id>, count (+ failure if type 3/4)
//   untrack(user) ─► one last poll ─► report({grantId, service, queries, failures})
//
// query_log `type`: 1 start, 2 finish, 3 exception before start, 4 exception while processing —
// one row per query once the start rows are left out. Watermarks, seen ids and counts are kept in
// STATE (0600) so a restarted connector neither repeats nor loses records.
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { Timer, type Clock } from '../../clock/index.ts';
import type { GrantIdentity, GrantUsageSummary, LocalAuditSink } from '../types.ts';
import { chQuery, type HostPort } from './http.ts';
import { atomicWrite } from './reconciler.ts';
import { truncatedField } from '../../util/index.ts';

export interface PollerOptions {
  service: string;
  address: HostPort;
  admin: { user: string; password: string };
  clock: Clock;
  logger: Logger;
  audit: LocalAuditSink;
  report?(s: GrantUsageSummary): void;
  /** JSON state file (watermarks, counts). */
  stateFile: string;
  /** Default 2000. */
  intervalMs?: number;
  /** Issue SYSTEM FLUSH LOGS before each read (needs a non-readonly admin). Default true. */
  flush?: boolean;
  /**
   * Longest query text kept in the local audit, in code points (a longer one is cut, never inside
   * a surrogate pair, and its record says queryTruncated: true, queryLength: N). Default 8192.
   */
  maxQueryChars?: number;
}

interface UserState {
  grantId: string;
  engineer: string;
  /** Unix seconds of the newest row seen. */
  watermark: number;
  /** `t:type:query_id` of the rows seen in the last SLACK_S seconds up to the watermark (bounded). */
  seen: string[];
  queries: number;
  failures: number;
  ending?: boolean;
}

const MAX_SEEN = 5000;
/** Rows can land in query_log a little out of order: re-read this many seconds back. */
const SLACK_S = 10;
const MAX_ROWS = 5000;
/** Longest exception text kept in the local audit, code points. */
const MAX_EXCEPTION_CHARS = 1000;

interface Row {
  type: number;
  t: number;
  query_id: string;
  user: string;
  query: string;
  exception: string;
  read_rows: number | string;
  result_rows: number | string;
  query_duration_ms: number | string;
  address: string;
  interface: number;
}

const quote = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

export class QueryLogPoller {
  readonly #o: PollerOptions;
  readonly #users = new Map<string, UserState>();
  readonly #timer: Timer;
  #running: Promise<void> | undefined;
  #closed = false;

  constructor(o: PollerOptions) {
    this.#o = o;
    this.#timer = new Timer(o.clock, () => void this.poll());
    try {
      const saved = JSON.parse(readFileSync(o.stateFile, 'utf8')) as Record<string, UserState>;
      for (const [u, s] of Object.entries(saved)) this.#users.set(u, s);
    } catch {
      // No state yet.
    }
  }

  /** Follows the reconciler: new users are tracked, removed ones get a last poll and a report. */
  update(active: ReadonlyMap<string, GrantIdentity>, removed: readonly { user: string }[]): void {
    for (const [user, g] of active) {
      if (!this.#users.has(user)) {
        this.#users.set(user, {
          grantId: g.grantId,
          engineer: g.user,
          watermark: 0,
          seen: [],
          queries: 0,
          failures: 0,
        });
      }
    }
    let ending = false;
    for (const r of removed) {
      const s = this.#users.get(r.user);
      if (s) ending = s.ending = true;
    }
    // After a restart, state for users no longer on disk ends too.
    for (const [user, s] of this.#users) if (!active.has(user) && !s.ending) ending = s.ending = true;
    if (ending) void this.poll();
    else if (!this.#timer.pending && this.#users.size && !this.#closed)
      this.#timer.mod(this.#o.intervalMs ?? 2000);
  }

  /** The counts of a grant so far (queries that reached ClickHouse). */
  usage(grantId: string): { queries: number; failures: number } {
    for (const s of this.#users.values())
      if (s.grantId === grantId) return { queries: s.queries, failures: s.failures };
    return { queries: 0, failures: 0 };
  }

  /** A query the router refused itself (it never reached ClickHouse): counted as a failure. */
  countRefused(grantId: string): void {
    for (const s of this.#users.values()) {
      if (s.grantId !== grantId) continue;
      s.queries++;
      s.failures++;
      return;
    }
  }

  /** One poll now (serialised with the periodic ones). */
  poll(): Promise<void> {
    this.#running ??= this.#poll().finally(() => {
      this.#running = undefined;
      if (!this.#closed && this.#users.size) this.#timer.mod(this.#o.intervalMs ?? 2000);
    });
    return this.#running;
  }

  async #poll(): Promise<void> {
    const o = this.#o;
    if (this.#users.size === 0) return;
    try {
      if (o.flush !== false) {
        const f = await chQuery(o.address, o.admin, 'SYSTEM FLUSH LOGS');
        if (f.status !== 200)
          o.logger.warn({ status: f.status, body: f.body.slice(0, 200) }, 'SYSTEM FLUSH LOGS failed');
      }
      const users = [...this.#users.keys()];
      const since = Math.min(...[...this.#users.values()].map((s) => s.watermark));
      const sql =
        `SELECT type, toUInt32(event_time) AS t, query_id, user, query, exception, read_rows, result_rows, ` +
        `query_duration_ms, IPv6NumToString(address) AS address, interface FROM system.query_log ` +
        `WHERE type != 1 AND user IN (${users.map(quote).join(', ')}) AND event_time >= toDateTime(${Math.max(0, since - SLACK_S)}) ` +
        `ORDER BY event_time, query_id LIMIT ${MAX_ROWS} FORMAT JSONEachRow`;
      const a = await chQuery(o.address, o.admin, sql);
      if (a.status === 200) this.#ingest(a.body);
      else if (!/Code: 60\b/.test(a.body)) {
        // 60 = the table does not exist yet (nothing was logged since the server started).
        o.logger.warn({ status: a.status, body: a.body.slice(0, 300) }, 'query_log read failed');
        return;
      }
    } catch (e) {
      o.logger.warn({ err: (e as Error).message }, 'query_log poll failed');
      return;
    }
    for (const [user, s] of this.#users) {
      if (!s.ending) continue;
      this.#users.delete(user);
      o.report?.({ grantId: s.grantId, service: o.service, queries: s.queries, failures: s.failures });
      o.audit.append('clickhouse.usage', `grant:${s.grantId}`, {
        service: o.service,
        clickhouseUser: user,
        queries: s.queries,
        failures: s.failures,
      });
    }
    await this.#save();
  }

  #ingest(body: string): void {
    const max = this.#o.maxQueryChars ?? 8192;
    for (const line of body.split('\n')) {
      if (!line) continue;
      let r: Row;
      try {
        r = JSON.parse(line) as Row;
      } catch {
        continue;
      }
      const s = this.#users.get(r.user);
      const key = `${r.t}:${r.type}:${r.query_id}`;
      if (!s || r.t < s.watermark - SLACK_S || s.seen.includes(key)) continue;
      if (r.t > s.watermark) {
        s.watermark = r.t;
        s.seen = s.seen.filter((k) => Number(k.slice(0, k.indexOf(':'))) >= r.t - SLACK_S);
      }
      s.seen.push(key);
      if (s.seen.length > MAX_SEEN) s.seen.shift();
      const failed = r.type === 3 || r.type === 4;
      s.queries++;
      if (failed) s.failures++;
      this.#o.audit.append('clickhouse.query', `grant:${s.grantId}`, {
        service: this.#o.service,
        engineer: s.engineer,
        clickhouseUser: r.user,
        queryId: r.query_id,
        eventTime: r.t,
        status: failed ? 'failed' : 'ok',
        // Cut on code points and say so: a split surrogate pair would make the record unwritable.
        ...truncatedField('query', String(r.query), max),
        ...(failed ? truncatedField('exception', String(r.exception), MAX_EXCEPTION_CHARS) : {}),
        readRows: Number(r.read_rows),
        resultRows: Number(r.result_rows),
        durationMs: Number(r.query_duration_ms),
        from: r.address,
      });
    }
  }

  async #save(): Promise<void> {
    try {
      await atomicWrite(this.#o.stateFile, JSON.stringify(Object.fromEntries(this.#users)), 0o600);
    } catch (e) {
      this.#o.logger.warn({ err: (e as Error).message }, 'audit poller state not saved');
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#timer.del();
    await this.#running;
  }
}
