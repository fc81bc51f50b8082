// IP addresses as bytes, for allow lists and PROXY headers: parse (IPv4, IPv6, IPv4-mapped IPv6
// folded to IPv4), format (RFC 5952 for IPv6), and CIDR prefixes. Pure; never throws.
import { formatAddress, parseAddress } from '../util/ip.ts';

/** 4 or 16 bytes; an IPv4-mapped IPv6 address comes back as its 4 IPv4 bytes. Undefined: not an address. */
export function parseIp(s: string): Uint8Array | undefined {
  const zone = s.indexOf('%');
  const out = parseAddress(zone >= 0 ? s.slice(0, zone) : s);
  if (!out) return undefined;
  const mapped =
    out.length === 16 && out.subarray(0, 10).every((x) => x === 0) && out[10] === 0xff && out[11] === 0xff;
  return mapped ? out.slice(12) : out;
}

/** Text of 4 or 16 address bytes (IPv6 per RFC 5952). */
export const formatIp = formatAddress;

export interface Cidr {
  bytes: Uint8Array;
  bits: number;
  /** As written back: "10.0.0.0/8", "2001:db8::/32". */
  text: string;
}

/** "10.0.0.0/8", "2001:db8::/32", or a bare address (a /32 or /128). Undefined: not one. */
export function parseCidr(s: string): Cidr | undefined {
  const slash = s.indexOf('/');
  const addr = parseIp(slash < 0 ? s : s.slice(0, slash));
  if (!addr) return undefined;
  const max = addr.length * 8;
  let bits = max;
  if (slash >= 0) {
    const t = s.slice(slash + 1);
    if (!/^\d{1,3}$/.test(t)) return undefined;
    bits = Number(t);
    // an IPv4-mapped prefix (::ffff:10.0.0.0/104) counts in IPv4 bits
    if (addr.length === 4 && s.slice(0, slash).includes(':')) bits -= 96;
    if (bits < 0 || bits > max) return undefined;
  }
  const bytes = Uint8Array.from(addr);
  for (let i = 0; i < bytes.length; i++) {
    const keep = Math.max(0, Math.min(8, bits - i * 8));
    bytes[i] &= (0xff << (8 - keep)) & 0xff;
  }
  return { bytes, bits, text: `${formatIp(bytes)}/${bits}` };
}

export function cidrContains(c: Cidr, ip: Uint8Array): boolean {
  if (ip.length !== c.bytes.length) return false;
  for (let i = 0; i < ip.length; i++) {
    const keep = Math.max(0, Math.min(8, c.bits - i * 8));
    if (keep === 0) return true;
    const mask = (0xff << (8 - keep)) & 0xff;
    if ((ip[i] & mask) !== c.bytes[i]) return false;
  }
  return true;
}

/** Private, loopback and link-local ranges: RFC 1918, RFC 6598 (CGNAT), 127/8, RFC 4193 ULA, ::1, link-local. */
export const PRIVATE_RANGES: readonly Cidr[] = [
  '10.0.0.0/8',
  '172.16.0.0/12',
  '192.168.0.0/16',
  '100.64.0.0/10',
  '127.0.0.0/8',
  '169.254.0.0/16',
  'fc00::/7',
  '::1/128',
  'fe80::/10',
].map((s) => parseCidr(s)!);

export function isPrivateIp(ip: Uint8Array): boolean {
  return PRIVATE_RANGES.some((c) => cidrContains(c, ip));
}
