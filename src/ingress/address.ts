// IP addresses as bytes, for allow lists and PROXY headers: parse (IPv4, IPv6, IPv4-mapped IPv6
// folded to IPv4), format (RFC 5952 for IPv6), and CIDR prefixes. Pure; never throws.
import { isIP } from 'node:net';

/** 4 or 16 bytes; an IPv4-mapped IPv6 address comes back as its 4 IPv4 bytes. Undefined: not an address. */
export function parseIp(s: string): Uint8Array | undefined {
  const zone = s.indexOf('%');
  const a = zone >= 0 ? s.slice(0, zone) : s;
  const v = isIP(a);
  if (v === 4) return Uint8Array.from(a.split('.').map(Number));
  if (v !== 6) return undefined;
  let head = a;
  let v4tail: number[] = [];
  const lastColon = a.lastIndexOf(':');
  if (a.slice(lastColon + 1).includes('.')) {
    v4tail = a
      .slice(lastColon + 1)
      .split('.')
      .map(Number);
    head = a.slice(0, lastColon + 1) + '0:0';
  }
  const [l, r] = head.split('::');
  const lp = l ? l.split(':') : [];
  const rp = r !== undefined && r !== '' ? r.split(':') : [];
  const groups = head.includes('::') ? [...lp, ...Array(8 - lp.length - rp.length).fill('0'), ...rp] : lp;
  if (groups.length !== 8) return undefined;
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    const n = parseInt(g, 16);
    out[i * 2] = n >> 8;
    out[i * 2 + 1] = n & 0xff;
  });
  if (v4tail.length === 4) out.set(v4tail, 12);
  const mapped = out.subarray(0, 10).every((x) => x === 0) && out[10] === 0xff && out[11] === 0xff;
  return mapped ? out.slice(12) : out;
}

/** Text of 4 or 16 address bytes (IPv6 per RFC 5952: lower case, longest zero run as ::). */
export function formatIp(b: Uint8Array): string {
  if (b.length === 4) return [...b].join('.');
  const g: number[] = [];
  for (let i = 0; i < 16; i += 2) g.push((b[i] << 8) | b[i + 1]);
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (xs: number[]) => xs.map((x) => x.toString(16)).join(':');
  return best < 0 ? hex(g) : `${hex(g.slice(0, best))}::${hex(g.slice(best + bestLen))}`;
}

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
