import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { toHex } from '../../util/index.ts';
import {
  COOKIE_REPLY_SIZE,
  INITIATION_SIZE,
  RESPONSE_SIZE,
  decodeCookieReply,
  decodeInitiation,
  decodeResponse,
  encodeCookieReply,
  encodeInitiation,
  encodeResponse,
  messageType,
} from './index.ts';

const fill = (n: number, v: number): Uint8Array => new Uint8Array(n).fill(v);

test('initiation: 148 bytes laid out as the whitepaper draws it', () => {
  const b = encodeInitiation({
    senderIndex: 0x04030201,
    ephemeral: fill(32, 0xee),
    encryptedStatic: fill(48, 0x55),
    encryptedTimestamp: fill(28, 0x77),
    mac1: fill(16, 0x11),
    mac2: fill(16, 0x22),
  });
  assert.equal(b.length, INITIATION_SIZE);
  const hex = toHex(b);
  assert.equal(
    hex,
    '01000000' +
      '01020304' +
      'ee'.repeat(32) +
      '55'.repeat(48) +
      '77'.repeat(28) +
      '11'.repeat(16) +
      '22'.repeat(16),
  );
  const d = decodeInitiation(b);
  assert.ok(d.ok);
  assert.equal(d.msg.senderIndex, 0x04030201);
  assert.equal(toHex(d.msg.encryptedTimestamp), '77'.repeat(28));
  assert.equal(toHex(d.msg.mac2), '22'.repeat(16));
});

test('response: 92 bytes laid out as the whitepaper draws it', () => {
  const b = encodeResponse({
    senderIndex: 1,
    receiverIndex: 0xffffffff,
    ephemeral: fill(32, 0xee),
    encryptedNothing: fill(16, 0x99),
  });
  assert.equal(b.length, RESPONSE_SIZE);
  assert.equal(
    toHex(b),
    '02000000' + '01000000' + 'ffffffff' + 'ee'.repeat(32) + '99'.repeat(16) + '00'.repeat(32),
  );
  const d = decodeResponse(b);
  assert.ok(d.ok && d.msg.receiverIndex === 0xffffffff && d.msg.senderIndex === 1);
});

test('cookie reply: 64 bytes laid out as the whitepaper draws it', () => {
  const b = encodeCookieReply({ receiverIndex: 258, nonce: fill(24, 0xab), encryptedCookie: fill(32, 0xcd) });
  assert.equal(b.length, COOKIE_REPLY_SIZE);
  assert.equal(toHex(b), '03000000' + '02010000' + 'ab'.repeat(24) + 'cd'.repeat(32));
  const d = decodeCookieReply(b);
  assert.ok(d.ok && d.msg.receiverIndex === 258);
});

test('decoders refuse wrong sizes and types with a reason', () => {
  const init = encodeInitiation({
    senderIndex: 0,
    ephemeral: fill(32, 0),
    encryptedStatic: fill(48, 0),
    encryptedTimestamp: fill(28, 0),
  });
  assert.deepEqual(decodeInitiation(init.subarray(0, 147)), { ok: false, reason: 'short' });
  assert.deepEqual(decodeInitiation(new Uint8Array(149).fill(1, 0, 1)), { ok: false, reason: 'long' });
  assert.deepEqual(decodeResponse(new Uint8Array(92).fill(1, 0, 1)), { ok: false, reason: 'wrong-type' });
  const reserved = new Uint8Array(init);
  reserved[2] = 1;
  assert.equal(messageType(reserved), undefined, 'reserved bytes must be zero');
  assert.deepEqual(decodeInitiation(reserved), { ok: false, reason: 'wrong-type' });
  assert.equal(messageType(Uint8Array.of(5, 0, 0, 0)), undefined);
  assert.equal(messageType(Uint8Array.of(4, 0, 0)), undefined);
  assert.throws(
    () => encodeCookieReply({ receiverIndex: 0, nonce: fill(23, 0), encryptedCookie: fill(32, 0) }),
    RangeError,
  );
});

test('decoders never throw and round-trip whatever they accept', () => {
  fc.assert(
    fc.property(
      fc.oneof(
        fc.uint8Array({ maxLength: 200 }),
        fc.constantFrom(148, 92, 64).chain((n) => fc.uint8Array({ minLength: n, maxLength: n })),
      ),
      fc.constantFrom(1, 2, 3),
      (b, t) => {
        if (b.length >= 4) {
          b[0] = t;
          b[1] = b[2] = b[3] = 0;
        }
        const r1 = decodeInitiation(b);
        const r2 = decodeResponse(b);
        const r3 = decodeCookieReply(b);
        if (r1.ok) assert.equal(toHex(encodeInitiation(r1.msg)), toHex(b));
        if (r2.ok) assert.equal(toHex(encodeResponse(r2.msg)), toHex(b));
        if (r3.ok) assert.equal(toHex(encodeCookieReply(r3.msg)), toHex(b));
        assert.ok([r1, r2, r3].filter((r) => r.ok).length <= 1);
      },
    ),
    { numRuns: 3000 },
  );
});
