import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { PrivateKey, seal, open } from '../crypto/index.ts';
import { fromHex, toHex } from '../util/index.ts';
import { NoiseIKpsk2 } from './noise.ts';

interface Vector {
  protocol_name: string;
  init_prologue: string;
  init_psks: string[];
  init_static: string;
  init_ephemeral: string;
  init_remote_static: string;
  resp_prologue: string;
  resp_psks: string[];
  resp_static: string;
  resp_ephemeral: string;
  handshake_hash: string;
  messages: { payload: string; ciphertext: string }[];
}

const vector = JSON.parse(
  readFileSync(
    new URL('../../../shared/vectors/noise-ikpsk2-blake2s-cacophony.json', import.meta.url),
    'utf8',
  ),
) as Vector;

test('the Noise core reproduces the cacophony IKpsk2 vector byte for byte', () => {
  const v = vector;
  assert.equal(v.protocol_name, 'Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s');
  const iNoise = new NoiseIKpsk2({ protocolName: v.protocol_name, prologue: fromHex(v.init_prologue) });
  const rNoise = new NoiseIKpsk2({ protocolName: v.protocol_name, prologue: fromHex(v.resp_prologue) });
  const iS = PrivateKey.fromBytes(fromHex(v.init_static));
  const rS = PrivateKey.fromBytes(fromHex(v.resp_static));
  assert.equal(toHex(rS.publicKey.bytes), v.init_remote_static);
  const iE = PrivateKey.fromBytes(fromHex(v.init_ephemeral));
  const rE = PrivateKey.fromBytes(fromHex(v.resp_ephemeral));
  const [m1, m2, ...transport] = v.messages;

  const w1 = iNoise.writeMessage1(iS, rS.publicKey, fromHex(m1.payload), iE)!;
  assert.equal(toHex(w1.message), m1.ciphertext, 'message 1');
  const r1 = rNoise.readMessage1(rS, fromHex(m1.ciphertext))!;
  assert.equal(toHex(r1.payload), m1.payload);
  assert.ok(r1.state.rs.equals(iS.publicKey));

  const w2 = rNoise.writeMessage2(r1.state, fromHex(v.resp_psks[0]), fromHex(m2.payload), rE)!;
  assert.equal(toHex(w2.message), m2.ciphertext, 'message 2');
  const r2 = iNoise.readMessage2(w1.state, fromHex(v.init_psks[0]), fromHex(m2.ciphertext))!;
  assert.equal(toHex(r2.payload), m2.payload);
  assert.equal(toHex(r2.keys.handshakeHash), v.handshake_hash, 'initiator handshake hash');
  assert.equal(toHex(w2.keys.handshakeHash), v.handshake_hash, 'responder handshake hash');

  // Transport: initiator and responder alternate, each counting its own nonces from 0.
  const nonce = [0, 0];
  transport.forEach((m, i) => {
    const fromInitiator = i % 2 === 0;
    const tx = fromInitiator ? r2.keys : w2.keys;
    const rx = fromInitiator ? w2.keys : r2.keys;
    const n = nonce[i % 2]++;
    const ct = seal(tx.send, n, fromHex(m.payload), new Uint8Array(0));
    assert.equal(toHex(ct), m.ciphertext, `transport message ${i + 1}`);
    assert.equal(toHex(open(rx.recv, n, ct, new Uint8Array(0))!), m.payload);
  });
});

test('the Noise core refuses a wrong psk, a wrong prologue and a tampered message', () => {
  const v = vector;
  const noise = new NoiseIKpsk2({ protocolName: v.protocol_name, prologue: fromHex(v.init_prologue) });
  const other = new NoiseIKpsk2({ protocolName: v.protocol_name, prologue: new Uint8Array(1) });
  const iS = PrivateKey.generate();
  const rS = PrivateKey.generate();
  const w1 = noise.writeMessage1(iS, rS.publicKey, new Uint8Array(12))!;
  assert.equal(other.readMessage1(rS, w1.message), undefined);
  const bad = new Uint8Array(w1.message);
  bad[40] ^= 1;
  assert.equal(noise.readMessage1(rS, bad), undefined);
  assert.equal(noise.readMessage1(PrivateKey.generate(), w1.message), undefined);
  const r1 = noise.readMessage1(rS, w1.message)!;
  const w2 = noise.writeMessage2(r1.state, new Uint8Array(32).fill(1), new Uint8Array(0))!;
  assert.equal(noise.readMessage2(w1.state, new Uint8Array(32), w2.message), undefined);
  assert.ok(noise.readMessage2(w1.state, new Uint8Array(32).fill(1), w2.message));
});
