// Service kind → target factory. A kind without a factory (http, tcp) has no target: the router
// pipes bytes to the service's address. A service of a kind with a factory gets a target when its
// config names `target` options, and for kinds whose proxy is the point (kubernetes, prometheus)
// also without options.
import type { Target, TargetDeps } from './types.ts';

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

const FACTORIES: Record<string, Factory> = {};

/** The kinds that have a target implementation. */
export function targetKinds(): string[] {
  return Object.keys(FACTORIES).sort();
}

/** Builds the target of one service (throws TargetError TARGET_CONFIG on bad options). */
export function createTarget(spec: TargetSpec, deps: TargetDeps): Target | undefined {
  const f = FACTORIES[spec.kind];
  if (!f || spec.options === undefined) return undefined;
  return f(spec, deps);
}
