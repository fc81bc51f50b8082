// Where a session datagram goes and where one came from: a typed value from the socket to the
// session, never a string to parse per datagram (DESIGN.md §4 "Endpoints"). It lives here, below
// session/ and paths/, because both speak it and neither imports the other.
//
//   direct  an IP address and UDP port (the agent's one UDP socket)
//   relay   a relay region and the peer's key there (the relay forwards by key)
//
// `name` is the endpoint's text, made once when the value is made: "198.18.0.1:41641",
// "[2001:db8::1]:41641", "relay:us-east/<peer key>". It keys maps, feeds the cookie MAC and the rate
// limiter, and is what logs and status print. Two values name the same endpoint when their names
// are equal (sameEndpoint); the path layer keeps one value per endpoint, so the common case is
// the same object.
import type { PublicKey } from '../../crypto/index.ts';

export interface DirectEndpoint {
  readonly kind: 'direct';
  /** Canonical IP text (RFC 5952 for IPv6; IPv4-mapped addresses as plain IPv4). */
  readonly addr: string;
  readonly port: number;
  readonly name: string;
}

export interface RelayEndpoint {
  readonly kind: 'relay';
  readonly region: string;
  /** The peer this endpoint reaches (the relay's destination key). */
  readonly peer: PublicKey;
  readonly name: string;
}

export type Endpoint = DirectEndpoint | RelayEndpoint;

/**
 * A direct endpoint. `addr` must already be canonical (paths/endpoint.ts makes it so for text from
 * outside; a socket's own addresses are).
 */
export function directEndpoint(addr: string, port: number): DirectEndpoint {
  const name = addr.includes(':') ? `[${addr}]:${port}` : `${addr}:${port}`;
  return Object.freeze({ kind: 'direct', addr, port, name });
}

/** A relay endpoint: the peer `peer` through region `region`'s relay. */
export function relayEndpoint(region: string, peer: PublicKey): RelayEndpoint {
  return Object.freeze({ kind: 'relay', region, peer, name: `relay:${region}/${peer.base64()}` });
}

/** True when both name the same endpoint (undefined names none). */
export function sameEndpoint(a: Endpoint | undefined, b: Endpoint | undefined): boolean {
  return a === b || (a !== undefined && b !== undefined && a.name === b.name);
}
