// Netmap fan-out between coordinators that share one PostgreSQL (DESIGN.md "Amendments": several
// coordinators). Every change made here (hub `local` change) is appended to the netmap change
// log by ids (change-ref.ts), which notifies the version on CHANGE_CHANNEL. Every coordinator
// LISTENs on a dedicated connection; a notification makes it read the log after the last version
// it applied and hand each change made elsewhere to its hub as a `remote` change, so it
// recomputes only the nodes connected here that the change affects (affected.ts).
//
//   connected ──(connection lost)──► reconnecting ──(LISTEN again)──► catch up by version ──► connected
//                                      backoff 250 ms … 5 s
//
// Versions come from one head row whose lock orders them as commits, so version n+1 is never
// visible before n; a version missing from the log (pruned while this one was away) makes it
// recompute every local netmap instead. The same connection carries the owner's timer hints.
import { Timer, type Clock } from '../clock/index.ts';
import {
  CHANGE_CHANNEL,
  MAX_CHANGE_PAGE,
  PgSession,
  TIMER_CHANNEL,
  type StoredChange,
  type Store,
  type TimerHint,
} from '../store/index.ts';
import type { Change } from './affected.ts';
import { fromRef, parseRef, refIds, toRef } from './change-ref.ts';
import type { Hub } from './hub.ts';
import type { Logger } from './logger.ts';
import type { ControlMetrics } from './metrics.ts';

/** Changes older than this are pruned from the log by the timer owner. */
export const CHANGE_RETENTION_MS = 60 * 60_000;

export interface FanoutOptions {
  store: Store;
  hub: Hub;
  clock: Clock;
  logger: Logger;
  metrics: ControlMetrics;
  /** This coordinator's name: the origin of its changes, and its LISTEN connection's name. */
  instance: string;
  /** Called with every timer hint (another coordinator's deadlines or standing inputs changed). */
  onHint?: (hint: TimerHint) => void;
  /** Called when the LISTEN connection is back (hints may have been missed meanwhile). */
  onReconnect?: () => void;
  /** First reconnection delay, ms, doubling up to `retryMaxMs`; defaults 250 and 5000. */
  retryMinMs?: number;
  retryMaxMs?: number;
}

export interface FanoutState {
  /** True while the LISTEN connection is up. */
  listening: boolean;
  /** The last change version applied here. */
  version: number;
}

export class NetmapFanout {
  readonly #o: FanoutOptions;
  readonly #url: string;
  readonly #reconnect: Timer;
  readonly #retryCatchUp: Timer;
  readonly #abort = new AbortController();
  #session: PgSession | undefined;
  #retryMs: number;
  #applied = 0;
  #ready = false;
  #stopped = false;
  #catchUp: Promise<void> = Promise.resolve();
  #queued: Promise<void> | undefined;
  #publish: Promise<void> = Promise.resolve();

  constructor(o: FanoutOptions) {
    if (o.store.config.kind !== 'postgres') throw new TypeError('netmap fan-out needs PostgreSQL');
    this.#o = o;
    this.#url = o.store.config.url;
    this.#retryMs = o.retryMinMs ?? 250;
    this.#reconnect = new Timer(o.clock, () => void this.#reopen());
    this.#retryCatchUp = new Timer(o.clock, () => void this.catchUp());
  }

  /** LISTENs, starts from the current head, and publishes this hub's local changes from now on. */
  async start(): Promise<void> {
    await this.#connect();
    this.#applied = await this.#o.store.changeHead();
    this.#ready = true;
    this.#o.hub.onChange((c, origin) => {
      if (origin === 'local') this.#enqueuePublish(c);
    });
    // A notification that came between LISTEN and reading the head was ignored: look once.
    await this.catchUp();
  }

  state(): FanoutState {
    return { listening: this.#session !== undefined && !this.#session.lost, version: this.#applied };
  }

  /** The server process id of the LISTEN connection (tests terminate it), if connected. */
  get listenerPid(): number | undefined {
    return this.#session?.pid;
  }

  /** Resolves when every change made here so far has been published. */
  published(): Promise<void> {
    return this.#publish;
  }

  /** Deletes changes older than CHANGE_RETENTION_MS (the timer owner calls this). */
  async prune(): Promise<number> {
    return this.#o.store.pruneChanges(Math.floor(this.#o.clock.wallMs()) - CHANGE_RETENTION_MS);
  }

  /** Applies every change after the last one applied (serialised; triggers while one waits share it). */
  catchUp(): Promise<void> {
    if (this.#queued) return this.#queued;
    const run = this.#catchUp.then(() => {
      this.#queued = undefined;
      return this.#apply();
    });
    this.#queued = run;
    this.#catchUp = run.catch((err: unknown) => {
      this.#o.metrics.fanoutDrops.inc({ reason: 'apply-failed' });
      this.#o.logger.error({ err, version: this.#applied }, 'netmap fan-out: catch-up failed; retrying');
      if (!this.#stopped) this.#retryCatchUp.mod(1000);
    });
    return this.#catchUp;
  }

  async #apply(): Promise<void> {
    const { store, hub, metrics } = this.#o;
    for (;;) {
      if (this.#stopped || !this.#ready) return;
      const rows = await store.changesAfter(this.#applied);
      for (const row of rows) {
        if (this.#stopped) return;
        if (row.version !== this.#applied + 1) {
          // Versions are dense: the ones in between were pruned while this coordinator was away.
          metrics.fanoutResyncs.inc();
          this.#o.logger.warn(
            { from: this.#applied + 1, to: row.version - 1 },
            'netmap fan-out: changes missing from the log; recomputing every local netmap',
          );
          await hub.refreshAll();
        }
        await this.#applyOne(row);
        this.#applied = row.version;
      }
      if (rows.length < MAX_CHANGE_PAGE) return;
    }
  }

  async #applyOne(row: StoredChange): Promise<void> {
    const { store, hub, metrics } = this.#o;
    if (row.origin === this.#o.instance) return; // made here: the hub applied it already
    const ref = parseRef(row.change);
    if (!ref) {
      metrics.fanoutDrops.inc({ reason: 'malformed' });
      this.#o.logger.warn({ version: row.version }, 'netmap fan-out: unreadable change dropped');
      return;
    }
    const change = await fromRef(ref, store);
    if (!change) await hub.refreshMany(refIds(ref));
    else {
      if (change.type === 'node' || change.type === 'user') {
        // The sessions here whose netmaps list the changed nodes are affected too.
        const nodes = change.type === 'node' ? [change.node] : change.nodes;
        const here = hub.idsWithPeer(new Set(nodes.map((n) => n.publicKey)));
        change.previousPeerIds = [...(change.previousPeerIds ?? []), ...here];
      }
      await hub.changed(change, undefined, 'remote');
    }
    metrics.fanoutChanges.inc({ result: 'applied' });
    metrics.fanoutDelaySeconds.observe(Math.max(0, this.#o.clock.wallMs() - row.createdAt) / 1000);
  }

  #enqueuePublish(c: Change): void {
    // Previous peers are read now: the caller's array is the state before the change.
    const snapshot: Change =
      c.type === 'node' || c.type === 'user' ? { ...c, previousPeers: [...c.previousPeers] } : c;
    this.#publish = this.#publish.then(async () => {
      try {
        const ref = await toRef(snapshot, this.#o.store);
        await this.#o.store.appendChange(this.#o.instance, JSON.stringify(ref));
        this.#o.metrics.fanoutChanges.inc({ result: 'published' });
      } catch (err) {
        this.#o.metrics.fanoutDrops.inc({ reason: 'publish-failed' });
        this.#o.logger.error(
          { err, change: snapshot.type },
          'netmap fan-out: change not published; other coordinators see it at their next refresh',
        );
      }
    });
  }

  async #connect(): Promise<void> {
    const s = await PgSession.open(this.#url, {
      applicationName: `sallyport-listen:${this.#o.instance}`,
      signal: this.#abort.signal,
    });
    try {
      await s.listen([CHANGE_CHANNEL, TIMER_CHANNEL], (channel, payload) => {
        if (channel === CHANGE_CHANNEL) {
          if (this.#ready) void this.catchUp();
        } else if (payload === 'access' || payload === 'standing') this.#o.onHint?.(payload);
        else this.#o.metrics.fanoutDrops.inc({ reason: 'malformed' });
      });
    } catch (e) {
      await s.close();
      throw e;
    }
    s.onLost((err) => {
      if (this.#session !== s || this.#stopped) return;
      this.#session = undefined;
      this.#o.metrics.fanoutReconnects.inc();
      this.#o.logger.warn({ err }, 'netmap fan-out: LISTEN connection lost; reconnecting');
      this.#reconnect.mod(this.#retryMs);
    });
    this.#session = s;
  }

  async #reopen(): Promise<void> {
    if (this.#stopped) return;
    try {
      await this.#connect();
    } catch (err) {
      if (this.#stopped) return;
      this.#retryMs = Math.min(this.#retryMs * 2, this.#o.retryMaxMs ?? 5000);
      this.#o.logger.warn({ err, retryMs: this.#retryMs }, 'netmap fan-out: reconnect failed');
      this.#reconnect.mod(this.#retryMs);
      return;
    }
    this.#retryMs = this.#o.retryMinMs ?? 250;
    this.#o.logger.info({ version: this.#applied }, 'netmap fan-out: LISTEN connection back; catching up');
    await this.catchUp();
    this.#o.onReconnect?.();
  }

  /** Stops listening; resolves when publishing and applying in progress have finished. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#abort.abort();
    this.#reconnect.del();
    this.#retryCatchUp.del();
    await this.#publish;
    await this.#catchUp;
    await this.#session?.close();
    this.#session = undefined;
  }
}
