// What every WireGuard message shares (whitepaper §5.4; wireguard-go device/noise-protocol.go):
//
//    0      1      2      3      4
//   ┌──────┬──────┬──────┬──────┬─ ─ ─
//   │ type │   reserved (zero)  │ ...
//   └──────┴──────┴──────┴──────┴─ ─ ─
//
// wireguard-go reads the first four bytes as one little-endian uint32, so a message whose
// reserved bytes are not zero has an unknown type and is dropped.

/** Message types 1–4. */
export const MessageType = {
  Initiation: 1,
  Response: 2,
  CookieReply: 3,
  Transport: 4,
} as const;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

/** Why a decoder refused its input. */
export type DecodeReason = 'short' | 'long' | 'wrong-type';

/** A decoder's answer: the message (fields are views into the input, not copies) or a reason. */
export type Decoded<T> = { ok: true; msg: T } | { ok: false; reason: DecodeReason };

/** The message type of a datagram, or undefined when it is shorter than 4 bytes or not type 1–4. */
export function messageType(b: Uint8Array): MessageType | undefined {
  if (b.length < 4 || b[1] !== 0 || b[2] !== 0 || b[3] !== 0) return undefined;
  const t = b[0];
  return t >= 1 && t <= 4 ? (t as MessageType) : undefined;
}

/** Checks the type and exact length; undefined when both are right. */
export function checkFixed(b: Uint8Array, type: MessageType, size: number): DecodeReason | undefined {
  if (b.length < size) return 'short';
  if (b.length > size) return 'long';
  if (messageType(b) !== type) return 'wrong-type';
  return undefined;
}

export function readU32(b: Uint8Array, o: number): number {
  return (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
}

export function writeU32(b: Uint8Array, o: number, v: number): void {
  b[o] = v & 0xff;
  b[o + 1] = (v >>> 8) & 0xff;
  b[o + 2] = (v >>> 16) & 0xff;
  b[o + 3] = (v >>> 24) & 0xff;
}

/** Writes the type byte and zeroes the reserved bytes. */
export function writeType(b: Uint8Array, type: MessageType): void {
  b[0] = type;
  b[1] = 0;
  b[2] = 0;
  b[3] = 0;
}

/** Copies `src` (which must have exactly `len` bytes) into `b` at `o`. */
export function put(b: Uint8Array, o: number, src: Uint8Array, len: number, name: string): void {
  if (src.length !== len) throw new RangeError(`${name} must be ${len} bytes, got ${src.length}`);
  b.set(src, o);
}
