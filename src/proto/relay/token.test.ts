import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { PrivateKey, PublicKey, SigningKey } from '../../crypto/index.ts';
import { concatBytes, fromHex, toHex } from '../../util/index.ts';
import {
  RelayTokenError,
  TOKEN_FIXED_LEN,
  issueRelayToken,
  signingKeyId,
  verifyRelayToken,
  type RelayTokenCode,
} from './index.ts';

const SK = SigningKey.fromSeed(new Uint8Array(32).fill(7));
const NODE = PublicKey.fromBytes(new Uint8Array(32).fill(0x11));
const T0 = 1_700_000_000_000;
const HOUR = 3_600_000;
const claims = { nodeKey: NODE, region: 'eu-west', issuedAtMs: T0, expiresAtMs: T0 + HOUR };

const GOLDEN =
  '7370727401' +
  '11'.repeat(32) +
  '07' +
  '65752d77657374' + // "eu-west"
  '0000018bcfe56800' + // 1_700_000_000_000
  '0000018bd01c5680' + // + 1 h
  'bc45871efb39d051' + // key id
  '21cbe624c2fbff1a307991a274e05e9e26e5cffec12024a7eccde02e1704879217ff449033948d58d97426d59ee36bfb44' +
  'ef1ebc00c73a27830b244efd0ef40f';

describe('relay token layout (golden)', () => {
  test('a token is the documented bytes, signed by Ed25519 over everything before the signature', () => {
    const t = issueRelayToken(claims, SK);
    assert.equal(toHex(t), GOLDEN);
    assert.equal(t.length, TOKEN_FIXED_LEN + 7);
    // The signature verifies over the prefix with node:crypto's Ed25519, independently of our code.
    assert.ok(SK.verifyKey.verify(t.subarray(0, t.length - 64), t.subarray(t.length - 64)));
  });

  test('key id is the first 8 bytes of BLAKE2s-256 of the public key', () => {
    const want = createHash('blake2s256').update(SK.verifyKey.bytes).digest().subarray(0, 8);
    assert.equal(toHex(signingKeyId(SK.verifyKey)), toHex(want));
    assert.equal(toHex(signingKeyId(SK.verifyKey)), 'bc45871efb39d051');
  });

  test('the golden token verifies and gives back its claims', () => {
    const r = verifyRelayToken(fromHex(GOLDEN), { trusted: [SK.verifyKey], nowMs: T0 + 1000 });
    assert.ok(r.ok);
    assert.ok(r.claims.nodeKey.equals(NODE));
    assert.equal(r.claims.region, 'eu-west');
    assert.equal(r.claims.issuedAtMs, T0);
    assert.equal(r.claims.expiresAtMs, T0 + HOUR);
    assert.equal(toHex(r.claims.keyId), 'bc45871efb39d051');
  });
});

describe('verifyRelayToken refusals', () => {
  const other = SigningKey.fromSeed(new Uint8Array(32).fill(9));
  const t = issueRelayToken(claims, SK);
  const flip = (i: number) => {
    const c = new Uint8Array(t);
    c[i] ^= 1;
    return c;
  };
  const forged = (() => {
    // Signed by `other` but carrying SK's key id: the key id picks SK, the signature fails.
    const c = issueRelayToken(claims, other);
    c.set(signingKeyId(SK.verifyKey), c.length - 72);
    return c;
  })();
  const table: [
    string,
    Uint8Array,
    Partial<Parameters<typeof verifyRelayToken>[1]>,
    RelayTokenCode | 'ok',
  ][] = [
    ['valid', t, {}, 'ok'],
    ['valid with the node and region named', t, { nodeKey: NODE, region: 'eu-west' }, 'ok'],
    ['empty', new Uint8Array(0), {}, 'TOKEN_MALFORMED'],
    ['truncated', t.subarray(0, t.length - 1), {}, 'TOKEN_MALFORMED'],
    ['trailing byte', concatBytes(t, Uint8Array.of(0)), {}, 'TOKEN_MALFORMED'],
    ['bad magic', flip(0), {}, 'TOKEN_MALFORMED'],
    ['bad version', flip(4), {}, 'TOKEN_MALFORMED'],
    ['region length wrong', flip(37), {}, 'TOKEN_MALFORMED'],
    ['unknown key id', flip(t.length - 65), {}, 'TOKEN_UNKNOWN_KEY'],
    ['trusted list empty', t, { trusted: [] }, 'TOKEN_UNKNOWN_KEY'],
    [
      'signed by an untrusted key',
      issueRelayToken(claims, other),
      { trusted: [SK.verifyKey] },
      'TOKEN_UNKNOWN_KEY',
    ],
    ['forged key id', forged, {}, 'TOKEN_BAD_SIGNATURE'],
    ['node key bit flipped', flip(10), {}, 'TOKEN_BAD_SIGNATURE'],
    ['signature bit flipped', flip(t.length - 1), {}, 'TOKEN_BAD_SIGNATURE'],
    ['expiry moved later', flip(t.length - 73), {}, 'TOKEN_BAD_SIGNATURE'],
    ['expired', t, { nowMs: T0 + HOUR + 30_001 }, 'TOKEN_EXPIRED'],
    ['expired, within skew', t, { nowMs: T0 + HOUR + 30_000 }, 'ok'],
    ['expired, no skew', t, { nowMs: T0 + HOUR + 1, skewMs: 0 }, 'TOKEN_EXPIRED'],
    ['not yet valid', t, { nowMs: T0 - 30_001 }, 'TOKEN_NOT_YET_VALID'],
    ['early, within skew', t, { nowMs: T0 - 30_000 }, 'ok'],
    ['for another node', t, { nodeKey: PrivateKey.generate().publicKey }, 'TOKEN_WRONG_NODE'],
    ['for another region', t, { region: 'us-east' }, 'TOKEN_WRONG_REGION'],
  ];
  for (const [name, token, over, want] of table) {
    test(name, () => {
      const r = verifyRelayToken(token, { trusted: [other.verifyKey, SK.verifyKey], nowMs: T0 + 5, ...over });
      assert.equal(r.ok ? 'ok' : r.code, want);
    });
  }

  test('a token with the times swapped is malformed even if signed', () => {
    // Build it by hand: issueRelayToken refuses such claims.
    const good = issueRelayToken(claims, SK);
    const body = new Uint8Array(good.subarray(0, good.length - 64));
    const dv = new DataView(body.buffer);
    const o = 6 + 32 + 7;
    dv.setBigUint64(o, BigInt(T0 + HOUR));
    dv.setBigUint64(o + 8, BigInt(T0));
    const bad = concatBytes(body, SK.sign(body));
    const r = verifyRelayToken(bad, { trusted: [SK.verifyKey], nowMs: T0 });
    assert.deepEqual(r, { ok: false, code: 'TOKEN_MALFORMED' });
  });
});

describe('issueRelayToken arguments', () => {
  const bad: [string, Partial<typeof claims>][] = [
    ['region over 64 bytes', { region: 'é'.repeat(33) }],
    ['negative time', { issuedAtMs: -1 }],
    ['fractional time', { expiresAtMs: T0 + 0.5 }],
    ['expiry before issue', { expiresAtMs: T0 - 1 }],
    ['unsafe integer', { expiresAtMs: 2 ** 53 }],
  ];
  for (const [name, over] of bad) {
    test(name, () => {
      assert.throws(
        () => issueRelayToken({ ...claims, ...over }, SK),
        (e) => e instanceof RelayTokenError && e.code === 'TOKEN_INVALID_ARGUMENT',
      );
    });
  }
  test('a 64-byte region and an empty one are accepted', () => {
    for (const region of ['r'.repeat(64), '']) {
      const t = issueRelayToken({ ...claims, region }, SK);
      const r = verifyRelayToken(t, { trusted: [SK.verifyKey], nowMs: T0, region });
      assert.ok(r.ok);
    }
  });
});

describe('fuzz: only a typed refusal ever comes back', () => {
  const codes = new Set([
    'TOKEN_MALFORMED',
    'TOKEN_EXPIRED',
    'TOKEN_NOT_YET_VALID',
    'TOKEN_BAD_SIGNATURE',
    'TOKEN_UNKNOWN_KEY',
    'TOKEN_WRONG_NODE',
    'TOKEN_WRONG_REGION',
  ]);
  const good = issueRelayToken(claims, SK);
  const opts = { trusted: [SK.verifyKey], nowMs: T0, nodeKey: NODE, region: 'eu-west' };

  test('random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 400 }), (b) => {
        const r = verifyRelayToken(b, opts);
        assert.equal(r.ok, false);
        assert.ok(!r.ok && codes.has(r.code));
      }),
      { numRuns: 500 },
    );
  });

  test('mutations of a valid token: refused with a code, or the token itself', () => {
    const mutation = fc.record({
      edits: fc.array(fc.tuple(fc.nat(good.length - 1), fc.integer({ min: 1, max: 255 })), {
        minLength: 1,
        maxLength: 4,
      }),
      cut: fc.option(fc.nat(good.length + 8)),
      extra: fc.uint8Array({ maxLength: 8 }),
    });
    fc.assert(
      fc.property(mutation, ({ edits, cut, extra }) => {
        let b: Uint8Array = new Uint8Array(good);
        for (const [i, x] of edits) b[i] ^= x;
        if (cut !== null) b = concatBytes(b.subarray(0, cut), extra);
        const r = verifyRelayToken(b, opts);
        // Two edits of one byte can cancel out (and a cut past the end with nothing appended
        // changes nothing): the token itself still verifies.
        if (b.length === good.length && b.every((x, i) => x === good[i])) return assert.equal(r.ok, true);
        // Any change to the bytes must be refused: every byte is covered by the signature or layout.
        assert.equal(r.ok, false);
        assert.ok(!r.ok && codes.has(r.code), JSON.stringify(r));
      }),
      { numRuns: 500 },
    );
  });

  test('tokens from random claims round-trip', () => {
    const arb = fc.record({
      // A region is at most 64 bytes of UTF-8: 16 graphemes can be more (a rare false failure).
      region: fc
        .string({ unit: 'grapheme', maxLength: 16 })
        .filter((r) => Buffer.byteLength(r, 'utf8') <= 64),
      issuedAtMs: fc.nat({ max: 2 ** 50 }),
      life: fc.nat({ max: 2 ** 40 }),
    });
    fc.assert(
      fc.property(arb, ({ region, issuedAtMs, life }) => {
        const t = issueRelayToken({ nodeKey: NODE, region, issuedAtMs, expiresAtMs: issuedAtMs + life }, SK);
        const r = verifyRelayToken(t, { trusted: [SK.verifyKey], nowMs: issuedAtMs, region, nodeKey: NODE });
        assert.ok(r.ok);
        assert.equal(r.claims.region, region);
        assert.equal(r.claims.expiresAtMs, issuedAtMs + life);
      }),
      { numRuns: 200 },
    );
  });
});
