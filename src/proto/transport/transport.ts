// Transport data, message type 4: 16-byte header + sealed payload, at least 32 bytes
// (whitepaper §5.4.6).
//
//    0         4                8                              16
//   ┌─────────┬────────────────┬──────────────────────────────┬─ ─ ─ ─ ─ ─ ─ ─ ─ ─ ─ ─ ─ ─ ─ ─ ─ ─ ─ ┐
//   │ 4 0 0 0 │ receiver index │ counter (uint64, LE)         │ encrypted packet: AEAD(T_send,
//   └─────────┴────────────────┴──────────────────────────────┴    counter, payload ‖ zero padding,
//                                                                  ε) = (n·16 bytes) + 16 tag  ─ ─ ┘
// The counter is also the AEAD nonce (32 zero bits ‖ counter LE). A keepalive is a transport
// message with an empty payload: exactly 32 bytes.
import { MessageType, readU32, writeU32, type Decoded } from '../handshake/common.ts';

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const TWO32 = 0x1_0000_0000;

export const TRANSPORT_HEADER_SIZE = 16;
/** Header + Poly1305 tag: the size of a keepalive and the least a transport message can be. */
export const TRANSPORT_MIN_SIZE = 32;

export interface Transport {
  receiverIndex: number;
  /** The counter as its uint32 halves (no BigInt on the hot path). */
  counterLo: number;
  counterHi: number;
  /** Ciphertext ‖ tag: a view into the input. */
  encrypted: Uint8Array;
}

/** Writes the 16-byte header at the start of `b` (which holds the sealed payload after it). */
export function writeTransportHeader(b: Uint8Array, receiverIndex: number, counter: bigint): void {
  b[0] = MessageType.Transport;
  b[1] = 0;
  b[2] = 0;
  b[3] = 0;
  writeU32(b, 4, receiverIndex);
  if (counter <= MAX_SAFE) {
    const n = Number(counter); // one conversion instead of BigInt masks and shifts
    writeU32(b, 8, n >>> 0);
    writeU32(b, 12, Math.floor(n / TWO32));
  } else {
    writeU32(b, 8, Number(counter & 0xffff_ffffn));
    writeU32(b, 12, Number((counter >> 32n) & 0xffff_ffffn));
  }
}

/** A whole message from its parts (copies `encrypted`; the session seals in place instead). */
export function encodeTransport(receiverIndex: number, counter: bigint, encrypted: Uint8Array): Uint8Array {
  if (encrypted.length < TRANSPORT_MIN_SIZE - TRANSPORT_HEADER_SIZE)
    throw new RangeError('encrypted packet shorter than a tag');
  const b = new Uint8Array(TRANSPORT_HEADER_SIZE + encrypted.length);
  writeTransportHeader(b, receiverIndex, counter);
  b.set(encrypted, TRANSPORT_HEADER_SIZE);
  return b;
}

/** Decodes without copying; never throws. */
export function decodeTransport(b: Uint8Array): Decoded<Transport> {
  if (b.length < TRANSPORT_MIN_SIZE) return { ok: false, reason: 'short' };
  if (b[0] !== MessageType.Transport || b[1] !== 0 || b[2] !== 0 || b[3] !== 0)
    return { ok: false, reason: 'wrong-type' };
  return {
    ok: true,
    msg: {
      receiverIndex: readU32(b, 4),
      counterLo: readU32(b, 8),
      counterHi: readU32(b, 12),
      encrypted: b.subarray(TRANSPORT_HEADER_SIZE),
    },
  };
}

/** The counter of a decoded message as one BigInt. */
export function transportCounter(m: Transport): bigint {
  return (BigInt(m.counterHi) << 32n) | BigInt(m.counterLo);
}
