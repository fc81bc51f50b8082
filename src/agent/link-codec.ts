// The link header in front of every stream-layer datagram inside a session payload. It binds one
// stream Connection on each side to one "epoch" (a random id picked by the side that opened the
// Connection), so that a restarted or reset side never feeds its packets into a stale Connection.
//
//   0        1                 9
//   +--------+-----------------+----------------------------------+
//   | type   | epoch (8 bytes) | stream datagram (src/proto/frames) |
//   +--------+-----------------+----------------------------------+
//   type 0x01 DATA    either way; bit 0x80 OPEN: "new connection, adopt this epoch" (set by the
//                     side that opened it until it hears the peer on that epoch)
//        0x02 WAKE    server → client: "open a link with this epoch" (the stream layer's server
//                     speaks only after hearing the client, so a server that wants a stream asks)
//        0x03 RESET   "I have no connection for this epoch" (no datagram follows)
//
// Stream-id parity is fixed by the node keys (the lower key is the stream client), whoever opened
// the link. The session layer pads payloads with zeros; the stream layer reads them as PADDING.
export const LINK_HEADER_LEN = 9;
export const T_DATA = 0x01;
export const T_WAKE = 0x02;
export const T_RESET = 0x03;
export const F_OPEN = 0x80;

export interface LinkHeader {
  type: number;
  open: boolean;
  epoch: bigint;
}

export function encodeLink(type: number, open: boolean, epoch: bigint, body?: Uint8Array): Uint8Array {
  const out = new Uint8Array(LINK_HEADER_LEN + (body?.length ?? 0));
  out[0] = type | (open ? F_OPEN : 0);
  new DataView(out.buffer).setBigUint64(1, epoch);
  if (body) out.set(body, LINK_HEADER_LEN);
  return out;
}

/** Undefined when the payload is too short or of an unknown type. */
export function decodeLink(p: Uint8Array): (LinkHeader & { body: Uint8Array }) | undefined {
  if (p.length < LINK_HEADER_LEN) return undefined;
  const type = p[0] & 0x7f;
  if (type !== T_DATA && type !== T_WAKE && type !== T_RESET) return undefined;
  const open = (p[0] & F_OPEN) !== 0;
  if (open && type !== T_DATA) return undefined;
  const epoch = new DataView(p.buffer, p.byteOffset, p.byteLength).getBigUint64(1);
  return { type, open, epoch, body: p.subarray(LINK_HEADER_LEN) };
}

/** True when key `a` sorts before key `b` byte-wise: that side is the stream client. */
export function isLowerKey(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] < b[i];
  return a.length < b.length;
}
