// IP address text <-> bytes, for the address attributes. Text forms follow what node:dgram reports
// in `rinfo.address`: dotted quad for IPv4, RFC 5952 for IPv6 (lower case, longest zero run
// compressed, IPv4-mapped addresses as ::ffff:a.b.c.d).
import { isIPv4, isIPv6 } from 'node:net';
import { formatAddress } from '../../util/ip.ts';
import { StunError } from './errors.ts';

/** The 4 or 16 bytes of an IP address in text; throws STUN_INVALID_ARGUMENT otherwise. A zone is dropped. */
export function ipToBytes(text: string): Uint8Array {
  const addr = text.includes('%') ? text.slice(0, text.indexOf('%')) : text;
  if (isIPv4(addr)) return Uint8Array.from(addr.split('.').map(Number));
  if (!isIPv6(addr))
    throw new StunError('STUN_INVALID_ARGUMENT', `not an IP address: ${JSON.stringify(text)}`);
  const out = new Uint8Array(16);
  let groups: string[];
  let tail = addr;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(addr);
  if (v4) {
    out.set(ipToBytes(v4[1]), 12);
    tail = addr.slice(0, addr.length - v4[1].length) + '0:0';
  }
  const [head, rest] = tail.split('::');
  if (rest === undefined) groups = head.split(':');
  else {
    const h = head ? head.split(':') : [];
    const r = rest ? rest.split(':') : [];
    groups = [...h, ...Array<string>(8 - h.length - r.length).fill('0'), ...r];
  }
  for (let i = 0; i < 8; i++) {
    if (v4 && i >= 6) break;
    const g = parseInt(groups[i], 16);
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  }
  return out;
}

/** Text of 4 or 16 address bytes. */
export function bytesToIp(b: Uint8Array): string {
  if (b.length === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  if (b.length !== 16)
    throw new StunError('STUN_INVALID_ARGUMENT', `address must be 4 or 16 bytes, not ${b.length}`);
  const mapped = b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff;
  if (mapped) return `::ffff:${bytesToIp(b.subarray(12))}`;
  return formatAddress(b);
}
