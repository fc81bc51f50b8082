// Handshake initiation, message type 1: 148 bytes (whitepaper §5.4.2).
//
//    0       4               8                                40
//   ┌───────┬───────────────┬────────────────────────────────┬─ ─ ─
//   │ 1 0 0 0 │ sender index │ unencrypted ephemeral (32)     │
//   └───────┴───────────────┴────────────────────────────────┴─ ─ ─
//    40                                      88                    116
//   ┌────────────────────────────────────────┬────────────────────┐
//   │ encrypted static: AEAD(S_pub_i) (32+16)  │ encrypted TAI64N   │
//   │                                          │ timestamp (12+16)  │
//   └────────────────────────────────────────┴────────────────────┘
//    116              132              148
//   ┌────────────────┬────────────────┐
//   │ mac1 (16)      │ mac2 (16)      │   mac1 covers bytes 0..116, mac2 covers 0..132
//   └────────────────┴────────────────┘
// Integers are little-endian. Bytes 8..116 are Noise IK message 1 (e, es, s, ss + payload).
import { MessageType, checkFixed, put, readU32, writeType, writeU32, type Decoded } from './common.ts';

export const INITIATION_SIZE = 148;
export const INITIATION_NOISE_OFFSET = 8;
export const INITIATION_NOISE_SIZE = 108;
export const INITIATION_MAC1_OFFSET = 116;
export const INITIATION_MAC2_OFFSET = 132;

export interface Initiation {
  senderIndex: number;
  ephemeral: Uint8Array; // 32
  encryptedStatic: Uint8Array; // 48
  encryptedTimestamp: Uint8Array; // 28
  mac1: Uint8Array; // 16
  mac2: Uint8Array; // 16
}

/** The 148-byte message. mac1 and mac2 may be omitted (zeros) and written in place later. */
export function encodeInitiation(m: Omit<Initiation, 'mac1' | 'mac2'> & Partial<Initiation>): Uint8Array {
  const b = new Uint8Array(INITIATION_SIZE);
  writeType(b, MessageType.Initiation);
  writeU32(b, 4, m.senderIndex);
  put(b, 8, m.ephemeral, 32, 'ephemeral');
  put(b, 40, m.encryptedStatic, 48, 'encryptedStatic');
  put(b, 88, m.encryptedTimestamp, 28, 'encryptedTimestamp');
  if (m.mac1) put(b, INITIATION_MAC1_OFFSET, m.mac1, 16, 'mac1');
  if (m.mac2) put(b, INITIATION_MAC2_OFFSET, m.mac2, 16, 'mac2');
  return b;
}

/** Decodes without copying; never throws. */
export function decodeInitiation(b: Uint8Array): Decoded<Initiation> {
  const bad = checkFixed(b, MessageType.Initiation, INITIATION_SIZE);
  if (bad) return { ok: false, reason: bad };
  return {
    ok: true,
    msg: {
      senderIndex: readU32(b, 4),
      ephemeral: b.subarray(8, 40),
      encryptedStatic: b.subarray(40, 88),
      encryptedTimestamp: b.subarray(88, 116),
      mac1: b.subarray(116, 132),
      mac2: b.subarray(132, 148),
    },
  };
}
