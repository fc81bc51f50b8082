// IPv4 and ICMP echo packets for tests that talk to real IP stacks (the wireguard-go interop).
//
// IPv4 header (RFC 791), 20 bytes without options:
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |Version|  IHL  |    DSCP/ECN   |          Total Length         |
//   |         Identification        |Flags|     Fragment Offset     |
//   |  Time to Live |    Protocol   |        Header Checksum        |
//   |                       Source Address                          |
//   |                    Destination Address                        |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// ICMP echo request (type 8) / reply (type 0) (RFC 792):
//   | Type | Code=0 | Checksum (16) | Identifier (16) | Sequence (16) | Data ... |
//
// Checksums are the 16-bit ones' complement of the ones' complement sum (RFC 1071): over the
// header for IPv4, over the whole message for ICMP. A packet may arrive with trailing bytes (a
// WireGuard payload is zero-padded to a multiple of 16): Total Length says where it ends.

export const IPV4_HEADER_LEN = 20;
export const IPPROTO_ICMP = 1;
export const ICMP_ECHO_REPLY = 0;
export const ICMP_ECHO_REQUEST = 8;

/** RFC 1071 Internet checksum of `b[start, end)`. */
export function inetChecksum(b: Uint8Array, start = 0, end = b.length): number {
  let sum = 0;
  for (let i = start; i + 1 < end; i += 2) sum += (b[i] << 8) | b[i + 1];
  if ((end - start) % 2 === 1) sum += b[end - 1] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

export function ipv4ToBytes(s: string): Uint8Array {
  const parts = s.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255))
    throw new RangeError(`not an IPv4 address: ${s}`);
  return Uint8Array.from(parts);
}

export function ipv4ToString(b: Uint8Array, offset = 0): string {
  return `${b[offset]}.${b[offset + 1]}.${b[offset + 2]}.${b[offset + 3]}`;
}

export interface Ipv4Packet {
  src: string;
  dst: string;
  protocol: number;
  ttl: number;
  id: number;
  payload: Uint8Array;
}

/** An IPv4 packet without options, Don't-Fragment set, header checksum filled in. */
export function buildIpv4(p: {
  src: string;
  dst: string;
  protocol: number;
  payload: Uint8Array;
  ttl?: number;
  id?: number;
}): Uint8Array {
  const total = IPV4_HEADER_LEN + p.payload.length;
  if (total > 0xffff) throw new RangeError('IPv4 packet too long');
  const b = new Uint8Array(total);
  const v = new DataView(b.buffer);
  b[0] = 0x45; // version 4, IHL 5 words
  v.setUint16(2, total);
  v.setUint16(4, p.id ?? 0);
  v.setUint16(6, 0x4000); // DF
  b[8] = p.ttl ?? 64;
  b[9] = p.protocol;
  b.set(ipv4ToBytes(p.src), 12);
  b.set(ipv4ToBytes(p.dst), 16);
  v.setUint16(10, inetChecksum(b, 0, IPV4_HEADER_LEN));
  b.set(p.payload, IPV4_HEADER_LEN);
  return b;
}

/** Parses an IPv4 packet (ignoring trailing padding); undefined when malformed or its checksum is wrong. */
export function parseIpv4(b: Uint8Array): Ipv4Packet | undefined {
  if (b.length < IPV4_HEADER_LEN || b[0] >> 4 !== 4) return undefined;
  const ihl = (b[0] & 0x0f) * 4;
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const total = v.getUint16(2);
  if (ihl < IPV4_HEADER_LEN || total < ihl || total > b.length) return undefined;
  if (inetChecksum(b, 0, ihl) !== 0) return undefined;
  return {
    src: ipv4ToString(b, 12),
    dst: ipv4ToString(b, 16),
    protocol: b[9],
    ttl: b[8],
    id: v.getUint16(4),
    payload: b.subarray(ihl, total),
  };
}

export interface IcmpEcho {
  type: typeof ICMP_ECHO_REQUEST | typeof ICMP_ECHO_REPLY;
  id: number;
  seq: number;
  data: Uint8Array;
}

export function buildIcmpEcho(e: IcmpEcho): Uint8Array {
  const b = new Uint8Array(8 + e.data.length);
  const v = new DataView(b.buffer);
  b[0] = e.type;
  v.setUint16(4, e.id);
  v.setUint16(6, e.seq);
  b.set(e.data, 8);
  v.setUint16(2, inetChecksum(b));
  return b;
}

/** Parses an ICMP echo request or reply; undefined for anything else or a bad checksum. */
export function parseIcmpEcho(b: Uint8Array): IcmpEcho | undefined {
  if (b.length < 8 || (b[0] !== ICMP_ECHO_REQUEST && b[0] !== ICMP_ECHO_REPLY) || b[1] !== 0)
    return undefined;
  if (inetChecksum(b) !== 0) return undefined;
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return { type: b[0], id: v.getUint16(4), seq: v.getUint16(6), data: b.slice(8) };
}

/** An IPv4 packet carrying an ICMP echo request or reply. */
export function buildPing(p: { src: string; dst: string } & IcmpEcho): Uint8Array {
  return buildIpv4({ src: p.src, dst: p.dst, protocol: IPPROTO_ICMP, payload: buildIcmpEcho(p) });
}

/** The IPv4 header and ICMP echo of a packet, or undefined when it is not a valid ICMP echo. */
export function parsePing(b: Uint8Array): (Ipv4Packet & { echo: IcmpEcho }) | undefined {
  const ip = parseIpv4(b);
  if (!ip || ip.protocol !== IPPROTO_ICMP) return undefined;
  const echo = parseIcmpEcho(ip.payload);
  return echo && { ...ip, echo };
}

/** The echo reply answering an echo request packet (addresses swapped, same id, seq and data). */
export function pingReply(request: Uint8Array): Uint8Array | undefined {
  const p = parsePing(request);
  if (!p || p.echo.type !== ICMP_ECHO_REQUEST) return undefined;
  return buildPing({ src: p.dst, dst: p.src, ...p.echo, type: ICMP_ECHO_REPLY });
}
