// Standing grants for machine identities (DESIGN.md §5 "Access model"): the policy document's
// `standing` entries name machines (user accounts of machine identities, e.g. the metrics puller)
// and the deployments and services they may always reach. This keeps the store's grants equal to
// what the policies want — after a policy change, when services are registered or a user changes
// (hub changes), and every STANDING_RECONCILE_MS as a backstop (e.g. a machine's user account
// created after the policy) — by applying exactly the effects of the pure reconcileStanding
// (access/standing.ts): each change audited in its own transaction, followed by the reconciler's
// record of why, and pushed to the netmaps it touches. Grants it made are marked created_by `policy:<id>`; it never
// touches any other grant. A grant carries its entry's access level; a changed level replaces it.
import { Timer, type Clock } from '../clock/index.ts';
import {
  SYSTEM_ACTOR_ID,
  inForce,
  parsePolicyDocument,
  reconcileStanding,
  standingGrantsFor,
  type StandingGrant,
} from '../access/index.ts';
import type { Store } from '../store/index.ts';
import type { Change } from './affected.ts';
import type { Hub } from './hub.ts';
import type { Logger } from './logger.ts';
import type { TimerGate } from './timer-owner.ts';

export const STANDING_RECONCILE_MS = 60_000;
const MARK = 'policy:';

export interface StandingOptions {
  store: Store;
  hub: Hub;
  clock: Clock;
  logger: Logger;
  /** Whether this coordinator reconciles; default: it always does (one coordinator). */
  gate?: Pick<TimerGate, 'owns' | 'hint'>;
}

export class StandingGrants {
  readonly #o: StandingOptions;
  readonly #timer: Timer;
  #chain: Promise<unknown> = Promise.resolve();
  /** A pass is queued and has not started: further triggers join it. */
  #queued: Promise<{ created: number; revoked: number; skipped: string[] }> | undefined;
  #stopped = false;

  constructor(o: StandingOptions) {
    this.#o = o;
    this.#timer = new Timer(o.clock, () => void this.reconcile());
  }

  start(): void {
    this.#o.hub.onChange((c, origin) => {
      // A remote change already reached the owner through the change log: no hint for it.
      if (touchesStanding(c) && (origin === 'local' || this.#owns())) void this.reconcile();
    });
    void this.reconcile();
  }

  /**
   * Converges once (serialised; triggers while a pass waits to start share that pass); resolves
   * with what changed.
   */
  reconcile(): Promise<{ created: number; revoked: number; skipped: string[] }> {
    if (!this.#owns()) {
      // Another coordinator owns the timers: it reconciles.
      this.#o.gate?.hint('standing');
      return Promise.resolve({ created: 0, revoked: 0, skipped: [] });
    }
    if (this.#queued) return this.#queued;
    const run = this.#chain.then(() => {
      this.#queued = undefined;
      return this.#reconcile();
    });
    this.#queued = run;
    this.#chain = run.catch((err: unknown) =>
      this.#o.logger.error({ err }, 'standing grants: reconcile failed'),
    );
    return run;
  }

  async #reconcile(): Promise<{ created: number; revoked: number; skipped: string[] }> {
    const out = { created: 0, revoked: 0, skipped: [] as string[] };
    if (this.#stopped) return out;
    if (!this.#owns()) {
      this.#timer.del();
      return out;
    }
    try {
      const { store, hub } = this.#o;
      const stored = await store.getPolicy();
      let desired: StandingGrant[] = [];
      if (stored) {
        const policy = parsePolicyDocument(stored.document);
        const services = await store.listServices();
        for (const d of await store.listDeployments()) {
          // Labelled as the request evaluator sees them (store/access.ts): a service's kind and a
          // deployment's region and cloud are labels too, so `{ labels: { kind: 'prometheus' } }`
          // picks the Prometheus services connectors register.
          const svc = services
            .filter((s) => s.deployment === d.name)
            .map((s) => ({ name: s.name, labels: { kind: s.kind, ...s.labels } }));
          desired.push(
            ...standingGrantsFor(policy, { name: d.name, labels: { region: d.region, cloud: d.cloud } }, svc),
          );
        }
      }
      const users = new Map((await store.listUsers()).map((u) => [u.id, u.name]));
      const userNames = new Set(users.values());
      out.skipped = [...new Set(desired.filter((g) => !userNames.has(g.machine)).map((g) => g.machine))];
      desired = desired.filter((g) => userNames.has(g.machine));
      const now = this.#o.clock.wallMs();
      // What this coordinator holds, as the pure reconciler sees it (a grant to anything but a
      // user has machine '', which no policy wants: it goes).
      const held: StandingGrant[] = (await store.listGrants())
        .filter(
          (g) => g.createdBy.startsWith(MARK) && inForce({ end: g.expiresAt, revokedAt: g.revokedAt }, now),
        )
        .map((g) => ({
          id: g.id,
          policyId: g.createdBy.slice(MARK.length),
          machine: g.subjectType === 'user' ? (users.get(g.subjectId) ?? '') : '',
          deployment: g.deployment,
          services: g.services,
          access: g.access,
        }));
      // Each state change is audited by the store in its own transaction (grant.revoke by system,
      // grant.create by policy:<id>); the reconciler's records say why, right after it.
      for (const e of reconcileStanding(held, desired, SYSTEM_ACTOR_ID, now)) {
        if (e.kind === 'standing-removed') {
          const r = await store.revokeGrant(SYSTEM_ACTOR_ID, e.grant.id!);
          await hub.changed({ type: 'grant', grant: r });
          out.revoked++;
        } else if (e.kind === 'standing-created') {
          const g = e.grant;
          const r = await store.createGrant(`${MARK}${g.policyId}`, {
            subject: { type: 'user', name: g.machine },
            deployment: g.deployment,
            services: [...g.services],
            access: g.access,
          });
          await hub.changed({ type: 'grant', grant: r });
          out.created++;
        } else if (e.kind === 'audit')
          await store.recordAuditEntries([
            { action: e.action, actor: e.actor, subject: e.subject, details: e.details },
          ]);
      }
      if (out.created || out.revoked)
        this.#o.logger.info({ created: out.created, revoked: out.revoked }, 'standing grants reconciled');
      if (out.skipped.length)
        this.#o.logger.warn({ machines: out.skipped }, 'standing grants: no user account for these machines');
      return out;
    } finally {
      if (!this.#stopped && this.#owns()) this.#timer.mod(STANDING_RECONCILE_MS);
    }
  }

  #owns(): boolean {
    return this.#o.gate?.owns() ?? true;
  }

  /** Stops the backstop timer: this coordinator no longer owns the timers. */
  pause(): void {
    this.#timer.del();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#timer.del();
    await this.#chain;
  }
}

/** Changes that can alter what the standing policies give (grants are its own output). */
function touchesStanding(c: Change): boolean {
  return c.type === 'services' || c.type === 'user' || (c.type === 'node' && c.servicesChanged === true);
}
