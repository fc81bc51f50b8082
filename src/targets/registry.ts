// Service kind → target factory. A kind without a factory (http, tcp) has no target: the router
// pipes bytes to the service's address. A service of a kind with a factory gets a target when its
// config names `target` options; kubernetes and prometheus services get theirs also without
// options (their proxies are the point: without one nothing would be refused).
import type { Target, TargetDeps } from './types.ts';
import { createClickHouseTarget } from './clickhouse/index.ts';
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

/** Kinds whose proxy is the point: they get their target (with default options) even without options. */
const ALWAYS = new Set(['kubernetes', 'prometheus']);

/** The kinds that have a target implementation. */
export function targetKinds(): string[] {
  return Object.keys(FACTORIES).sort();
}

/** Builds the target of one service (throws TargetError TARGET_CONFIG on bad options). */
export function createTarget(spec: TargetSpec, deps: TargetDeps): Target | undefined {
  const f = FACTORIES[spec.kind];
  if (!f || (spec.options === undefined && !ALWAYS.has(spec.kind))) return undefined;
  return f(spec, deps);
}
