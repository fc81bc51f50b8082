// The revocation list: a coordinator-signed statement of the node keys the relays must not serve
// although their relay tokens may still be valid (revoked or expired nodes, nodes of disabled
// users). The coordinator pushes it to every relay (POST /revocations) when a node loses access
// and every few seconds; a relay replaces its set with each newer list. Big-endian.
//
//   +--------+---------+-----------+-------+--------------+--------+-----------+
//   | "sprv" | version | issued-at | count | node keys    | key id | signature |
//   |   4    |    1    |  u64 ms   |  u32  | 32 × count   |   8    |    64     |
//   +--------+---------+-----------+-------+--------------+--------+-----------+
//
//   key id    = signingKeyId(the coordinator's Ed25519 key), as in relay tokens (token.ts).
//   signature = Ed25519 over every byte before it. The magic differs from the token's ("sprt"),
//               so neither can be passed off as the other.
//
// Verification order as for tokens: layout, key id, signature, then freshness (issued-at within
// maxAgeMs of now, not in the future beyond the skew).
import { PublicKey, SIGNATURE_LEN, type SigningKey, type VerifyKey } from '../../crypto/index.ts';
import { equalBytes } from '../../util/index.ts';
import { KEY_LEN } from './constants.ts';
import { KEY_ID_LEN, RelayTokenError, signingKeyId } from './token.ts';

/** "sprv" */
export const REVOCATIONS_MAGIC = Uint8Array.from([0x73, 0x70, 0x72, 0x76]);
export const REVOCATIONS_VERSION = 1;
/** Most keys in one list (2 MiB of keys): keys stay listed only for one token lifetime. */
export const MAX_REVOKED_KEYS = 65_536;
const HEADER_LEN = 4 + 1 + 8 + 4;
export const REVOCATIONS_FIXED_LEN = HEADER_LEN + KEY_ID_LEN + SIGNATURE_LEN;
/** Largest encoded list. */
export const MAX_REVOCATIONS_LEN = REVOCATIONS_FIXED_LEN + MAX_REVOKED_KEYS * KEY_LEN;

export type RevocationsCode =
  | 'REVOCATIONS_MALFORMED'
  | 'REVOCATIONS_UNKNOWN_KEY'
  | 'REVOCATIONS_BAD_SIGNATURE'
  | 'REVOCATIONS_STALE'
  | 'REVOCATIONS_NOT_YET_VALID';

export type RevocationsResult =
  { ok: true; issuedAtMs: number; keys: Uint8Array[] } | { ok: false; code: RevocationsCode };

/** A signed list of `keys` issued at `issuedAtMs`. */
export function issueRevocations(
  claims: { keys: readonly PublicKey[]; issuedAtMs: number },
  key: SigningKey,
): Uint8Array {
  if (!Number.isSafeInteger(claims.issuedAtMs) || claims.issuedAtMs < 0)
    throw new RelayTokenError('TOKEN_INVALID_ARGUMENT', 'issuedAtMs must be a non-negative integer of ms');
  if (claims.keys.length > MAX_REVOKED_KEYS)
    throw new RelayTokenError('TOKEN_INVALID_ARGUMENT', `more than ${MAX_REVOKED_KEYS} revoked keys`);
  const n = claims.keys.length;
  const out = new Uint8Array(REVOCATIONS_FIXED_LEN + n * KEY_LEN);
  const dv = new DataView(out.buffer);
  out.set(REVOCATIONS_MAGIC, 0);
  out[4] = REVOCATIONS_VERSION;
  dv.setBigUint64(5, BigInt(claims.issuedAtMs));
  dv.setUint32(13, n);
  let o = HEADER_LEN;
  for (const k of claims.keys) {
    out.set(k.bytes, o);
    o += KEY_LEN;
  }
  out.set(signingKeyId(key.verifyKey), o);
  o += KEY_ID_LEN;
  out.set(key.sign(out.subarray(0, o)), o);
  return out;
}

/** Checks a list; never throws. */
export function verifyRevocations(
  b: Uint8Array,
  opts: { trusted: readonly VerifyKey[]; nowMs: number; maxAgeMs: number; skewMs: number },
): RevocationsResult {
  if (!(b instanceof Uint8Array) || b.length < REVOCATIONS_FIXED_LEN || b.length > MAX_REVOCATIONS_LEN)
    return { ok: false, code: 'REVOCATIONS_MALFORMED' };
  for (let i = 0; i < 4; i++)
    if (b[i] !== REVOCATIONS_MAGIC[i]) return { ok: false, code: 'REVOCATIONS_MALFORMED' };
  if (b[4] !== REVOCATIONS_VERSION) return { ok: false, code: 'REVOCATIONS_MALFORMED' };
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const issued = dv.getBigUint64(5);
  const n = dv.getUint32(13);
  if (
    issued > BigInt(Number.MAX_SAFE_INTEGER) ||
    n > MAX_REVOKED_KEYS ||
    b.length !== REVOCATIONS_FIXED_LEN + n * KEY_LEN
  )
    return { ok: false, code: 'REVOCATIONS_MALFORMED' };
  const end = HEADER_LEN + n * KEY_LEN;
  const keyId = b.subarray(end, end + KEY_ID_LEN);
  const key = opts.trusted.find((k) => equalBytes(signingKeyId(k), keyId));
  if (!key) return { ok: false, code: 'REVOCATIONS_UNKNOWN_KEY' };
  if (!key.verify(b.subarray(0, end + KEY_ID_LEN), b.subarray(end + KEY_ID_LEN)))
    return { ok: false, code: 'REVOCATIONS_BAD_SIGNATURE' };
  const issuedAtMs = Number(issued);
  if (opts.nowMs - issuedAtMs > opts.maxAgeMs + opts.skewMs) return { ok: false, code: 'REVOCATIONS_STALE' };
  if (issuedAtMs - opts.nowMs > opts.skewMs) return { ok: false, code: 'REVOCATIONS_NOT_YET_VALID' };
  const keys: Uint8Array[] = [];
  for (let o = HEADER_LEN; o < end; o += KEY_LEN) keys.push(b.slice(o, o + KEY_LEN));
  return { ok: true, issuedAtMs, keys };
}
