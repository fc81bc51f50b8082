// The kubernetes target: kubectl through the router with impersonation (DESIGN.md §6). The
// reverse proxy and usage counting are shared with the prometheus target.
export {
  createKubernetesTarget,
  parseKubernetesOptions,
  impersonationHeaders,
  kubernetesStatus,
  userRefusal,
  DEFAULT_GROUP,
  DEFAULT_WRITE_GROUP,
  DEFAULT_ADMIN_GROUP,
  NAME_PREFIX,
  capAccess,
  groupsFor,
  GRANT_EXTRA,
  type KubernetesOptions,
} from './target.ts';
export { classify, decide as kubernetesDecision, type Classified, type ParsedTarget } from './policy.ts';
export {
  ReverseProxy,
  baseHeaders,
  type ReverseProxyOptions,
  type Refusal,
  type GateRequest,
  type GateOutcome,
} from './reverse-proxy.ts';
export { UsageTracker } from './usage.ts';
export { parseTargetAddress } from './address.ts';
