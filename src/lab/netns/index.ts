// Network namespaces, veth links, NAT routers and processes inside them: the plumbing of
// `sallyport lab --netns` (and of the netlab and interop tests, through src/testing).
export {
  IFNAME_MAX,
  WG_SOCKET_DIR,
  NetnsError,
  NetnsLab,
  exec,
  missingBinary,
  netnsMissing,
  processStartTicks,
  sleep,
  sweepStale,
  waitFor,
  type ExecOptions,
  type ExecResult,
  type LabProcess,
  type NetnsLabOptions,
  type SweepResult,
} from './netns.ts';
export { Netlab, sallyportArgv, socketsOf, type NatMode, type NetlabOptions, type Site } from './netlab.ts';
