import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  CHECKPOINT_CONTEXT,
  checkpointMessage,
  checkpointProblem,
  checkpointSignatureValid,
  keyIdOf,
  signCheckpoint,
} from './checkpoint.ts';
import { chain, fixedKey } from './testkit.ts';

describe('signed checkpoints', () => {
  const key = fixedKey(1);
  const head = chain(5)[4];

  test('signs "sallyport audit checkpoint v1" ‖ JCS({hash, keyId, seq, time}) with Ed25519', () => {
    const cp = signCheckpoint(head, key, 1234);
    assert.equal(cp.seq, 5);
    assert.equal(cp.hash, head.hash);
    assert.equal(cp.keyId, createHash('sha256').update(key.verifyKey.bytes).digest('hex').slice(0, 16));
    const msg = `${CHECKPOINT_CONTEXT}{"hash":"${head.hash}","keyId":"${cp.keyId}","seq":5,"time":1234}`;
    assert.equal(Buffer.from(checkpointMessage(cp)).toString('utf8'), msg);
    assert.ok(key.verifyKey.verify(Buffer.from(msg), Buffer.from(cp.signature, 'base64')));
    assert.equal(checkpointSignatureValid(cp, key.verifyKey), true);
    assert.equal(checkpointProblem(cp), undefined);
  });

  test('any change to the body, the signature or the key fails', () => {
    const cp = signCheckpoint(head, key, 1234);
    const other = fixedKey(2);
    const sig = Buffer.from(cp.signature, 'base64');
    sig[10] ^= 1;
    const variants = [
      { ...cp, seq: 4 },
      { ...cp, time: 1235 },
      { ...cp, hash: chain(5)[3].hash },
      { ...cp, signature: sig.toString('base64') },
      { ...cp, keyId: keyIdOf(other.verifyKey) },
    ];
    for (const v of variants) assert.equal(checkpointSignatureValid(v, key.verifyKey), false);
    assert.equal(checkpointSignatureValid(cp, other.verifyKey), false, 'wrong key');
    // The other key signing the same body under our keyId does not pass as ours.
    const forged = { ...signCheckpoint(head, other, 1234), keyId: cp.keyId };
    assert.equal(checkpointSignatureValid(forged, key.verifyKey), false);
  });

  test('a signature over the bare body (no context) is not a checkpoint signature', () => {
    const cp = signCheckpoint(head, key, 1);
    const bare = Buffer.from(checkpointMessage(cp)).subarray(CHECKPOINT_CONTEXT.length);
    const noContext = { ...cp, signature: Buffer.from(key.sign(bare)).toString('base64') };
    assert.equal(checkpointSignatureValid(noContext, key.verifyKey), false);
  });

  test('malformed checkpoints are refused, never thrown on', () => {
    const cp = signCheckpoint(head, key, 1);
    for (const bad of [
      { ...cp, seq: 0 },
      { ...cp, seq: 1.5 },
      { ...cp, hash: 'ab' },
      { ...cp, hash: head.hash.toUpperCase() },
      { ...cp, time: -1 },
      { ...cp, keyId: 'nothex!!nothex!!' },
      { ...cp, signature: 'AAAA' },
      { ...cp, signature: cp.signature.replace(/=*$/, '') },
      { ...cp, signature: 5 as unknown as string },
    ]) {
      assert.ok(checkpointProblem(bad), JSON.stringify(bad));
      assert.equal(checkpointSignatureValid(bad, key.verifyKey), false);
    }
    assert.throws(() => signCheckpoint({ seq: 0, hash: head.hash }, key, 1), { code: 'CHECKPOINT_INVALID' });
  });
});
