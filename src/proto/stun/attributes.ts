// Values of the attributes sallyport understands (RFC 8489 §14). Layouts are drawn in message.ts.
import {
  ATTR_ERROR_CODE,
  ATTR_FINGERPRINT,
  ATTR_MAPPED_ADDRESS,
  ATTR_MESSAGE_INTEGRITY,
  ATTR_SOFTWARE,
  ATTR_UNKNOWN_ATTRIBUTES,
  ATTR_USERNAME,
  ATTR_XOR_MAPPED_ADDRESS,
  FAMILY_IPV4,
  FAMILY_IPV6,
  MAGIC_COOKIE,
  MAX_TEXT_BYTES,
  MAX_USERNAME_BYTES,
} from './constants.ts';
import { StunError } from './errors.ts';
import { bytesToIp, ipToBytes } from './ip.ts';

/** A transport address as node:dgram reports one. */
export interface StunAddress {
  family: 'IPv4' | 'IPv6';
  address: string;
  port: number;
}

/**
 * One attribute. `raw` carries every type not listed here (its `type` is the wire code); MESSAGE-
 * INTEGRITY and FINGERPRINT are not attributes of this list: encode() adds them, decode() checks them.
 */
export type StunAttribute =
  | { kind: 'mapped-address'; address: StunAddress }
  | { kind: 'xor-mapped-address'; address: StunAddress }
  | { kind: 'username'; value: string }
  | { kind: 'software'; value: string }
  | { kind: 'error-code'; code: number; reason: string }
  | { kind: 'unknown-attributes'; types: number[] }
  | { kind: 'raw'; type: number; value: Uint8Array };

/** Wire codes of the kinds above; raw attributes may not use these (nor MI or FINGERPRINT). */
export const KNOWN_TYPES: ReadonlySet<number> = new Set([
  ATTR_MAPPED_ADDRESS,
  ATTR_XOR_MAPPED_ADDRESS,
  ATTR_USERNAME,
  ATTR_SOFTWARE,
  ATTR_ERROR_CODE,
  ATTR_UNKNOWN_ATTRIBUTES,
  ATTR_MESSAGE_INTEGRITY,
  ATTR_FINGERPRINT,
]);

const utf8 = new TextEncoder();
const text = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

function bad(msg: string): StunError {
  return new StunError('STUN_BAD_ATTRIBUTE', msg);
}
function invalid(msg: string): StunError {
  return new StunError('STUN_INVALID_ARGUMENT', msg);
}

/** The XOR mask of §14.2: the cookie, then the transaction id (only IPv6 uses the latter). */
function xorMask(txid: Uint8Array): Uint8Array {
  const m = new Uint8Array(16);
  new DataView(m.buffer).setUint32(0, MAGIC_COOKIE);
  m.set(txid, 4);
  return m;
}

function encodeAddress(a: StunAddress, txid: Uint8Array | undefined): Uint8Array {
  if (!Number.isInteger(a.port) || a.port < 0 || a.port > 0xffff) throw invalid(`bad port ${a.port}`);
  const ip = ipToBytes(a.address);
  const family = ip.length === 4 ? FAMILY_IPV4 : FAMILY_IPV6;
  if ((family === FAMILY_IPV4) !== (a.family === 'IPv4')) throw invalid(`${a.address} is not ${a.family}`);
  const out = new Uint8Array(4 + ip.length);
  out[1] = family;
  let port = a.port;
  if (txid) {
    const mask = xorMask(txid);
    port ^= MAGIC_COOKIE >>> 16;
    for (let i = 0; i < ip.length; i++) ip[i] ^= mask[i];
  }
  out[2] = port >> 8;
  out[3] = port & 0xff;
  out.set(ip, 4);
  return out;
}

function decodeAddress(v: Uint8Array, txid: Uint8Array | undefined): StunAddress {
  if (v.length < 4) throw bad('address attribute shorter than 4 bytes');
  const family = v[1];
  const len = family === FAMILY_IPV4 ? 4 : family === FAMILY_IPV6 ? 16 : -1;
  if (len < 0) throw bad(`unknown address family ${family}`);
  if (v.length !== 4 + len) throw bad(`address attribute of family ${family} must be ${4 + len} bytes`);
  const ip = new Uint8Array(v.subarray(4)); // a copy even when v is a Buffer (whose slice() is a view)
  let port = (v[2] << 8) | v[3];
  if (txid) {
    const mask = xorMask(txid);
    port ^= MAGIC_COOKIE >>> 16;
    for (let i = 0; i < ip.length; i++) ip[i] ^= mask[i];
  }
  return { family: len === 4 ? 'IPv4' : 'IPv6', address: bytesToIp(ip), port };
}

function encodeText(s: string, max: number, what: string): Uint8Array {
  const b = utf8.encode(s);
  if (b.length > max) throw invalid(`${what} is ${b.length} bytes, more than ${max}`);
  return b;
}

/** Wire type and value of an attribute; `txid` keys the XOR of XOR-MAPPED-ADDRESS. */
export function encodeAttribute(a: StunAttribute, txid: Uint8Array): { type: number; value: Uint8Array } {
  switch (a.kind) {
    case 'mapped-address':
      return { type: ATTR_MAPPED_ADDRESS, value: encodeAddress(a.address, undefined) };
    case 'xor-mapped-address':
      return { type: ATTR_XOR_MAPPED_ADDRESS, value: encodeAddress(a.address, txid) };
    case 'username':
      return { type: ATTR_USERNAME, value: encodeText(a.value, MAX_USERNAME_BYTES, 'USERNAME') };
    case 'software':
      return { type: ATTR_SOFTWARE, value: encodeText(a.value, MAX_TEXT_BYTES, 'SOFTWARE') };
    case 'error-code': {
      // §14.8: class 3..6, number 0..99.
      if (!Number.isInteger(a.code) || a.code < 300 || a.code > 699)
        throw invalid(`bad error code ${a.code}`);
      const reason = encodeText(a.reason, MAX_TEXT_BYTES, 'reason phrase');
      const v = new Uint8Array(4 + reason.length);
      v[2] = Math.floor(a.code / 100);
      v[3] = a.code % 100;
      v.set(reason, 4);
      return { type: ATTR_ERROR_CODE, value: v };
    }
    case 'unknown-attributes': {
      const v = new Uint8Array(2 * a.types.length);
      a.types.forEach((t, i) => {
        if (!Number.isInteger(t) || t < 0 || t > 0xffff) throw invalid(`bad attribute type ${t}`);
        v[2 * i] = t >> 8;
        v[2 * i + 1] = t & 0xff;
      });
      return { type: ATTR_UNKNOWN_ATTRIBUTES, value: v };
    }
    case 'raw':
      if (!Number.isInteger(a.type) || a.type < 0 || a.type > 0xffff)
        throw invalid(`bad attribute type ${a.type}`);
      if (KNOWN_TYPES.has(a.type)) throw invalid(`attribute 0x${a.type.toString(16)} must not be sent raw`);
      return { type: a.type, value: a.value };
  }
}

/** The attribute of wire `type` with `value`; throws STUN_BAD_ATTRIBUTE when a known one is malformed. */
export function decodeAttribute(type: number, value: Uint8Array, txid: Uint8Array): StunAttribute {
  switch (type) {
    case ATTR_MAPPED_ADDRESS:
      return { kind: 'mapped-address', address: decodeAddress(value, undefined) };
    case ATTR_XOR_MAPPED_ADDRESS:
      return { kind: 'xor-mapped-address', address: decodeAddress(value, txid) };
    case ATTR_USERNAME:
      return { kind: 'username', value: text.decode(value) };
    case ATTR_SOFTWARE:
      return { kind: 'software', value: text.decode(value) };
    case ATTR_ERROR_CODE: {
      if (value.length < 4) throw bad('ERROR-CODE shorter than 4 bytes');
      const cls = value[2] & 0x07;
      const num = value[3];
      if (cls < 3 || cls > 6 || num > 99) throw bad(`ERROR-CODE class ${cls} number ${num} out of range`);
      return { kind: 'error-code', code: cls * 100 + num, reason: text.decode(value.subarray(4)) };
    }
    case ATTR_UNKNOWN_ATTRIBUTES: {
      if (value.length % 2 !== 0) throw bad('UNKNOWN-ATTRIBUTES length is odd');
      const types: number[] = [];
      for (let i = 0; i < value.length; i += 2) types.push((value[i] << 8) | value[i + 1]);
      return { kind: 'unknown-attributes', types };
    }
    default:
      return { kind: 'raw', type, value: new Uint8Array(value) };
  }
}
