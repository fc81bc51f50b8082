// Endpoint names, as the session layer uses them: a direct UDP endpoint is "198.18.0.1:41641" or
// "[2001:db8::1]:41641"; anything else ("relay:us-east/<key>") is not direct. Path frames carry
// endpoints as `{ address, port }` (src/proto/frames/addr.ts); these convert between the two.
import { formatAddress, parseAddress, type Endpoint as AddrPort } from '../proto/frames/index.ts';

export type { AddrPort };

/** "a.b.c.d:port" or "[v6]:port", with the address in canonical form. */
export function formatEndpoint(e: AddrPort): string {
  // Per received datagram (the sender's address from the socket): remembered like parseEndpoint.
  const key = `${e.address}|${e.port}`;
  let f = formatted.get(key);
  if (f === undefined) {
    f = formatUncached(e);
    if (formatted.size >= PARSED_MAX) formatted.clear();
    formatted.set(key, f);
  }
  return f;
}

const formatted = new Map<string, string>();

function formatUncached(e: AddrPort): string {
  const a = canonicalAddress(e.address) ?? e.address;
  return a.includes(':') ? `[${a}]:${e.port}` : `${a}:${e.port}`;
}

/**
 * The address and port of a direct endpoint string, or undefined when it is not one (a relay
 * endpoint, a name, a bad port). IPv4-mapped IPv6 addresses come back as plain IPv4.
 */
export function parseEndpoint(s: string): AddrPort | undefined {
  // Per datagram on the direct path (the session's send callback, then the UDP socket): the same
  // few endpoint strings again and again, so their parse is remembered (bounded, cleared when full).
  const hit = parsed.get(s);
  if (hit !== undefined) return hit === null ? undefined : { address: hit.address, port: hit.port };
  const r = parseUncached(s);
  if (parsed.size >= PARSED_MAX) parsed.clear();
  parsed.set(s, r ?? null);
  return r && { address: r.address, port: r.port };
}

/** Endpoint strings whose parse is remembered at most (the cache is cleared when it is full). */
const PARSED_MAX = 256;
const parsed = new Map<string, Readonly<AddrPort> | null>();

function parseUncached(s: string): AddrPort | undefined {
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

/** True for "ip:port" endpoints (the direct UDP path), false for relay endpoints and garbage. */
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
