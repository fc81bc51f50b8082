// Endpoint text and the typed endpoints the session takes (session/endpoint.ts). Text appears where
// people and the control plane meet endpoints: the netmap's candidates ("198.18.0.1:41641",
// "[2001:db8::1]:41641"), STUN results, path frames' `{ address, port }`, status. The data path
// never parses text: a socket's source becomes a DirectEndpoint through DirectEndpoints (a lookup
// by address and port), and the path layer turns a candidate's text into its DirectEndpoint once.
import { directEndpoint, type DirectEndpoint } from '../proto/link/index.ts';
import { formatAddress, parseAddress, type Endpoint as AddrPort } from '../proto/frames/index.ts';

export type { AddrPort };

/** "a.b.c.d:port" or "[v6]:port", with the address in canonical form. */
export function formatEndpoint(e: AddrPort): string {
  const a = canonicalAddress(e.address) ?? e.address;
  return a.includes(':') ? `[${a}]:${e.port}` : `${a}:${e.port}`;
}

let parses = 0;

/** How many times endpoint text was parsed in this process (a test shows the data path never does). */
export function endpointParses(): number {
  return parses;
}

/**
 * The address and port of a direct endpoint's text, or undefined when it is not one (a relay
 * endpoint, a name, a bad port). IPv4-mapped IPv6 addresses come back as plain IPv4.
 */
export function parseEndpoint(s: string): AddrPort | undefined {
  parses++;
  let host: string;
  let port: string;
  if (s.startsWith('[')) {
    const end = s.indexOf(']:');
    if (end < 0) return undefined;
    host = s.slice(1, end);
    port = s.slice(end + 2);
  } else {
    const i = s.lastIndexOf(':');
    if (i < 0 || s.indexOf(':') !== i) return undefined;
    host = s.slice(0, i);
    port = s.slice(i + 1);
  }
  if (!/^[0-9]{1,5}$/.test(port) || Number(port) > 0xffff) return undefined;
  const address = canonicalAddress(host);
  return address === undefined ? undefined : { address, port: Number(port) };
}

/** The typed endpoint of a direct endpoint's text, or undefined when it is not one. */
export function toDirectEndpoint(s: string): DirectEndpoint | undefined {
  const e = parseEndpoint(s);
  return e && directEndpoint(e.address, e.port);
}

/** True for "ip:port" text (a direct UDP endpoint), false for relay endpoints and garbage. */
export function isDirectEndpoint(s: string | undefined): s is string {
  return s !== undefined && parseEndpoint(s) !== undefined;
}

/** The canonical text of an IP address (RFC 5952 for IPv6; ::ffff:a.b.c.d becomes a.b.c.d). */
export function canonicalAddress(s: string): string | undefined {
  const zone = s.indexOf('%');
  const b = parseAddress(zone >= 0 ? s.slice(0, zone) : s);
  if (!b) return undefined;
  if (b.length === 16 && b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff)
    return formatAddress(b.subarray(12));
  return formatAddress(b);
}

/** Endpoint text in canonical form (so two spellings of one endpoint compare equal), or as given. */
export function normalizeEndpoint(s: string): string {
  const e = parseEndpoint(s);
  return e ? formatEndpoint(e) : s;
}

/**
 * One DirectEndpoint per socket source (address as the socket reports it, port): what a socket's
 * receive path turns its sources into, by lookup. Bounded: cleared when `max` sources are held
 * (a flood of new sources costs a canonicalisation each, never memory).
 */
export class DirectEndpoints {
  readonly #byAddress = new Map<string, Map<number, DirectEndpoint>>();
  readonly #max: number;
  #size = 0;

  constructor(max = 4096) {
    this.#max = max;
  }

  of(address: string, port: number): DirectEndpoint {
    let ports = this.#byAddress.get(address);
    const hit = ports?.get(port);
    if (hit !== undefined) return hit;
    if (this.#size >= this.#max) {
      this.#byAddress.clear();
      this.#size = 0;
      ports = undefined;
    }
    if (ports === undefined) this.#byAddress.set(address, (ports = new Map()));
    const e = directEndpoint(canonicalAddress(address) ?? address, port);
    ports.set(port, e);
    this.#size++;
    return e;
  }
}
