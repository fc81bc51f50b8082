// The connector's targets (DESIGN.md §6): one per service of a kind with a target (clickhouse,
// kubernetes, prometheus), with or without `target` options. At start the connector first has it
// remove what an earlier config's targets left behind (sweep), then it creates the targets and
// lets each check that the server found can enforce it (Target.start). Keeps
// each target's reconciler converged on the netmap's active grants for its service — at every
// netmap change and every RECONCILE_INTERVAL_MS (a restart, a user removed by hand, a grant that
// ended between netmaps) — and forwards usage summaries to the coordinator's audit.
import type { Logger } from 'pino';
import { Timer, type Clock } from '../clock/index.ts';
import { grantAccess, type Netmap } from '../proto/control/index.ts';
import {
  createTarget,
  sweepLeftovers,
  type GrantIdentity,
  type GrantUsageSummary,
  type Target,
  type TargetSpec,
} from '../targets/index.ts';
import type { ServiceSpec } from './config.ts';
import { LocalAudit } from './local-audit.ts';

export const RECONCILE_INTERVAL_MS = 1000;

export interface ConnectorTargetsOptions {
  clock: Clock;
  logger: Logger;
  stateDir: string;
  actor: string;
  services: ServiceSpec[];
  deployment(): string;
  report(s: GrantUsageSummary): void;
  create?: (spec: TargetSpec, deps: Parameters<typeof createTarget>[1]) => Target | undefined;
}

export class ConnectorTargets {
  readonly audit: LocalAudit;
  readonly #o: ConnectorTargetsOptions;
  readonly #targets = new Map<string, Target>();
  readonly #timer: Timer;
  #netmap: Netmap | undefined;
  #busy = false;
  #again = false;
  #stopped = false;

  constructor(o: ConnectorTargetsOptions) {
    this.#o = o;
    this.audit = new LocalAudit(o.stateDir, o.clock, o.actor);
    this.#timer = new Timer(o.clock, () => void this.#reconcile());
  }

  #specs(): TargetSpec[] {
    return this.#o.services.map((s) => ({
      service: s.name,
      deployment: this.#o.deployment(),
      kind: s.kind,
      address: s.address,
      options: s.target,
    }));
  }

  /**
   * Removes what an earlier config's targets left behind (ClickHouse grant users in a users.d
   * directory no service here uses), whatever this config says: runs before any check that could
   * refuse the start. A service that will be refused (not tls=terminate) keeps nothing.
   */
  async sweep(): Promise<void> {
    const live = this.#specs().filter((_, i) => this.#o.services[i].tls === 'terminate');
    await sweepLeftovers(this.#o.stateDir, live, { logger: this.#o.logger, audit: this.audit });
  }

  /**
   * Creates the targets and runs their start checks. Bad options or a mode the server cannot
   * enforce reject here, before the agent registers anything; the targets created so far are
   * closed again.
   */
  async start(o: { signal?: AbortSignal } = {}): Promise<void> {
    const specs = this.#specs();
    const create = this.#o.create ?? createTarget;
    try {
      for (const spec of specs) {
        const t = create(spec, {
          clock: this.#o.clock,
          logger: this.#o.logger.child({ target: spec.service }),
          stateDir: this.#o.stateDir,
          audit: this.audit,
          report: (u) => this.#o.report(u),
        });
        if (t) this.#targets.set(spec.service, t);
      }
      for (const t of this.#targets.values()) await t.start?.(o);
    } catch (e) {
      await Promise.allSettled([...this.#targets.values()].map((t) => t.close()));
      this.#targets.clear();
      throw e;
    }
    if (this.#targets.size) this.#timer.mod(RECONCILE_INTERVAL_MS);
  }

  get(service: string): Target | undefined {
    return this.#targets.get(service);
  }

  netmapChanged(nm: Netmap): void {
    this.#netmap = nm;
    void this.#reconcile();
  }

  /** The active grants of one service in the current netmap, one per grant id. */
  grantsFor(service: string): GrantIdentity[] {
    const nm = this.#netmap;
    const now = this.#o.clock.wallMs();
    const out = new Map<string, GrantIdentity>();
    for (const g of nm?.grants ?? []) {
      if (!g.services.includes(service) || !g.user) continue;
      if (g.notBefore > now || (g.notAfter !== null && now >= g.notAfter)) continue;
      out.set(g.id, {
        grantId: g.id,
        user: g.user,
        service,
        deployment: nm?.self.deployment ?? '',
        notAfter: g.notAfter,
        access: grantAccess(g),
      });
    }
    return [...out.values()];
  }

  async #reconcile(): Promise<void> {
    if (this.#stopped) return;
    if (this.#busy) {
      this.#again = true;
      return;
    }
    this.#busy = true;
    try {
      do {
        this.#again = false;
        for (const [name, t] of this.#targets) {
          if (!t.reconciler) continue;
          try {
            await t.reconciler.reconcile(this.grantsFor(name));
          } catch (e) {
            this.#o.logger.error({ target: name, err: (e as Error).message }, 'target reconcile failed');
          }
        }
      } while (this.#again && !this.#stopped);
    } finally {
      this.#busy = false;
      if (!this.#stopped) this.#timer.mod(RECONCILE_INTERVAL_MS);
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#timer.del();
    await Promise.allSettled([...this.#targets.values()].map((t) => t.close()));
    this.#targets.clear();
    await this.audit.flushed();
  }
}
