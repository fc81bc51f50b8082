// The coordinator's side of just-in-time access: runs each access operation in the store (one
// transaction: state, effects, audit), then, after commit, pushes the netmaps the changed grants
// touch (I3/I5: a grant's end removes the engineer from the connector's netmap and the agents cut
// its streams), sends the notifications (webhooks, never blocking), and re-arms the expiry timer.
//
// The expiry scheduler: one Timer on the Clock, armed at the earliest deadline the store holds
// (a pending request or extension, an active grant's end). When it fires, every due item gets a
// `tick`; then the timer is armed again. Ticks run one after another (a promise chain).
// With several coordinators only the timer owner (timer-owner.ts) keeps the timer and sweeps;
// the others tell it, after each operation, that deadlines may have changed (`gate.hint`).
import { Timer, type Clock } from '../clock/index.ts';
import type { AccessResult, Store } from '../store/index.ts';
import type { Hub } from './hub.ts';
import type { Logger } from './logger.ts';
import type { Webhooks } from './webhooks.ts';
import type { TimerGate } from './timer-owner.ts';
import { AccessEvents } from './access-events.ts';

/** The scheduler never sleeps longer than this (re-checks then): keeps real timers in range. */
const MAX_SLEEP_MS = 60 * 60_000;

export interface AccessServiceOptions {
  store: Store;
  hub: Hub;
  clock: Clock;
  logger: Logger;
  webhooks?: Webhooks;
  /** Whether this coordinator runs the expiry timer; default: it always does (one coordinator). */
  gate?: Pick<TimerGate, 'owns' | 'hint'>;
}

export class AccessService {
  readonly #o: AccessServiceOptions;
  readonly #timer: Timer;
  #chain: Promise<void> = Promise.resolve();
  #stopped = false;
  readonly clock: Clock;
  /** Committed access changes, live (request --wait, the console's event stream). */
  readonly events = new AccessEvents();
  /** Ticks applied so far (tests). */
  ticks = 0;

  constructor(opts: AccessServiceOptions) {
    this.#o = opts;
    this.clock = opts.clock;
    this.#timer = new Timer(opts.clock, () => void this.sweep());
  }

  /** After a committed operation: netmaps, notifications, timer. Returns `r` for chaining. */
  async after<S>(r: AccessResult<S>): Promise<AccessResult<S>> {
    for (const grant of r.grants) await this.#o.hub.changed({ type: 'grant', grant });
    await this.#notify(r);
    this.#tell(r);
    if (!this.#owns()) this.#o.gate?.hint('access');
    await this.arm();
    return r;
  }

  /** Arms the timer at the earliest deadline (or clears it: also when another coordinator owns it). */
  async arm(): Promise<void> {
    if (this.#stopped) return;
    if (!this.#owns()) return this.#timer.del();
    const next = await this.#o.store.nextAccessDeadline();
    if (this.#stopped) return;
    if (next === undefined) return this.#timer.del();
    const now = this.#o.clock.wallMs();
    this.#timer.mod(Math.min(Math.max(0, next - now), MAX_SLEEP_MS));
  }

  /** Ticks everything due now; then re-arms. Serialised; resolves when this sweep is done. */
  sweep(): Promise<void> {
    this.#chain = this.#chain
      .then(() => this.#sweep())
      .catch((err: unknown) => {
        this.#o.logger.error({ err }, 'access expiry sweep failed');
        // Try again later rather than spin.
        if (!this.#stopped) this.#timer.mod(1000);
      });
    return this.#chain;
  }

  #owns(): boolean {
    return this.#o.gate?.owns() ?? true;
  }

  async #sweep(): Promise<void> {
    if (this.#stopped || !this.#owns()) return this.arm();
    const { store } = this.#o;
    const now = Math.floor(this.#o.clock.wallMs());
    const due = await store.dueAccess(now);
    const tick = { type: 'tick' } as const;
    for (const id of due.extensions) await this.#after(await store.extensionEvent('system', id, tick));
    for (const id of due.requests) await this.#after(await store.requestEvent('system', id, tick));
    for (const id of due.grants) await this.#after(await store.accessGrantEvent('system', id, tick));
    await this.arm();
  }

  async #after<S>(r: AccessResult<S>): Promise<void> {
    if (r.ok || r.notices.length || r.grants.length) this.ticks++;
    for (const grant of r.grants) await this.#o.hub.changed({ type: 'grant', grant });
    await this.#notify(r);
    this.#tell(r);
  }

  /** The notices to the vendor's webhooks and, for a customer's deployment, to the customer's. */
  async #notify<S>(r: AccessResult<S>): Promise<void> {
    if (!r.notices.length || !this.#o.webhooks) return;
    const s = r.ok ? (r.state as { deployment?: unknown; grant?: { deployment?: unknown } }) : undefined;
    const dep = typeof s?.deployment === 'string' ? s.deployment : s?.grant?.deployment;
    let also: string[] = [];
    if (typeof dep === 'string') {
      try {
        const hook = (await this.#o.store.customerOf(dep))?.webhook;
        if (hook) also = [hook];
      } catch (err) {
        this.#o.logger.warn({ err }, "could not read the deployment's customer webhook");
      }
    }
    this.#o.webhooks.enqueue(r.notices, also);
  }

  #tell<S>(r: AccessResult<S>): void {
    for (const n of r.notices) this.events.emit({ topic: n.topic, subject: n.subject, at: n.at });
    const at = Math.floor(this.#o.clock.wallMs());
    for (const g of r.grants) this.events.emit({ topic: 'grant', subject: `grant:${g.id}`, at });
  }

  /** Stops the timer and the webhooks; resolves when a sweep in progress has finished. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#timer.del();
    this.#o.webhooks?.stop();
    await this.#chain;
  }
}
