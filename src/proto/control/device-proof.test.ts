import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PrivateKey } from '../../crypto/index.ts';
import {
  DEVICE_CHALLENGE_LEN,
  deviceChallengeIssuedAt,
  deviceChallengeKey,
  deviceProof,
  newDeviceChallenge,
  verifyDeviceProof,
} from './device-proof.ts';

test('a challenge carries its issue time under a tag only the coordinator can make', () => {
  const coord = PrivateKey.generate();
  const key = deviceChallengeKey(coord);
  assert.deepEqual(
    deviceChallengeKey(PrivateKey.fromBytes(coord.unsafeBytes())),
    key,
    'same key, same secret',
  );
  const c = newDeviceChallenge(key, 1_800_000_000_123);
  assert.equal(c.length, DEVICE_CHALLENGE_LEN);
  assert.equal(deviceChallengeIssuedAt(key, c), 1_800_000_000_123);
  assert.equal(deviceChallengeIssuedAt(deviceChallengeKey(PrivateKey.generate()), c), undefined);
  for (let i = 0; i < c.length; i++) {
    const bad = new Uint8Array(c);
    bad[i] ^= 1;
    assert.equal(deviceChallengeIssuedAt(key, bad), undefined, `byte ${i} flipped`);
  }
  assert.equal(deviceChallengeIssuedAt(key, c.subarray(0, 39)), undefined);
});

test('the proof verifies only for its node key, coordinator key, challenge and name', () => {
  const coord = PrivateKey.generate();
  const node = PrivateKey.generate();
  const other = PrivateKey.generate();
  const c = newDeviceChallenge(deviceChallengeKey(coord), 1);
  const p = deviceProof(node, coord.publicKey, c, 'alice-mbp')!;
  assert.equal(p.length, 32);
  assert.ok(verifyDeviceProof(coord, node.publicKey, c, 'alice-mbp', p));
  assert.ok(!verifyDeviceProof(coord, other.publicKey, c, 'alice-mbp', p), 'another node key');
  assert.ok(!verifyDeviceProof(other, node.publicKey, c, 'alice-mbp', p), 'another coordinator');
  assert.ok(!verifyDeviceProof(coord, node.publicKey, c, 'alice-mbp2', p), 'another name');
  const c2 = newDeviceChallenge(deviceChallengeKey(coord), 1);
  assert.ok(!verifyDeviceProof(coord, node.publicKey, c2, 'alice-mbp', p), 'another challenge');
  assert.ok(!verifyDeviceProof(coord, node.publicKey, c, 'alice-mbp', p.subarray(0, 31)), 'short');
  assert.ok(!verifyDeviceProof(coord, node.publicKey, c, 'alice-mbp', new Uint8Array(32)), 'zeros');
});
