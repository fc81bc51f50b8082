// Cookie reply, message type 3: 64 bytes (whitepaper §5.4.7). Sent instead of a response when the
// receiver is under load and the handshake message had no valid mac2.
//
//    0         4                8                                32
//   ┌─────────┬────────────────┬────────────────────────────────┬─ ─ ─
//   │ 3 0 0 0 │ receiver index │ nonce (24, random)             │
//   └─────────┴────────────────┴────────────────────────────────┴─ ─ ─
//    32                                                64
//   ┌──────────────────────────────────────────────────┐
//   │ encrypted cookie: XAEAD(HASH("cookie--" ‖ S_pub), │
//   │   nonce, cookie (16), AD = mac1 of the message)   │  (16+16)
//   └──────────────────────────────────────────────────┘
// The receiver index is the sender index of the handshake message being answered.
import { MessageType, checkFixed, put, readU32, writeType, writeU32, type Decoded } from './common.ts';

export const COOKIE_REPLY_SIZE = 64;

export interface CookieReply {
  receiverIndex: number;
  nonce: Uint8Array; // 24
  encryptedCookie: Uint8Array; // 32
}

export function encodeCookieReply(m: CookieReply): Uint8Array {
  const b = new Uint8Array(COOKIE_REPLY_SIZE);
  writeType(b, MessageType.CookieReply);
  writeU32(b, 4, m.receiverIndex);
  put(b, 8, m.nonce, 24, 'nonce');
  put(b, 32, m.encryptedCookie, 32, 'encryptedCookie');
  return b;
}

/** Decodes without copying; never throws. */
export function decodeCookieReply(b: Uint8Array): Decoded<CookieReply> {
  const bad = checkFixed(b, MessageType.CookieReply, COOKIE_REPLY_SIZE);
  if (bad) return { ok: false, reason: bad };
  return {
    ok: true,
    msg: { receiverIndex: readU32(b, 4), nonce: b.subarray(8, 32), encryptedCookie: b.subarray(32, 64) },
  };
}
