// Handshake response, message type 2: 92 bytes (whitepaper §5.4.3).
//
//    0         4               8                12                               44
//   ┌─────────┬───────────────┬────────────────┬────────────────────────────────┬─ ─ ─
//   │ 2 0 0 0 │ sender index  │ receiver index │ unencrypted ephemeral (32)     │
//   └─────────┴───────────────┴────────────────┴────────────────────────────────┴─ ─ ─
//    44                   60               76               92
//   ┌────────────────────┬────────────────┬────────────────┐
//   │ encrypted nothing  │ mac1 (16)      │ mac2 (16)      │   mac1 covers 0..60, mac2 covers 0..76
//   │ AEAD(ε) (0+16)     │                │                │
//   └────────────────────┴────────────────┴────────────────┘
// Integers are little-endian. Bytes 12..60 are Noise IK message 2 (e, ee, se, psk + empty payload).
import { MessageType, checkFixed, put, readU32, writeType, writeU32, type Decoded } from './common.ts';

export const RESPONSE_SIZE = 92;
export const RESPONSE_NOISE_OFFSET = 12;
export const RESPONSE_NOISE_SIZE = 48;
export const RESPONSE_MAC1_OFFSET = 60;
export const RESPONSE_MAC2_OFFSET = 76;

export interface Response {
  senderIndex: number;
  receiverIndex: number;
  ephemeral: Uint8Array; // 32
  encryptedNothing: Uint8Array; // 16
  mac1: Uint8Array; // 16
  mac2: Uint8Array; // 16
}

/** The 92-byte message. mac1 and mac2 may be omitted (zeros) and written in place later. */
export function encodeResponse(m: Omit<Response, 'mac1' | 'mac2'> & Partial<Response>): Uint8Array {
  const b = new Uint8Array(RESPONSE_SIZE);
  writeType(b, MessageType.Response);
  writeU32(b, 4, m.senderIndex);
  writeU32(b, 8, m.receiverIndex);
  put(b, 12, m.ephemeral, 32, 'ephemeral');
  put(b, 44, m.encryptedNothing, 16, 'encryptedNothing');
  if (m.mac1) put(b, RESPONSE_MAC1_OFFSET, m.mac1, 16, 'mac1');
  if (m.mac2) put(b, RESPONSE_MAC2_OFFSET, m.mac2, 16, 'mac2');
  return b;
}

/** Decodes without copying; never throws. */
export function decodeResponse(b: Uint8Array): Decoded<Response> {
  const bad = checkFixed(b, MessageType.Response, RESPONSE_SIZE);
  if (bad) return { ok: false, reason: bad };
  return {
    ok: true,
    msg: {
      senderIndex: readU32(b, 4),
      receiverIndex: readU32(b, 8),
      ephemeral: b.subarray(12, 44),
      encryptedNothing: b.subarray(44, 60),
      mac1: b.subarray(60, 76),
      mac2: b.subarray(76, 92),
    },
  };
}
