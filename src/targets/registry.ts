// Service kind → target factory. A kind without a factory (http, tcp) has no target: the router
// pipes bytes to the service's address. A service of a kind with a factory always gets its target,
// with or without `target` options (fail closed: its proxy is the point, and without one nothing
// would be refused); a factory that cannot default a required option throws TARGET_CONFIG.
import type { Target, TargetDeps } from './types.ts';
import { createClickHouseTarget, parseClickHouseOptions, sweepLeftoverUsers } from './clickhouse/index.ts';
import { createKubernetesTarget } from './kubernetes/index.ts';
import { createPrometheusTarget } from './prometheus/index.ts';

export interface TargetSpec {
  service: string;
  deployment: string;
  kind: string;
  address: string;
  /** The service's `target` object from the connector's config file, unvalidated. */
  options: unknown;
}

type Factory = (
  o: { service: string; deployment: string; address: string; options: unknown },
  deps: TargetDeps,
) => Target;

const FACTORIES: Record<string, Factory> = {
  clickhouse: createClickHouseTarget,
  kubernetes: createKubernetesTarget,
  prometheus: createPrometheusTarget,
};

/** The kinds that have a target implementation. */
export function targetKinds(): string[] {
  return Object.keys(FACTORIES).sort();
}

/** Builds the target of one service (throws TargetError TARGET_CONFIG on bad options). */
export function createTarget(spec: TargetSpec, deps: TargetDeps): Target | undefined {
  const f = FACTORIES[spec.kind];
  if (!f) return undefined;
  return f(spec, deps);
}

/**
 * Removes what targets of an earlier config left behind (ClickHouse grant users in a users.d
 * directory no service in `specs` uses now), from the record in the state directory. Runs at
 * connector start whatever the config says; returns what it removed.
 */
export async function sweepLeftovers(
  stateDir: string,
  specs: readonly TargetSpec[],
  deps: Pick<TargetDeps, 'logger' | 'audit'>,
): Promise<string[]> {
  const inUse = new Set<string>();
  for (const s of specs) {
    if (s.kind !== 'clickhouse') continue;
    try {
      inUse.add(parseClickHouseOptions(s.options, s.address).usersDir);
    } catch {
      // Bad options: the agent refuses to start; its old users go all the same.
    }
  }
  return sweepLeftoverUsers(stateDir, inUse, deps);
}
