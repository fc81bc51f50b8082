// PROXY protocol version 2 (haproxy's proxy-protocol.txt §2.2), the binary header a load balancer
// puts before a connection's bytes so that the server learns the client's address:
//
//   12 bytes signature  \r\n\r\n\0\r\nQUIT\n
//   1 byte  version (high nibble, 2) | command (low: 0 LOCAL, 1 PROXY)
//   1 byte  family (high: 0 UNSPEC, 1 INET, 2 INET6, 3 UNIX) | transport (low: 0 UNSPEC, 1 STREAM, 2 DGRAM)
//   2 bytes length of what follows (big endian)
//   INET: src addr 4, dst addr 4, src port 2, dst port 2; INET6: 16, 16, 2, 2; then TLVs (ignored)
//
// A pure, incremental parser: give it the bytes so far; it says how many more it needs, or what the
// header says and how many bytes it took, or why it is not one. Never throws.
import { formatIp, parseIp } from './address.ts';

export const SIGNATURE = Buffer.from([
  0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a,
]);
/** A header longer than this is refused (16 + 216 covers every address family with room for TLVs). */
export const MAX_HEADER = 16 + 2048;

export type ProxyHeader =
  /** The balancer's own connection (a health check): no client address. */
  | { command: 'local'; length: number }
  | {
      command: 'proxy';
      length: number;
      family: 'inet' | 'inet6';
      source: { address: string; port: number };
      destination: { address: string; port: number };
    };

export type ProxyParse =
  { ok: true; header: ProxyHeader } | { ok: false; need: number } | { ok: false; error: string };

function ipv6(b: Buffer, at: number): string {
  return formatIp(b.subarray(at, at + 16));
}

export function parseProxyV2(b: Buffer): ProxyParse {
  const n = Math.min(b.length, SIGNATURE.length);
  if (!b.subarray(0, n).equals(SIGNATURE.subarray(0, n)))
    return { ok: false, error: 'not a PROXY protocol v2 header (bad signature)' };
  if (b.length < 16) return { ok: false, need: 16 - b.length };
  const verCmd = b[12];
  if (verCmd >> 4 !== 2) return { ok: false, error: `PROXY protocol version ${verCmd >> 4}, want 2` };
  const cmd = verCmd & 0x0f;
  if (cmd > 1) return { ok: false, error: `unknown PROXY command ${cmd}` };
  const len = b.readUInt16BE(14);
  const total = 16 + len;
  if (total > MAX_HEADER) return { ok: false, error: `PROXY header of ${total} bytes is too long` };
  if (b.length < total) return { ok: false, need: total - b.length };
  if (cmd === 0) return { ok: true, header: { command: 'local', length: total } };
  const fam = b[13] >> 4;
  const transport = b[13] & 0x0f;
  if (transport !== 1) return { ok: false, error: 'PROXY header for a non-stream transport' };
  if (fam === 1) {
    if (len < 12) return { ok: false, error: 'PROXY INET header too short' };
    const a = (at: number) => `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
    return {
      ok: true,
      header: {
        command: 'proxy',
        length: total,
        family: 'inet',
        source: { address: a(16), port: b.readUInt16BE(24) },
        destination: { address: a(20), port: b.readUInt16BE(26) },
      },
    };
  }
  if (fam === 2) {
    if (len < 36) return { ok: false, error: 'PROXY INET6 header too short' };
    return {
      ok: true,
      header: {
        command: 'proxy',
        length: total,
        family: 'inet6',
        source: { address: ipv6(b, 16), port: b.readUInt16BE(48) },
        destination: { address: ipv6(b, 32), port: b.readUInt16BE(50) },
      },
    };
  }
  return { ok: false, error: `PROXY header for address family ${fam} (only INET and INET6 are accepted)` };
}

/** A v2 header (tests, and a balancer written in Node). */
export function encodeProxyV2(
  h:
    | { command: 'local' }
    | {
        command: 'proxy';
        source: { address: string; port: number };
        destination: { address: string; port: number };
      },
): Buffer {
  if (h.command === 'local') return Buffer.concat([SIGNATURE, Buffer.from([0x20, 0x00, 0x00, 0x00])]);
  const v6 = h.source.address.includes(':');
  const addr = (s: string): Buffer => {
    const b = parseIp(s);
    if (!b) throw new RangeError(`not an IP address: ${s}`);
    if (!v6) return Buffer.from(b);
    const out = Buffer.alloc(16);
    if (b.length === 4) out.set([0xff, 0xff, ...b], 10);
    else out.set(b);
    return out;
  };
  const body = Buffer.concat([addr(h.source.address), addr(h.destination.address), Buffer.alloc(4)]);
  body.writeUInt16BE(h.source.port, body.length - 4);
  body.writeUInt16BE(h.destination.port, body.length - 2);
  const head = Buffer.from([0x21, v6 ? 0x21 : 0x11, 0, 0]);
  head.writeUInt16BE(body.length, 2);
  return Buffer.concat([SIGNATURE, head, body]);
}
