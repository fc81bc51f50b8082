export {
  RelayClient,
  RelayClientError,
  backoffDelay,
  type RelayClientOptions,
  type RelayClientState,
  type RelayClientStats,
} from './relay-client.ts';
export {
  UdpMux,
  bindUdp,
  type DatagramSocket,
  type BindOptions,
  type UdpMuxOptions,
  type UdpMuxStats,
  type UdpMuxDrop,
} from './udp-mux.ts';
export { StunClient, type StunClientOptions, type StunResult, type StunClientStats } from './stun-client.ts';
export { Discovery, type DiscoveryOptions, type Interfaces } from './discovery.ts';
export { PathChoice, MAX_OUTSTANDING_PINGS, MAX_SEEN_CANDIDATES } from './path-choice.ts';
export type * from './path-types.ts';
export {
  PeerPaths,
  DIRECT_DATAGRAM_SIZE,
  describePath,
  type PathPeer,
  type PathConnection,
  type PeerPathsOptions,
  type PeerPath,
  type PeerPathChange,
  type PeerPathStatus,
  type PingResult,
} from './peer-paths.ts';
export { DEFAULT_PATH_TIMINGS, resolvePathTimings, Wakeup, type PathTimings } from './timers.ts';
export { PathsError } from './errors.ts';
export {
  formatEndpoint,
  parseEndpoint,
  isDirectEndpoint,
  toDirectEndpoint,
  endpointParses,
  DirectEndpoints,
  normalizeEndpoint,
  canonicalAddress,
  type AddrPort,
} from './endpoint.ts';
export {
  chooseHome,
  HOME_SWITCH_RATIO,
  HOME_SWITCH_MIN_GAIN_MS,
  type RelayView,
  type HomeChoice,
  type HomeReason,
} from './home.ts';
