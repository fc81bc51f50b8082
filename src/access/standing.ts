// Standing access for machine identities (management services, the metrics puller): defined by
// policy, no human approval, audited like any other change. The coordinator expands the policies
// against its deployments and services, then reconciles what it holds with what the policies want.
import { audit, type Effect, type StandingGrant } from './effects.ts';
import type { Labelled, PolicySet } from './policy.ts';
import { matches } from './selector.ts';

export type { StandingGrant } from './effects.ts';

/** The standing grants `policies` give on one deployment (one per standing policy and machine). */
export function standingGrantsFor(
  policies: PolicySet,
  deployment: Labelled,
  services: readonly Labelled[],
): StandingGrant[] {
  const out: StandingGrant[] = [];
  for (const sp of policies.standing) {
    if (!matches(sp.deployments, deployment)) continue;
    const names = services
      .filter((s) => matches(sp.services, s))
      .map((s) => s.name)
      .sort();
    if (names.length === 0) continue;
    for (const machine of sp.machines) {
      out.push({ policyId: sp.id, machine, deployment: deployment.name, services: names, access: sp.access });
    }
  }
  return out;
}

/** Whether any standing grant lets `machine` reach `service` of `deployment`. */
export function standingCovers(
  grants: readonly StandingGrant[],
  machine: string,
  deployment: string,
  service: string,
): boolean {
  return grants.some(
    (g) => g.machine === machine && g.deployment === deployment && g.services.includes(service),
  );
}

const key = (g: StandingGrant): string => `${g.policyId}\u0000${g.machine}\u0000${g.deployment}`;
const same = (a: StandingGrant, b: StandingGrant): boolean =>
  a.access === b.access &&
  a.services.length === b.services.length &&
  [...a.services].sort().every((s, i) => s === [...b.services].sort()[i]);

/**
 * The effects that take the standing grants held (`current`) to those the policies want (`desired`):
 * removals first (a changed grant is removed, then created again; a second grant held for the same
 * policy, machine and deployment is removed), each with its audit record. The coordinator applies
 * exactly these (control/standing.ts).
 */
export function reconcileStanding(
  current: readonly StandingGrant[],
  desired: readonly StandingGrant[],
  actor: string,
  now: number,
): Effect[] {
  const want = new Map(desired.map((g) => [key(g), g]));
  const kept = new Map<string, StandingGrant>();
  const removed: Effect[] = [];
  const created: Effect[] = [];
  const subject = (g: StandingGrant): string => `standing:${g.policyId}/${g.machine}/${g.deployment}`;
  for (const g of current) {
    const k = key(g);
    const w = want.get(k);
    if (w !== undefined && same(g, w) && !kept.has(k)) {
      kept.set(k, g);
      continue;
    }
    removed.push(
      { kind: 'standing-removed', grant: g },
      audit('standing.remove', actor, subject(g), now, {
        services: g.services,
        access: g.access,
        ...(g.id !== undefined ? { grant: g.id } : {}),
        why: w === undefined ? 'not-wanted' : kept.has(k) ? 'duplicate' : 'changed',
      }),
    );
  }
  for (const [k, g] of want) {
    if (kept.has(k)) continue;
    created.push(
      { kind: 'standing-created', grant: g },
      audit('standing.create', actor, subject(g), now, { services: g.services, access: g.access }),
    );
  }
  return [...removed, ...created];
}
