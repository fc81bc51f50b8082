/**
 * Endpoint addresses inside path frames:
 *
 *   +--------+---------------------------+----------+
 *   | family | address (4 or 16 bytes)   | port u16 |
 *   | 4 or 6 | network byte order        | big end. |
 *   +--------+---------------------------+----------+
 *
 * In memory an endpoint is `{ address, port }` with the address as text: dotted quad for IPv4, the
 * RFC 5952 canonical form for IPv6 (lower case, longest run of zero groups shortened to `::`).
 */
import { FrameError } from './errors.ts';
import type { Reader, Writer } from './wire.ts';

export interface Endpoint {
  readonly address: string;
  readonly port: number;
}

export const FAMILY_V4 = 4;
export const FAMILY_V6 = 6;

function parseV4(s: string): Uint8Array | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(parts[i])) return undefined;
    const n = Number(parts[i]);
    if (n > 255) return undefined;
    out[i] = n;
  }
  return out;
}

function parseV6(s: string): Uint8Array | undefined {
  let text = s;
  let tail: Uint8Array | undefined;
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.', lastColon)) {
    tail = parseV4(text.slice(lastColon + 1));
    if (!tail) return undefined;
    text = text.slice(0, lastColon + 1) + '0:0';
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groups = (h: string): string[] => (h === '' ? [] : h.split(':'));
  const head = groups(halves[0]);
  const rest = halves.length === 2 ? groups(halves[1]) : [];
  const missing = 8 - head.length - rest.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const all = [...head, ...new Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...rest];
  const out = new Uint8Array(16);
  for (let i = 0; i < 8; i++) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(all[i])) return undefined;
    const n = parseInt(all[i], 16);
    out[2 * i] = n >> 8;
    out[2 * i + 1] = n & 0xff;
  }
  if (tail) out.set(tail, 12);
  return out;
}

/** The address bytes (4 or 16) of a textual IPv4 or IPv6 address, or undefined when it is neither. */
export function parseAddress(s: string): Uint8Array | undefined {
  return s.includes(':') ? parseV6(s) : parseV4(s);
}

/** Text of 4 or 16 address bytes (RFC 5952 form for IPv6). */
export function formatAddress(b: Uint8Array): string {
  if (b.length === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  const g: number[] = [];
  for (let i = 0; i < 8; i++) g.push((b[2 * i] << 8) | b[2 * i + 1]);
  let bestAt = -1;
  let bestLen = 1; // a single zero group is not shortened (RFC 5952 §4.2.2)
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestAt = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (xs: number[]): string => xs.map((x) => x.toString(16)).join(':');
  if (bestAt < 0) return hex(g);
  return `${hex(g.slice(0, bestAt))}::${hex(g.slice(bestAt + bestLen))}`;
}

/** Encoded size of an endpoint (family + address + port). */
export function endpointLength(e: Endpoint): number {
  return e.address.includes(':') ? 19 : 7;
}

export function writeEndpoint(w: Writer, e: Endpoint): void {
  const b = parseAddress(e.address);
  if (!b) throw new RangeError(`not an IP address: ${e.address}`);
  if (!Number.isInteger(e.port) || e.port < 0 || e.port > 0xffff) throw new RangeError(`bad port: ${e.port}`);
  w.u8(b.length === 4 ? FAMILY_V4 : FAMILY_V6);
  w.bytes(b);
  w.u16(e.port);
}

export function readEndpoint(r: Reader): Endpoint {
  const family = r.u8('an address family');
  if (family !== FAMILY_V4 && family !== FAMILY_V6)
    throw new FrameError('FRAME_MALFORMED', `unknown address family ${family}`);
  const address = formatAddress(r.bytes(family === FAMILY_V4 ? 4 : 16, 'an address'));
  return { address, port: r.u16('a port') };
}
