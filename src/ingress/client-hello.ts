// The first flight of a TLS client, read before TLS starts (RFC 8446 §4.1.2, §5.1; RFC 6066 §3 SNI;
// RFC 7301 ALPN): the ingress needs the server name to route and to pick the certificate, and the
// ALPN list to see an ACME tls-alpn-01 validation (RFC 8737: ALPN "acme-tls/1"). A pure,
// incremental parser over the bytes so far; the ClientHello may span several records. Never throws.

/** The ClientHello may take at most this many bytes of records (a real one is under 2 KiB; with post-quantum key shares, under 4). */
export const MAX_HELLO_BYTES = 16 * 1024 + 5;

export interface ClientHello {
  /** The SNI host name, lower case; undefined when the client sent none. */
  serverName: string | undefined;
  alpn: string[];
}

export type HelloParse =
  { ok: true; hello: ClientHello } | { ok: false; need: true } | { ok: false; error: string };

class Short extends Error {}

/** Reads big-endian fields from a Uint8Array, throwing Short past the end (caught below). */
class Reader {
  at = 0;
  constructor(readonly b: Uint8Array) {}
  u8(): number {
    if (this.at + 1 > this.b.length) throw new Short();
    return this.b[this.at++];
  }
  u16(): number {
    return (this.u8() << 8) | this.u8();
  }
  u24(): number {
    return (this.u8() << 16) | (this.u8() << 8) | this.u8();
  }
  bytes(n: number): Uint8Array {
    if (this.at + n > this.b.length) throw new Short();
    const out = this.b.subarray(this.at, this.at + n);
    this.at += n;
    return out;
  }
}

/** The handshake bytes carried by the leading handshake records, or need/error. */
function handshakeBytes(b: Uint8Array): { bytes: Uint8Array; complete: boolean } | { error: string } {
  const parts: Uint8Array[] = [];
  let at = 0;
  let total = 0;
  let want = -1;
  while (at + 5 <= b.length) {
    if (b[at] !== 22)
      return {
        error:
          at === 0
            ? 'not a TLS handshake (first byte is not 22)'
            : 'a non-handshake record inside the ClientHello',
      };
    if (b[at + 1] !== 3) return { error: 'not a TLS record (version major is not 3)' };
    const len = (b[at + 3] << 8) | b[at + 4];
    if (len === 0 || len > 16384) return { error: `a TLS record of ${len} bytes` };
    if (at + 5 + len > b.length) break;
    parts.push(b.subarray(at + 5, at + 5 + len));
    total += len;
    at += 5 + len;
    if (want < 0 && total >= 4) {
      const h = Buffer.concat(parts);
      if (h[0] !== 1) return { error: `the first handshake message is type ${h[0]}, not ClientHello` };
      want = 4 + ((h[1] << 16) | (h[2] << 8) | h[3]);
    }
    if (want >= 0 && total >= want) return { bytes: Buffer.concat(parts).subarray(0, want), complete: true };
  }
  if (b.length > MAX_HELLO_BYTES) return { error: `no complete ClientHello within ${MAX_HELLO_BYTES} bytes` };
  return { bytes: Buffer.concat(parts), complete: false };
}

export function parseClientHello(b: Uint8Array): HelloParse {
  if (b.length > 0 && b[0] !== 22) return { ok: false, error: 'not a TLS handshake (first byte is not 22)' };
  const hs = handshakeBytes(b);
  if ('error' in hs) return { ok: false, error: hs.error };
  if (!hs.complete) return { ok: false, need: true };
  try {
    const r = new Reader(hs.bytes);
    r.u8(); // type 1
    const len = r.u24();
    const body = new Reader(r.bytes(len));
    body.u16(); // legacy_version
    body.bytes(32); // random
    body.bytes(body.u8()); // legacy_session_id
    const suites = body.u16();
    if (suites % 2 !== 0 || suites === 0)
      return { ok: false, error: 'ClientHello with a malformed cipher suite list' };
    body.bytes(suites);
    body.bytes(body.u8()); // legacy_compression_methods
    const hello: ClientHello = { serverName: undefined, alpn: [] };
    if (body.at === body.b.length) return { ok: true, hello };
    const ext = new Reader(body.bytes(body.u16()));
    const seen = new Set<number>();
    while (ext.at < ext.b.length) {
      const type = ext.u16();
      const data = new Reader(ext.bytes(ext.u16()));
      if (seen.has(type)) return { ok: false, error: `ClientHello repeats extension ${type}` };
      seen.add(type);
      if (type === 0) {
        const list = new Reader(data.bytes(data.u16()));
        while (list.at < list.b.length) {
          const nameType = list.u8();
          const name = list.bytes(list.u16());
          if (nameType !== 0) continue;
          const text = Buffer.from(name).toString('latin1');
          if (!/^[A-Za-z0-9._-]{1,253}$/.test(text))
            return { ok: false, error: 'ClientHello with a malformed server name' };
          hello.serverName = text.toLowerCase().replace(/\.$/, '');
        }
      } else if (type === 16) {
        const list = new Reader(data.bytes(data.u16()));
        while (list.at < list.b.length) {
          const p = list.bytes(list.u8());
          if (p.length === 0) return { ok: false, error: 'ClientHello with an empty ALPN protocol' };
          hello.alpn.push(Buffer.from(p).toString('latin1'));
        }
      }
    }
    return { ok: true, hello };
  } catch (e) {
    if (e instanceof Short) return { ok: false, error: 'ClientHello shorter than its own lengths say' };
    return { ok: false, error: `ClientHello unreadable: ${(e as Error).message}` };
  }
}
