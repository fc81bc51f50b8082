// The sallyport agent (DESIGN.md §1, §4, §5): a connector in front of a customer's services or an
// engineer's node, dialing out only.
export { Agent, type AgentOptions } from './node.ts';
export { AgentError } from './errors.ts';
export { parseServe, readConfigFile, parseHostPort, type ServiceSpec } from './config.ts';
export { ControlLoop, type ControlState } from './control.ts';
export { ctlRequest, type CtlReply, type CtlRequest } from './ctl.ts';
export {
  loadOrCreateNodeKey,
  readSettings,
  writeSettings,
  socketPath,
  ensureStateDir,
  type StoredSettings,
} from './state.ts';
export { coveringGrant, resolveTailnetName, resolveServiceRef } from './grants.ts';
export { REFUSE_NO_GRANT, REFUSE_UNKNOWN_SERVICE, REFUSE_NO_CERTIFICATE } from './router.ts';
export type { AgentStatus, PeerStatus } from './status.ts';
export type { Path } from './paths.ts';
export { AgentMetrics } from './metrics.ts';
export {
  pathWhy,
  findPeer,
  type NetcheckReport,
  type PingReply,
  type PingReport,
  type WhyInput,
} from './diagnose.ts';
