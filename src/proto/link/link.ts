// The link header (index.ts, types 0x01–0x03): type ‖ epoch (8 bytes, big-endian) ‖ body.
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

/** Writes the header into the first LINK_HEADER_LEN bytes of `out` (the caller's buffer). */
export function writeLinkHeader(out: Uint8Array, type: number, open: boolean, epoch: bigint): void {
  out[0] = type | (open ? F_OPEN : 0);
  new DataView(out.buffer, out.byteOffset, LINK_HEADER_LEN).setBigUint64(1, epoch);
}

export function encodeLink(type: number, open: boolean, epoch: bigint, body?: Uint8Array): Uint8Array {
  const out = new Uint8Array(LINK_HEADER_LEN + (body?.length ?? 0));
  writeLinkHeader(out, type, open, epoch);
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
