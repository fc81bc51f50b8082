// Which coordinator runs the timers (grant and request expiry, standing-grant reconciliation,
// change-log pruning). Alone on SQLite, it always does (LocalTimers). On PostgreSQL exactly one
// coordinator at a time does: the one whose dedicated session holds the session advisory lock
// TIMER_LOCK_KEY (pg_try_advisory_lock). PostgreSQL releases the lock when that session ends, so
// when the owner dies or is cut off the next coordinator to poll takes it over.
//
//   follower ──(try lock every pollMs: granted)──► owner ──(session lost, or lock not held at a
//      ▲                                                    poll: the poll is also a liveness check)
//      └────────────────────────────────────────────────────┘
//
// Owner and followers alike read who holds the lock (pg_locks ⋈ pg_stat_activity by the
// session's application_name) for /health. A follower that changes deadlines or standing inputs
// tells the owner through `hint` (a NOTIFY on TIMER_CHANNEL; fanout.ts delivers it).
// An owner cut off from the database keeps believing it owns until its next poll: the timers'
// work is idempotent in the store (a grant already ended is not ended twice), so the overlap
// costs at most one duplicated attempt.
import { Timer, type Clock } from '../clock/index.ts';
import { PgSession, TIMER_LOCK_KEY, type Store, type TimerHint } from '../store/index.ts';
import type { Logger } from './logger.ts';
import type { ControlMetrics } from './metrics.ts';

/** How often a follower tries to take the timer lock, and the owner checks that it holds it. */
export const TIMER_LOCK_POLL_MS = 1000;
const APP_PREFIX = 'sallyport-timers:';
/** The owner prunes the change log this often. */
const PRUNE_EVERY_MS = 60_000;

export interface TimerOwnerState {
  /** `single`: alone on its database; `lock`: a PostgreSQL advisory lock decides. */
  mode: 'single' | 'lock';
  /** This coordinator's instance name. */
  self: string;
  /** The instance that owns the timers, as last seen (null: none, or not known yet). */
  owner: string | null;
  /** True while this coordinator owns them. */
  owned: boolean;
}

/** What the timer-driven services ask before they act. */
export interface TimerGate {
  owns(): boolean;
  /** Tells the owner that its inputs changed (nothing to do when this coordinator is the owner). */
  hint(h: TimerHint): void;
  state(): TimerOwnerState;
}

/** One coordinator alone on its database: it owns its timers. */
export class LocalTimers implements TimerGate {
  readonly #self: string;
  constructor(self: string) {
    this.#self = self;
  }
  owns(): boolean {
    return true;
  }
  hint(): void {}
  state(): TimerOwnerState {
    return { mode: 'single', self: this.#self, owner: this.#self, owned: true };
  }
}

export interface TimerLockOptions {
  store: Store;
  clock: Clock;
  logger: Logger;
  metrics: ControlMetrics;
  instance: string;
  /** Default TIMER_LOCK_POLL_MS. */
  pollMs?: number;
  /** Called when this coordinator becomes the owner (sweep now: deadlines may have passed). */
  onAcquire(): void;
  /** Called when it stops being the owner. */
  onLose(): void;
  /** Called on every poll while this coordinator owns the timers, at most every minute. */
  onOwnerMaintenance?(): Promise<void>;
}

export class TimerLock implements TimerGate {
  readonly #o: TimerLockOptions;
  readonly #url: string;
  readonly #timer: Timer;
  readonly #abort = new AbortController();
  #session: PgSession | undefined;
  #owned = false;
  #owner: string | null = null;
  #stopped = false;
  #lastMaintenance = -Infinity;
  #tick: Promise<void> = Promise.resolve();

  constructor(o: TimerLockOptions) {
    if (o.store.config.kind !== 'postgres') throw new TypeError('the timer lock needs PostgreSQL');
    this.#o = o;
    this.#url = o.store.config.url;
    this.#timer = new Timer(o.clock, () => void this.poll());
    o.metrics.timerOwner.set(0);
  }

  /** Polls once now (the first coordinator up owns at once), then every pollMs. */
  async start(): Promise<void> {
    await this.poll();
  }

  owns(): boolean {
    return this.#owned;
  }

  hint(h: TimerHint): void {
    if (this.#owned || this.#stopped) return;
    this.#o.store.notifyTimers(h).catch((err: unknown) => {
      this.#o.metrics.fanoutDrops.inc({ reason: 'hint-failed' });
      this.#o.logger.warn({ err, hint: h }, 'timer hint not sent; the owner sees it at its next poll');
    });
  }

  state(): TimerOwnerState {
    return { mode: 'lock', self: this.#o.instance, owner: this.#owner, owned: this.#owned };
  }

  /** One poll (serialised): take or check the lock, read who holds it, re-arm. */
  poll(): Promise<void> {
    this.#tick = this.#tick.then(() => this.#poll());
    return this.#tick;
  }

  async #poll(): Promise<void> {
    if (this.#stopped) return;
    try {
      const s = await this.#sessionNow();
      if (!this.#owned) {
        if (await s.tryLock(TIMER_LOCK_KEY)) this.#acquire();
      } else if (!(await s.holds(TIMER_LOCK_KEY))) this.#lose('the lock is no longer held');
      if (this.#owned) this.#owner = this.#o.instance;
      else {
        const holder = await s.lockHolder(TIMER_LOCK_KEY);
        this.#owner = holder?.startsWith(APP_PREFIX) ? holder.slice(APP_PREFIX.length) : holder;
      }
      if (this.#owned && this.#o.clock.now() - this.#lastMaintenance >= PRUNE_EVERY_MS) {
        this.#lastMaintenance = this.#o.clock.now();
        await this.#o.onOwnerMaintenance?.();
      }
    } catch (err) {
      if (this.#stopped) return;
      this.#o.logger.warn({ err }, 'timer lock: poll failed');
      if (this.#owned) this.#lose('poll failed');
      await this.#session?.close();
      this.#session = undefined;
    } finally {
      if (!this.#stopped) this.#timer.mod(this.#o.pollMs ?? TIMER_LOCK_POLL_MS);
    }
  }

  async #sessionNow(): Promise<PgSession> {
    if (this.#session && !this.#session.lost) return this.#session;
    const s = await PgSession.open(this.#url, {
      applicationName: `${APP_PREFIX}${this.#o.instance}`,
      signal: this.#abort.signal,
    });
    s.onLost(() => {
      if (this.#session === s && this.#owned && !this.#stopped) this.#lose('lock session lost');
    });
    this.#session = s;
    return s;
  }

  #acquire(): void {
    this.#owned = true;
    this.#owner = this.#o.instance;
    this.#o.metrics.timerOwner.set(1);
    this.#o.metrics.timerOwnerChanges.inc({ event: 'acquired' });
    this.#o.logger.info(
      { instance: this.#o.instance },
      'timer lock acquired: this coordinator runs the timers',
    );
    this.#o.onAcquire();
  }

  #lose(reason: string): void {
    if (!this.#owned) return;
    this.#owned = false;
    this.#owner = null;
    this.#o.metrics.timerOwner.set(0);
    this.#o.metrics.timerOwnerChanges.inc({ event: 'lost' });
    this.#o.logger.warn({ reason }, 'timer lock lost: another coordinator takes the timers over');
    this.#o.onLose();
  }

  /** Stops polling and closes the session: PostgreSQL releases the lock at once. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#timer.del();
    this.#abort.abort();
    await this.#tick;
    const wasOwner = this.#owned;
    this.#owned = false;
    this.#o.metrics.timerOwner.set(0);
    await this.#session?.close();
    this.#session = undefined;
    if (wasOwner) this.#o.logger.info('timer lock released');
  }
}
