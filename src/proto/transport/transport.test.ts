import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { toHex } from '../../util/index.ts';
import { TRANSPORT_MIN_SIZE, decodeTransport, encodeTransport, transportCounter } from './index.ts';

test('transport: 16-byte header (type, receiver, 64-bit counter, little-endian) then the sealed packet', () => {
  const b = encodeTransport(0x0a0b0c0d, 0x0102030405060708n, new Uint8Array(16).fill(0x5a));
  assert.equal(b.length, TRANSPORT_MIN_SIZE);
  assert.equal(toHex(b), '04000000' + '0d0c0b0a' + '0807060504030201' + '5a'.repeat(16));
  const d = decodeTransport(b);
  assert.ok(d.ok);
  assert.equal(d.msg.receiverIndex, 0x0a0b0c0d);
  assert.equal(d.msg.counterLo, 0x05060708);
  assert.equal(d.msg.counterHi, 0x01020304);
  assert.equal(transportCounter(d.msg), 0x0102030405060708n);
  const max = decodeTransport(encodeTransport(1, 0xffff_ffff_ffff_ffffn, new Uint8Array(16)));
  assert.ok(max.ok);
  assert.equal(transportCounter(max.msg), 0xffff_ffff_ffff_ffffn);
});

test('transport: shorter than 32 bytes or another type is refused', () => {
  assert.deepEqual(decodeTransport(new Uint8Array(31).fill(4, 0, 1)), { ok: false, reason: 'short' });
  assert.deepEqual(decodeTransport(new Uint8Array(32).fill(1, 0, 1)), { ok: false, reason: 'wrong-type' });
  const r = new Uint8Array(32);
  r[0] = 4;
  r[3] = 1;
  assert.deepEqual(decodeTransport(r), { ok: false, reason: 'wrong-type' });
  assert.throws(() => encodeTransport(0, 0n, new Uint8Array(15)), RangeError);
});

test('transport: decode never throws and round-trips', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 100 }), fc.boolean(), (b, typed) => {
      if (typed && b.length >= 4) b.set([4, 0, 0, 0]);
      const d = decodeTransport(b);
      if (d.ok)
        assert.equal(
          toHex(encodeTransport(d.msg.receiverIndex, transportCounter(d.msg), d.msg.encrypted)),
          toHex(b),
        );
    }),
    { numRuns: 3000 },
  );
});
