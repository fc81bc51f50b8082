// The session core: WireGuard's handshake and transport, bit for bit, for one host and its peers.
//
// Drop reasons counted in SessionHost.drops:
//   short, unknown-type, bad-length         malformed datagrams
//   bad-mac1, cookie-sent, rate-limited     handshake messages refused before any DH
//   bad-initiation, unknown-peer            initiations that do not authenticate / are not ours
//   replayed-initiation, initiation-flood   TAI64N not newer / under 20 ms after the last one
//   unknown-index, bad-response, bad-cookie responses and cookie replies we cannot match
//   expired-keypair, counter-limit, bad-auth, replay   transport messages refused
//   staged-overflow, staged-flushed, empty-payload, no-endpoint, peer-stopped, stopped,
//   send-error, payload-handler-error, event-handler-error, internal (a bug: never expected)
export { SessionHost, type SessionHostOptions } from './host.ts';
export { PeerSession, type PeerOptions, type PeerStats, type KeypairInfo } from './peer.ts';
export type { SessionEvent } from './events.ts';
export {
  directEndpoint,
  relayEndpoint,
  sameEndpoint,
  type Endpoint,
  type DirectEndpoint,
  type RelayEndpoint,
} from '../proto/link/index.ts';
export { SessionError } from './errors.ts';
export {
  NoiseIKpsk2,
  type TransportKeys,
  type Initiating,
  type Responding,
  type NoiseOptions,
} from './noise.ts';
export { wireguardNoise } from './handshake.ts';
export { DEFAULT_UNDER_LOAD_PER_SECOND } from './load.ts';
export * as constants from './constants.ts';
