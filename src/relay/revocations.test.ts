import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PublicKey, SigningKey } from '../crypto/index.ts';
import { issueRevocations } from '../proto/relay/index.ts';
import { RevocationSet } from './revocations.ts';

const SK = SigningKey.fromSeed(new Uint8Array(32).fill(7));
const T0 = 1_700_000_000_000;
const A = PublicKey.fromBytes(new Uint8Array(32).fill(0x11));
const B = PublicKey.fromBytes(new Uint8Array(32).fill(0x22));

test('the relay keeps only the newest list: a replayed older one cannot un-revoke a key', () => {
  const set = new RevocationSet([SK.verifyKey], 30_000);
  const withA = issueRevocations({ keys: [A], issuedAtMs: T0 }, SK);
  const empty = issueRevocations({ keys: [], issuedAtMs: T0 - 5_000 }, SK);
  assert.ok(set.apply(withA, T0).ok);
  assert.ok(set.has(A.base64()));
  const r = set.apply(empty, T0);
  assert.deepEqual(r, { ok: false, code: 'REVOCATIONS_STALE' });
  assert.ok(set.has(A.base64()));
  const newer = issueRevocations({ keys: [B], issuedAtMs: T0 + 5_000 }, SK);
  assert.ok(set.apply(newer, T0 + 5_000).ok);
  assert.ok(!set.has(A.base64()) && set.has(B.base64()));
  assert.equal(set.size, 1);
  // an old list is refused even by a relay that just started
  const fresh = new RevocationSet([SK.verifyKey], 30_000);
  assert.equal(fresh.apply(withA, T0 + 10 * 60_000).ok, false);
});
