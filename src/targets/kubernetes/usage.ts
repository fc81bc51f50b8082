// Per-grant request counts of an HTTP target, for the connector's local audit and the usage
// summary the coordinator records under the grant (count, failures). The summary of a grant is
// reported once, when the grant leaves the active set the agent reconciles (end or revocation).
import type { GateOutcome } from './reverse-proxy.ts';
import type { GrantIdentity, ProxyContext, TargetDeps, TargetReconciler } from '../types.ts';

/** Longest request target written to the audit. */
const MAX_AUDIT_TARGET = 512;
/** Most grants counted at once (a grant is dropped unreported past this; I10). */
const MAX_GRANTS = 10_000;

export class UsageTracker implements TargetReconciler {
  readonly #deps: TargetDeps;
  readonly #service: string;
  readonly #action: string;
  readonly #counts = new Map<string, { queries: number; failures: number }>();

  /** `action` names the audit records, e.g. "kubernetes.request". */
  constructor(deps: TargetDeps, service: string, action: string) {
    this.#deps = deps;
    this.#service = service;
    this.#action = action;
  }

  /** Records one finished request in the local audit and the grant's counts. */
  record(o: GateOutcome, ctx: ProxyContext, extra: Record<string, unknown> = {}): void {
    const failed = o.refused !== undefined || o.status >= 400;
    let c = this.#counts.get(ctx.grantId);
    if (!c && this.#counts.size < MAX_GRANTS)
      this.#counts.set(ctx.grantId, (c = { queries: 0, failures: 0 }));
    if (c) {
      c.queries++;
      if (failed) c.failures++;
    }
    this.#deps.audit.append(this.#action, ctx.user, {
      grantId: ctx.grantId,
      service: this.#service,
      method: o.method,
      target: o.target.slice(0, MAX_AUDIT_TARGET),
      status: o.status,
      ...(o.refused ? { refused: o.refused } : {}),
      ...extra,
    });
  }

  counts(grantId: string): { queries: number; failures: number } | undefined {
    return this.#counts.get(grantId);
  }

  /** Reports and forgets the grants that are no longer active. */
  async reconcile(grants: readonly GrantIdentity[]): Promise<void> {
    const active = new Set(grants.map((g) => g.grantId));
    for (const [grantId, c] of this.#counts) {
      if (active.has(grantId)) continue;
      this.#counts.delete(grantId);
      this.#deps.report?.({ grantId, service: this.#service, queries: c.queries, failures: c.failures });
    }
  }

  async close(): Promise<void> {}
}
