import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  F_OPEN,
  T_DATA,
  T_PATH,
  T_RESET,
  T_WAKE,
  decodeLink,
  decodePathPayload,
  encodeLink,
  encodePathPayload,
  payloadKind,
} from './index.ts';

test('the first byte picks the reader: link types (with OPEN), PATH, the rest unknown', () => {
  for (const t of [T_DATA, T_DATA | F_OPEN, T_WAKE, T_RESET])
    assert.equal(payloadKind(Uint8Array.of(t)), 'link');
  assert.equal(payloadKind(Uint8Array.of(T_PATH)), 'path');
  for (const t of [0x00, 0x04, 0x0f, 0x11, 0x90, 0xff])
    assert.equal(payloadKind(Uint8Array.of(t)), 'unknown');
});

test('PATH payloads: round trip, padding ignored, random bytes decode to path frames or nothing', () => {
  const f = {
    type: 'path_pong' as const,
    txid: Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8),
    observed: { address: '2001:db8::1', port: 9 },
  };
  const p = encodePathPayload(f);
  assert.equal(p[0], T_PATH);
  assert.deepEqual(decodePathPayload(p), [f]);
  const padded = new Uint8Array(64);
  padded.set(p);
  assert.deepEqual(decodePathPayload(padded), [f], 'WireGuard padding is ignored');
  assert.equal(encodePathPayload(f, 1000).length, 1000, 'padTo counts the whole payload');
  assert.deepEqual(
    decodePathPayload(encodeLink(T_DATA, false, 1n, p)),
    [],
    'a link payload is no PATH payload',
  );
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (b) => {
      const q = new Uint8Array(b.length + 1);
      q[0] = T_PATH;
      q.set(b, 1);
      for (const x of decodePathPayload(q)) assert.match(x.type, /^(path_ping|path_pong|call_me_maybe)$/);
    }),
    { numRuns: 2000 },
  );
});

test('link header: encode/decode, OPEN only on DATA', () => {
  const d = decodeLink(encodeLink(T_DATA, true, 0x0102030405060708n, Uint8Array.of(9)))!;
  assert.deepEqual([d.type, d.open, d.epoch, [...d.body]], [T_DATA, true, 0x0102030405060708n, [9]]);
  assert.equal(decodeLink(Uint8Array.of(T_WAKE | F_OPEN, 0, 0, 0, 0, 0, 0, 0, 1)), undefined);
  assert.equal(decodeLink(Uint8Array.of(T_DATA)), undefined, 'too short');
});
