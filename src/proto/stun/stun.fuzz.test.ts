// Property tests: everything encode() builds decodes to what it was built from, and decode() of any
// bytes either succeeds or throws StunError, never anything else.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { KNOWN_TYPES } from './attributes.ts';
import {
  MAGIC_COOKIE,
  StunError,
  bytesToIp,
  decode,
  encode,
  tryDecode,
  type StunAttribute,
  type StunClass,
} from './index.ts';

const RUNS = 300;

const address = fc
  .oneof(
    fc.record({
      ip: fc.uint8Array({ minLength: 4, maxLength: 4 }),
      port: fc.integer({ min: 0, max: 65535 }),
    }),
    fc.record({
      ip: fc.uint8Array({ minLength: 16, maxLength: 16 }),
      port: fc.integer({ min: 0, max: 65535 }),
    }),
  )
  .map(({ ip, port }) => ({
    family: ip.length === 4 ? ('IPv4' as const) : ('IPv6' as const),
    address: bytesToIp(ip),
    port,
  }));
const text = fc.string({ unit: 'grapheme', maxLength: 40 });

const attribute: fc.Arbitrary<StunAttribute> = fc.oneof(
  address.map((a) => ({ kind: 'mapped-address' as const, address: a })),
  address.map((a) => ({ kind: 'xor-mapped-address' as const, address: a })),
  text.map((value) => ({ kind: 'username' as const, value })),
  text.map((value) => ({ kind: 'software' as const, value })),
  fc
    .record({ code: fc.integer({ min: 300, max: 699 }), reason: text })
    .map((e) => ({ kind: 'error-code' as const, ...e })),
  fc
    .array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 8 })
    .map((types) => ({ kind: 'unknown-attributes' as const, types })),
  fc
    .record({
      type: fc.integer({ min: 0, max: 0xffff }).filter((t) => !KNOWN_TYPES.has(t)),
      value: fc.uint8Array({ maxLength: 40 }),
    })
    .map((r) => ({ kind: 'raw' as const, ...r })),
);

const message = fc.record({
  cls: fc.constantFrom<StunClass>('request', 'indication', 'success', 'error'),
  method: fc.integer({ min: 0, max: 0xfff }),
  transactionId: fc.uint8Array({ minLength: 12, maxLength: 12 }),
  attributes: fc.array(attribute, { maxLength: 8 }),
});
const options = fc.record({
  integrityKey: fc.option(fc.uint8Array({ minLength: 1, maxLength: 32 }), { nil: undefined }),
  fingerprint: fc.boolean(),
});

/** decode() must succeed or throw StunError. */
function decodesOrRefuses(b: Uint8Array, key?: Uint8Array): void {
  try {
    decode(b, { integrityKey: key });
  } catch (e) {
    if (!(e instanceof StunError)) throw e;
    assert.match(e.code, /^STUN_[A-Z_]+$/);
  }
  const r = tryDecode(b, { integrityKey: key });
  if (!r.ok) assert.ok(r.error instanceof StunError);
}

test('round trip: decode(encode(m)) gives back m', () => {
  fc.assert(
    fc.property(message, options, (m, o) => {
      const b = encode(m, o);
      assert.equal(b.length % 4, 0);
      const d = decode(b, { integrityKey: o.integrityKey });
      assert.equal(d.cls, m.cls);
      assert.equal(d.method, m.method);
      assert.deepEqual(d.transactionId, m.transactionId);
      assert.deepEqual(d.attributes, m.attributes);
      assert.equal(d.integrity, o.integrityKey ? 'valid' : 'absent');
      assert.equal(d.fingerprint, o.fingerprint);
      const firstRaw = m.attributes.filter((a) => a.kind === 'raw' && a.type < 0x8000);
      assert.deepEqual(d.unknownRequired, [...new Set(firstRaw.map((a) => (a as { type: number }).type))]);
    }),
    { numRuns: RUNS },
  );
});

test('random bytes: only StunError', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (b) => decodesOrRefuses(b)),
    { numRuns: RUNS * 3 },
  );
});

/** A header that passes the first checks, over random attribute bytes: reaches the attribute parser. */
const plausible = fc
  .record({
    type: fc.integer({ min: 0, max: 0x3fff }),
    body: fc.array(
      fc.record({
        type: fc.oneof(fc.constantFrom(...KNOWN_TYPES), fc.integer({ min: 0, max: 0xffff })),
        value: fc.uint8Array({ maxLength: 24 }),
        lie: fc.option(fc.integer({ min: 0, max: 0xffff }), { freq: 5 }),
        unpadded: fc.boolean(),
      }),
      { maxLength: 6 },
    ),
    txid: fc.uint8Array({ minLength: 12, maxLength: 12 }),
  })
  .map(({ type, body, txid }) => {
    // The header's length is always the true body length, which unpadded values leave unaligned.
    const parts = body.map(({ type: t, value, lie, unpadded }) => {
      const p = new Uint8Array(4 + (unpadded ? value.length : (value.length + 3) & ~3));
      const dv = new DataView(p.buffer);
      dv.setUint16(0, t);
      dv.setUint16(2, lie ?? value.length);
      p.set(value, 4);
      return p;
    });
    const len = parts.reduce((n, p) => n + p.length, 0);
    const b = new Uint8Array(20 + len);
    const dv = new DataView(b.buffer);
    dv.setUint16(0, type);
    dv.setUint16(2, len);
    dv.setUint32(4, MAGIC_COOKIE);
    b.set(txid, 8);
    let o = 20;
    for (const p of parts) {
      b.set(p, o);
      o += p.length;
    }
    return b;
  });

test('plausible headers over random attributes: only StunError', () => {
  fc.assert(
    fc.property(plausible, fc.option(fc.uint8Array({ maxLength: 8 }), { nil: undefined }), (b, key) =>
      decodesOrRefuses(b, key),
    ),
    { numRuns: RUNS * 3 },
  );
});

const mutation = fc.oneof(
  fc.record({ op: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({
    op: fc.constant('insert' as const),
    at: fc.nat(),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }),
  }),
  fc.record({ op: fc.constant('length' as const), len: fc.integer({ min: 0, max: 0xffff }) }),
);

test('mutated valid messages (flips, cuts, insertions, lying lengths): only StunError', () => {
  fc.assert(
    fc.property(message, options, fc.array(mutation, { minLength: 1, maxLength: 4 }), (m, o, muts) => {
      let b = encode(m, o);
      for (const mu of muts) {
        if (mu.op === 'flip' && b.length > 0) {
          b = b.slice();
          b[mu.at % b.length] ^= 1 << mu.bit;
        } else if (mu.op === 'truncate') b = b.slice(0, mu.at % (b.length + 1));
        else if (mu.op === 'insert') {
          const at = mu.at % (b.length + 1);
          b = Uint8Array.from([...b.subarray(0, at), ...mu.bytes, ...b.subarray(at)]);
        } else if (mu.op === 'length' && b.length >= 4) {
          b = b.slice();
          new DataView(b.buffer).setUint16(2, mu.len);
        }
      }
      decodesOrRefuses(b, o.integrityKey);
    }),
    { numRuns: RUNS },
  );
});

test('a single flipped bit in a message with MI and FINGERPRINT is always noticed', () => {
  fc.assert(
    fc.property(
      message,
      fc.uint8Array({ minLength: 1, maxLength: 16 }),
      fc.nat(),
      fc.nat(7),
      (m, key, at, bit) => {
        const b = encode(m, { integrityKey: key, fingerprint: true });
        b[at % b.length] ^= 1 << bit;
        const r = tryDecode(b, { integrityKey: key });
        assert.ok(!r.ok || r.message.integrity !== 'valid' || !r.message.fingerprint);
      },
    ),
    { numRuns: RUNS },
  );
});
