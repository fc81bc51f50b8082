// Targets behind the connector's router (DESIGN.md §6): protocol-aware proxies and reconcilers
// per service kind. See types.ts for the contract with the router.
export type {
  GrantIdentity,
  ProxyContext,
  TargetProxy,
  TargetReconciler,
  LocalAuditSink,
  GrantUsageSummary,
  TargetDeps,
  Target,
} from './types.ts';
export { TargetError, type TargetErrorCode } from './errors.ts';
export { createTarget, sweepLeftovers, targetKinds, type TargetSpec } from './registry.ts';
