// The relay token: a coordinator-signed statement that a node key may use the relays of a region
// until a time. The coordinator issues it (netmap `relays[].token`), the client presents it in
// CLIENT_INFO, and the relay verifies it with the coordinator's trusted Ed25519 keys. Big-endian.
//
//   +------+---------+------------+--------+----------------+-----------+------------+--------+-----------+
//   | "sprt" | version | node key | region | region (UTF-8) | issued-at | expires-at | key id | signature |
//   |   4  |    1    |     32     | len 1  |    0..64       |  u64 ms   |   u64 ms   |    8   |    64     |
//   +------+---------+------------+--------+----------------+-----------+------------+--------+-----------+
//
//   key id     = the first 8 bytes of BLAKE2s-256(Ed25519 public key): picks the trusted key to try.
//   signature  = Ed25519 over every byte before it (magic through key id).
//   Times are Unix milliseconds (at most 2^53 - 1); issued-at ≤ expires-at.
//
// Verification order: layout, then the key id among the trusted keys, then the signature, and only
// then the claims (time, node, region), so nothing unsigned decides anything but "malformed".
import { hash, PublicKey, SIGNATURE_LEN, type SigningKey, type VerifyKey } from '../../crypto/index.ts';
import { equalBytes, SallyportError } from '../../util/index.ts';
import { KEY_LEN } from './constants.ts';

/** "sprt" */
export const TOKEN_MAGIC = Uint8Array.from([0x73, 0x70, 0x72, 0x74]);
export const TOKEN_VERSION = 1;
/** Longest region name in UTF-8 bytes. */
export const MAX_REGION_LEN = 64;
export const KEY_ID_LEN = 8;
/** Length of a token with an empty region; add the region's bytes. */
export const TOKEN_FIXED_LEN = 4 + 1 + KEY_LEN + 1 + 8 + 8 + KEY_ID_LEN + SIGNATURE_LEN;
/** Default clock skew tolerated on both ends of the validity window (ms). */
export const DEFAULT_TOKEN_SKEW_MS = 30_000;

export type RelayTokenCode =
  | 'TOKEN_MALFORMED'
  | 'TOKEN_EXPIRED'
  | 'TOKEN_NOT_YET_VALID'
  | 'TOKEN_BAD_SIGNATURE'
  | 'TOKEN_UNKNOWN_KEY'
  | 'TOKEN_WRONG_NODE'
  | 'TOKEN_WRONG_REGION';

export interface RelayTokenClaims {
  nodeKey: PublicKey;
  region: string;
  issuedAtMs: number;
  expiresAtMs: number;
  /** The id of the key that signed it (see signingKeyId). */
  keyId: Uint8Array;
}

export type RelayTokenResult = { ok: true; claims: RelayTokenClaims } | { ok: false; code: RelayTokenCode };

/** issueRelayToken() given claims it cannot put on the wire: code `TOKEN_INVALID_ARGUMENT`. */
export class RelayTokenError extends SallyportError {}

const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The 8-byte id of an Ed25519 public key: the first 8 bytes of BLAKE2s-256 of it. */
export function signingKeyId(key: VerifyKey): Uint8Array {
  return hash(key.bytes).subarray(0, KEY_ID_LEN);
}

function time(ms: number, what: string): bigint {
  if (!Number.isSafeInteger(ms) || ms < 0)
    throw new RelayTokenError('TOKEN_INVALID_ARGUMENT', `${what} must be a non-negative integer of ms`);
  return BigInt(ms);
}

/** A signed token for `nodeKey` in `region`, valid from issuedAtMs to expiresAtMs (Unix ms). */
export function issueRelayToken(
  claims: { nodeKey: PublicKey; region: string; issuedAtMs: number; expiresAtMs: number },
  key: SigningKey,
): Uint8Array {
  const region = utf8.encode(claims.region);
  if (region.length > MAX_REGION_LEN)
    throw new RelayTokenError('TOKEN_INVALID_ARGUMENT', `region is over ${MAX_REGION_LEN} bytes`);
  if (claims.nodeKey.bytes.length !== KEY_LEN)
    throw new RelayTokenError('TOKEN_INVALID_ARGUMENT', 'node key must be 32 bytes');
  const issued = time(claims.issuedAtMs, 'issuedAtMs');
  const expires = time(claims.expiresAtMs, 'expiresAtMs');
  if (expires < issued) throw new RelayTokenError('TOKEN_INVALID_ARGUMENT', 'expiresAtMs before issuedAtMs');
  const out = new Uint8Array(TOKEN_FIXED_LEN + region.length);
  const dv = new DataView(out.buffer);
  out.set(TOKEN_MAGIC, 0);
  out[4] = TOKEN_VERSION;
  out.set(claims.nodeKey.bytes, 5);
  let o = 5 + KEY_LEN;
  out[o++] = region.length;
  out.set(region, o);
  o += region.length;
  dv.setBigUint64(o, issued);
  dv.setBigUint64(o + 8, expires);
  o += 16;
  out.set(signingKeyId(key.verifyKey), o);
  o += KEY_ID_LEN;
  out.set(key.sign(out.subarray(0, o)), o);
  return out;
}

interface Parsed {
  nodeKey: Uint8Array;
  region: string;
  issuedAtMs: number;
  expiresAtMs: number;
  keyId: Uint8Array;
  signed: Uint8Array;
  signature: Uint8Array;
}

/** The fields of a well-formed token, unverified; undefined when the layout is wrong. */
function parse(t: Uint8Array): Parsed | undefined {
  if (!(t instanceof Uint8Array) || t.length < TOKEN_FIXED_LEN) return undefined;
  for (let i = 0; i < TOKEN_MAGIC.length; i++) if (t[i] !== TOKEN_MAGIC[i]) return undefined;
  if (t[4] !== TOKEN_VERSION) return undefined;
  const rlen = t[5 + KEY_LEN];
  if (rlen > MAX_REGION_LEN || t.length !== TOKEN_FIXED_LEN + rlen) return undefined;
  let o = 6 + KEY_LEN;
  let region: string;
  try {
    region = strictUtf8.decode(t.subarray(o, o + rlen));
  } catch {
    return undefined;
  }
  o += rlen;
  const dv = new DataView(t.buffer, t.byteOffset, t.byteLength);
  const issued = dv.getBigUint64(o);
  const expires = dv.getBigUint64(o + 8);
  if (issued > BigInt(Number.MAX_SAFE_INTEGER) || expires > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
  if (expires < issued) return undefined;
  o += 16;
  return {
    nodeKey: t.subarray(5, 5 + KEY_LEN),
    region,
    issuedAtMs: Number(issued),
    expiresAtMs: Number(expires),
    keyId: t.subarray(o, o + KEY_ID_LEN),
    signed: t.subarray(0, o + KEY_ID_LEN),
    signature: t.subarray(o + KEY_ID_LEN),
  };
}

/**
 * Checks a token; never throws. `nodeKey` and `region`, when given, must match the claims;
 * `skewMs` (default 30 s) widens the validity window at both ends.
 */
export function verifyRelayToken(
  token: Uint8Array,
  opts: {
    trusted: readonly VerifyKey[];
    nowMs: number;
    nodeKey?: PublicKey;
    region?: string;
    skewMs?: number;
  },
): RelayTokenResult {
  const p = parse(token);
  if (!p) return { ok: false, code: 'TOKEN_MALFORMED' };
  const key = opts.trusted.find((k) => equalBytes(signingKeyId(k), p.keyId));
  if (!key) return { ok: false, code: 'TOKEN_UNKNOWN_KEY' };
  if (!key.verify(p.signed, p.signature)) return { ok: false, code: 'TOKEN_BAD_SIGNATURE' };
  const skew = opts.skewMs ?? DEFAULT_TOKEN_SKEW_MS;
  if (opts.nowMs > p.expiresAtMs + skew) return { ok: false, code: 'TOKEN_EXPIRED' };
  if (opts.nowMs + skew < p.issuedAtMs) return { ok: false, code: 'TOKEN_NOT_YET_VALID' };
  if (opts.nodeKey && !equalBytes(opts.nodeKey.bytes, p.nodeKey))
    return { ok: false, code: 'TOKEN_WRONG_NODE' };
  if (opts.region !== undefined && opts.region !== p.region) return { ok: false, code: 'TOKEN_WRONG_REGION' };
  return {
    ok: true,
    claims: {
      nodeKey: PublicKey.fromBytes(p.nodeKey),
      region: p.region,
      issuedAtMs: p.issuedAtMs,
      expiresAtMs: p.expiresAtMs,
      keyId: new Uint8Array(p.keyId),
    },
  };
}
