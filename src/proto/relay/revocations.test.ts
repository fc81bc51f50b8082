import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { PublicKey, SigningKey } from '../../crypto/index.ts';
import { toHex } from '../../util/index.ts';
import {
  issueRevocations,
  MAX_REVOKED_KEYS,
  RelayTokenError,
  REVOCATIONS_FIXED_LEN,
  verifyRevocations,
} from './index.ts';

const SK = SigningKey.fromSeed(new Uint8Array(32).fill(7));
const OTHER = SigningKey.fromSeed(new Uint8Array(32).fill(8));
const T0 = 1_700_000_000_000;
const A = PublicKey.fromBytes(new Uint8Array(32).fill(0x11));
const B = PublicKey.fromBytes(new Uint8Array(32).fill(0x22));
const opts = { trusted: [SK.verifyKey], nowMs: T0, maxAgeMs: 60_000, skewMs: 30_000 };

test('revocation list: layout, round trip, and each refusal', () => {
  const l = issueRevocations({ keys: [A, B], issuedAtMs: T0 }, SK);
  assert.equal(l.length, REVOCATIONS_FIXED_LEN + 64);
  assert.equal(toHex(l.subarray(0, 17)), '7370727601' + '0000018bcfe56800' + '00000002');
  const r = verifyRevocations(l, opts);
  assert.ok(r.ok);
  assert.equal(r.issuedAtMs, T0);
  assert.deepEqual(
    r.keys.map((k) => toHex(k)),
    [toHex(A.bytes), toHex(B.bytes)],
  );
  const code = (b: Uint8Array, o: Partial<typeof opts> = {}) => {
    const v = verifyRevocations(b, { ...opts, ...o });
    return v.ok ? 'ok' : v.code;
  };
  const flipped = l.slice();
  flipped[20] ^= 1; // a key byte
  assert.equal(code(flipped), 'REVOCATIONS_BAD_SIGNATURE');
  assert.equal(code(l, { trusted: [OTHER.verifyKey] }), 'REVOCATIONS_UNKNOWN_KEY');
  assert.equal(code(l, { nowMs: T0 + 90_001 }), 'REVOCATIONS_STALE');
  assert.equal(code(l, { nowMs: T0 + 90_000 }), 'ok');
  assert.equal(code(l, { nowMs: T0 - 30_001 }), 'REVOCATIONS_NOT_YET_VALID');
  assert.equal(code(l.subarray(0, l.length - 1)), 'REVOCATIONS_MALFORMED');
  assert.equal(code(new Uint8Array(0)), 'REVOCATIONS_MALFORMED');
  // a relay token is not a revocation list (different magic, signed over it)
  const asToken = l.slice();
  asToken[3] = 0x74;
  assert.equal(code(asToken), 'REVOCATIONS_MALFORMED');
  assert.throws(() => issueRevocations({ keys: [], issuedAtMs: -1 }, SK), RelayTokenError);
  assert.throws(
    () => issueRevocations({ keys: new Array<PublicKey>(MAX_REVOKED_KEYS + 1).fill(A), issuedAtMs: T0 }, SK),
    RelayTokenError,
  );
  assert.ok(verifyRevocations(issueRevocations({ keys: [], issuedAtMs: T0 }, SK), opts).ok);
});

test('revocation list: random and mutated bytes are refused, never thrown', () => {
  const good = issueRevocations({ keys: [A], issuedAtMs: T0 }, SK);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
      assert.equal(verifyRevocations(b, opts).ok, false);
    }),
  );
  fc.assert(
    fc.property(fc.nat(good.length - 1), fc.integer({ min: 1, max: 255 }), (i, x) => {
      const m = good.slice();
      m[i] ^= x;
      assert.equal(verifyRevocations(m, opts).ok, false);
    }),
  );
});
