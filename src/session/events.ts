import type { Endpoint } from '../proto/link/index.ts';
import type { PeerSession } from './peer.ts';

export type { Endpoint };

/** What a session tells its owner (SessionHostOptions.onEvent). */
export type SessionEvent =
  /** An initiation went out; `attempt` counts from 1 within one handshake attempt series. */
  | { type: 'handshake-initiated'; peer: PeerSession; attempt: number }
  /** A response went out (we are the responder; the keypair waits in `next` for confirmation). */
  | { type: 'handshake-responded'; peer: PeerSession }
  /** A keypair became current: initiator on the response, responder on the first data under it. */
  | { type: 'handshake-complete'; peer: PeerSession; role: 'initiator' | 'responder' }
  /** No response after 20 initiations: staged packets were dropped. */
  | { type: 'handshake-give-up'; peer: PeerSession; attempts: number }
  /** Sent data got no reply for 15 s: a new handshake starts. */
  | { type: 'handshake-stale'; peer: PeerSession }
  /** 540 s without a new keypair: every key of the peer was zeroed. */
  | { type: 'keys-zeroed'; peer: PeerSession }
  /** Roaming (PeerOptions.roam): an authenticated message came from a new endpoint, now the peer's. */
  | { type: 'endpoint-changed'; peer: PeerSession; from: Endpoint | undefined; to: Endpoint }
  /**
   * Without roaming: an authenticated message came from another endpoint than the one before it.
   * The owner chooses the peer's endpoint (the session does not move it).
   */
  | { type: 'source-changed'; peer: PeerSession; from: Endpoint | undefined; to: Endpoint }
  /** Under load, a handshake message without a valid mac2 was answered with a cookie reply. */
  | { type: 'cookie-sent'; to: Endpoint }
  /** A cookie reply from the peer was accepted; the next initiation carries mac2. */
  | { type: 'cookie-received'; peer: PeerSession };
