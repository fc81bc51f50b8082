// STUN messages, RFC 8489: header (§5), attributes (§14), MESSAGE-INTEGRITY (§14.5) and
// FINGERPRINT (§14.7). Every field is in network byte order.
//
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |0 0|     STUN Message Type     |         Message Length        |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                   Magic Cookie = 0x2112A442                   |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                                                               |
//   |                    Transaction ID (96 bits)                   |
//   |                                                               |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |         Attribute Type        |  Length (of value, unpadded)  |  \  zero or more
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+   > attributes
//   |     Value, padded to a multiple of 4 bytes (zeros sent,       |  /
//   |     padding ignored on receipt) ...                           |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
//   Message Type: M11..M7 C1 M6..M4 C0 M3..M0. Class C1C0: 00 request, 01 indication,
//   10 success response, 11 error response. Binding is method 0x001, so a Binding request is
//   0x0001, a success 0x0101, an error 0x0111. Message Length counts the bytes after the
//   header and is a multiple of 4.
//
//   Address value (MAPPED-ADDRESS §14.1; XOR-MAPPED-ADDRESS §14.2 XORs port and address):
//   |0 0 0 0 0 0 0 0|  Family 1|2   |        Port / X-Port          |
//   |          Address / X-Address (32 bits IPv4, 128 bits IPv6)    |
//     X-Port = port XOR 0x2112 (the cookie's high half); X-Address = address XOR the cookie
//     (IPv4) or XOR (cookie || transaction id) (IPv6).
//   ERROR-CODE value (§14.8):
//   |     Reserved, 21 bits zero              |Class|    Number     |  Reason phrase (UTF-8) ...
//   UNKNOWN-ATTRIBUTES value (§14.9): a list of 16-bit attribute types.
//
//   MESSAGE-INTEGRITY (20 bytes): HMAC-SHA1(key, the message up to this attribute), computed with
//   the header's length set as if the message ended right after MESSAGE-INTEGRITY. Attributes after
//   it are ignored, except FINGERPRINT (4 bytes): CRC-32(the message up to it) XOR 0x5354554E,
//   with the length including FINGERPRINT, which is always the last attribute.
//
//   Attribute types 0x0000-0x7FFF are comprehension-required: a receiver that does not know one
//   answers a request with 420 and UNKNOWN-ATTRIBUTES (§7.3.1). 0x8000-0xFFFF may be skipped.
import { createHmac } from 'node:crypto';
import { equalBytes } from '../../util/index.ts';
import { decodeAttribute, encodeAttribute, type StunAddress, type StunAttribute } from './attributes.ts';
import {
  ATTR_FINGERPRINT,
  ATTR_MESSAGE_INTEGRITY,
  COMPREHENSION_OPTIONAL_MIN,
  FINGERPRINT_LEN,
  FINGERPRINT_XOR,
  HEADER_LEN,
  INTEGRITY_LEN,
  MAGIC_COOKIE,
  METHOD_BINDING,
  TRANSACTION_ID_LEN,
} from './constants.ts';
import { crc32 } from './crc32.ts';
import { StunError } from './errors.ts';

export type StunClass = 'request' | 'indication' | 'success' | 'error';
const CLASSES: readonly StunClass[] = ['request', 'indication', 'success', 'error'];

/** What encode() needs. `method` defaults to Binding. */
export interface StunMessageInit {
  cls: StunClass;
  method?: number;
  transactionId: Uint8Array;
  attributes?: StunAttribute[];
}

export interface EncodeOptions {
  /** Adds MESSAGE-INTEGRITY keyed with this (see shortTermKey()). Default: none. */
  integrityKey?: Uint8Array;
  /** Adds FINGERPRINT (RFC 8489 §7: recommended when STUN shares a socket, as ours does). Default true. */
  fingerprint?: boolean;
  /** Padding byte. RFC 8489 §14 sends zeros; RFC 5769's vectors pad with 0x20. Default 0. */
  padByte?: number;
}

/** A decoded message. Convenience fields hold the first attribute of their kind (§14). */
export interface StunMessage {
  cls: StunClass;
  method: number;
  transactionId: Uint8Array;
  /** In wire order, without MESSAGE-INTEGRITY, FINGERPRINT and anything ignored after MI. */
  attributes: StunAttribute[];
  xorMappedAddress?: StunAddress;
  mappedAddress?: StunAddress;
  username?: string;
  software?: string;
  errorCode?: { code: number; reason: string };
  unknownAttributes?: number[];
  /** Comprehension-required types this codec does not understand (answer 420 to a request). */
  unknownRequired: number[];
  /** `unchecked` when MI is present but no key was given to decode(). */
  integrity: 'absent' | 'valid' | 'invalid' | 'unchecked';
  /** FINGERPRINT was present (decode() throws when it is wrong). */
  fingerprint: boolean;
}

export interface DecodeOptions {
  /** Verifies MESSAGE-INTEGRITY with this key. */
  integrityKey?: Uint8Array;
}

function typeOf(method: number, cls: StunClass): number {
  const c = CLASSES.indexOf(cls);
  return (
    (method & 0x000f) | ((method & 0x0070) << 1) | ((method & 0x0f80) << 2) | ((c & 1) << 4) | ((c & 2) << 7)
  );
}

function pad4(n: number): number {
  return (n + 3) & ~3;
}

function hmacSha1(key: Uint8Array, header: Uint8Array, body: Uint8Array): Uint8Array {
  return new Uint8Array(createHmac('sha1', key).update(header).update(body).digest());
}

/** Encodes a message; throws STUN_INVALID_ARGUMENT for what cannot go on the wire. */
export function encode(msg: StunMessageInit, opts: EncodeOptions = {}): Uint8Array {
  const method = msg.method ?? METHOD_BINDING;
  if (!Number.isInteger(method) || method < 0 || method > 0xfff)
    throw new StunError('STUN_INVALID_ARGUMENT', `method must be 12 bits, got ${method}`);
  if (!CLASSES.includes(msg.cls)) throw new StunError('STUN_INVALID_ARGUMENT', `unknown class ${msg.cls}`);
  if (msg.transactionId.length !== TRANSACTION_ID_LEN)
    throw new StunError('STUN_INVALID_ARGUMENT', `transaction id must be ${TRANSACTION_ID_LEN} bytes`);
  const parts = (msg.attributes ?? []).map((a) => encodeAttribute(a, msg.transactionId));
  const fingerprint = opts.fingerprint ?? true;
  let len = HEADER_LEN;
  for (const p of parts) {
    if (p.value.length > 0xffff)
      throw new StunError('STUN_INVALID_ARGUMENT', 'attribute value over 65535 bytes');
    len += 4 + pad4(p.value.length);
  }
  const miAt = len;
  if (opts.integrityKey) len += 4 + INTEGRITY_LEN;
  const fpAt = len;
  if (fingerprint) len += 4 + FINGERPRINT_LEN;
  if (len - HEADER_LEN > 0xffff) throw new StunError('STUN_INVALID_ARGUMENT', 'message over 65535 bytes');

  const out = new Uint8Array(len).fill(opts.padByte ?? 0, HEADER_LEN);
  const dv = new DataView(out.buffer);
  dv.setUint16(0, typeOf(method, msg.cls));
  dv.setUint32(4, MAGIC_COOKIE);
  out.set(msg.transactionId, 8);
  let off = HEADER_LEN;
  for (const p of parts) {
    dv.setUint16(off, p.type);
    dv.setUint16(off + 2, p.value.length);
    out.set(p.value, off + 4);
    off += 4 + pad4(p.value.length);
  }
  if (opts.integrityKey) {
    dv.setUint16(2, fpAt - HEADER_LEN);
    const mac = hmacSha1(opts.integrityKey, out.subarray(0, HEADER_LEN), out.subarray(HEADER_LEN, miAt));
    dv.setUint16(miAt, ATTR_MESSAGE_INTEGRITY);
    dv.setUint16(miAt + 2, INTEGRITY_LEN);
    out.set(mac, miAt + 4);
  }
  dv.setUint16(2, len - HEADER_LEN);
  if (fingerprint) {
    dv.setUint16(fpAt, ATTR_FINGERPRINT);
    dv.setUint16(fpAt + 2, FINGERPRINT_LEN);
    dv.setUint32(fpAt + 4, (crc32(out.subarray(0, fpAt)) ^ FINGERPRINT_XOR) >>> 0);
  }
  return out;
}

/**
 * True when `b` looks like one whole STUN message (top bits zero, the cookie, a length that fits):
 * the cheap test for telling STUN from WireGuard on a shared socket. decode() may still refuse it.
 */
export function isStun(b: Uint8Array): boolean {
  if (b.length < HEADER_LEN || (b[0] & 0xc0) !== 0) return false;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const len = dv.getUint16(2);
  return dv.getUint32(4) === MAGIC_COOKIE && len % 4 === 0 && HEADER_LEN + len === b.length;
}

/** Decodes one whole message (one datagram). Throws only StunError. */
export function decode(b: Uint8Array, opts: DecodeOptions = {}): StunMessage {
  if (b.length < HEADER_LEN)
    throw new StunError('STUN_TRUNCATED', `${b.length} bytes is shorter than a header`);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const type = dv.getUint16(0);
  if ((type & 0xc000) !== 0) throw new StunError('STUN_NOT_STUN', 'the two top bits are not zero');
  if (dv.getUint32(4) !== MAGIC_COOKIE) throw new StunError('STUN_NOT_STUN', 'no magic cookie');
  const len = dv.getUint16(2);
  if (len % 4 !== 0) throw new StunError('STUN_BAD_LENGTH', `message length ${len} is not a multiple of 4`);
  if (HEADER_LEN + len > b.length)
    throw new StunError('STUN_TRUNCATED', `length says ${HEADER_LEN + len} bytes, got ${b.length}`);
  if (HEADER_LEN + len < b.length)
    throw new StunError('STUN_BAD_LENGTH', `${b.length - HEADER_LEN - len} bytes after the message`);

  const method = (type & 0x000f) | ((type & 0x00e0) >> 1) | ((type & 0x3e00) >> 2);
  const cls = CLASSES[((type >> 4) & 1) | ((type >> 7) & 2)];
  const transactionId = new Uint8Array(b.subarray(8, HEADER_LEN)); // copies, also from a Buffer
  const m: StunMessage = {
    cls,
    method,
    transactionId,
    attributes: [],
    unknownRequired: [],
    integrity: 'absent',
    fingerprint: false,
  };
  let afterIntegrity = false;
  for (let off = HEADER_LEN; off < b.length;) {
    const at = dv.getUint16(off);
    const alen = dv.getUint16(off + 2);
    const next = off + 4 + pad4(alen);
    if (next > b.length)
      throw new StunError('STUN_TRUNCATED', `attribute 0x${at.toString(16)} runs past the end`);
    const value = b.subarray(off + 4, off + 4 + alen);
    if (m.fingerprint) throw new StunError('STUN_BAD_FINGERPRINT', 'FINGERPRINT is not the last attribute');
    if (at === ATTR_FINGERPRINT) {
      if (alen !== FINGERPRINT_LEN) throw new StunError('STUN_BAD_ATTRIBUTE', 'FINGERPRINT must be 4 bytes');
      const want = (crc32(b.subarray(0, off)) ^ FINGERPRINT_XOR) >>> 0;
      if (dv.getUint32(off + 4) !== want) throw new StunError('STUN_BAD_FINGERPRINT', 'FINGERPRINT mismatch');
      m.fingerprint = true;
    } else if (afterIntegrity) {
      // §14.5: attributes after MESSAGE-INTEGRITY are ignored.
    } else if (at === ATTR_MESSAGE_INTEGRITY) {
      if (alen !== INTEGRITY_LEN)
        throw new StunError('STUN_BAD_ATTRIBUTE', 'MESSAGE-INTEGRITY must be 20 bytes');
      afterIntegrity = true;
      m.integrity = opts.integrityKey ? checkIntegrity(b, off, opts.integrityKey) : 'unchecked';
    } else {
      const a = decodeAttribute(at, value, transactionId);
      m.attributes.push(a);
      note(m, a);
    }
    off = next;
  }
  return m;
}

function checkIntegrity(b: Uint8Array, off: number, key: Uint8Array): 'valid' | 'invalid' {
  const header = new Uint8Array(b.subarray(0, HEADER_LEN));
  new DataView(header.buffer).setUint16(2, off + 4 + INTEGRITY_LEN - HEADER_LEN);
  const mac = hmacSha1(key, header, b.subarray(HEADER_LEN, off));
  return equalBytes(mac, b.subarray(off + 4, off + 4 + INTEGRITY_LEN)) ? 'valid' : 'invalid';
}

function note(m: StunMessage, a: StunAttribute): void {
  switch (a.kind) {
    case 'xor-mapped-address':
      m.xorMappedAddress ??= a.address;
      break;
    case 'mapped-address':
      m.mappedAddress ??= a.address;
      break;
    case 'username':
      m.username ??= a.value;
      break;
    case 'software':
      m.software ??= a.value;
      break;
    case 'error-code':
      m.errorCode ??= { code: a.code, reason: a.reason };
      break;
    case 'unknown-attributes':
      m.unknownAttributes ??= a.types;
      break;
    case 'raw':
      if (a.type < COMPREHENSION_OPTIONAL_MIN && !m.unknownRequired.includes(a.type))
        m.unknownRequired.push(a.type);
      break;
  }
}

/** decode() as a value: the per-packet path drops and counts instead of catching. */
export type DecodeResult = { ok: true; message: StunMessage } | { ok: false; error: StunError };

export function tryDecode(b: Uint8Array, opts: DecodeOptions = {}): DecodeResult {
  try {
    return { ok: true, message: decode(b, opts) };
  } catch (e) {
    if (e instanceof StunError) return { ok: false, error: e };
    throw e;
  }
}
