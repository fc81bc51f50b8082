import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { PrivateKey } from '../crypto/index.ts';
import { decodeTransport, transportCounter } from '../proto/transport/index.ts';
import { fromHex, toHex } from '../util/index.ts';
import { Keypair, Keypairs } from './keypair.ts';
import { NoiseIKpsk2 } from './noise.ts';
import { TAI64N_LEN, tai64n, tai64nAfter } from './tai64n.ts';

const vector = JSON.parse(
  readFileSync(
    new URL('../../../shared/vectors/noise-ikpsk2-blake2s-cacophony.json', import.meta.url),
    'utf8',
  ),
) as Record<
  'protocol_name' | 'init_prologue' | 'init_static' | 'resp_static' | 'init_ephemeral' | 'resp_ephemeral',
  string
> & {
  init_psks: string[];
  messages: { payload: string; ciphertext: string }[];
};

test('the session transport path seals the vector’s four transport messages byte for byte', () => {
  const v = vector;
  const noise = new NoiseIKpsk2({ protocolName: v.protocol_name, prologue: fromHex(v.init_prologue) });
  const iS = PrivateKey.fromBytes(fromHex(v.init_static));
  const rS = PrivateKey.fromBytes(fromHex(v.resp_static));
  const w1 = noise.writeMessage1(
    iS,
    rS.publicKey,
    fromHex(v.messages[0].payload),
    PrivateKey.fromBytes(fromHex(v.init_ephemeral)),
  )!;
  const r1 = noise.readMessage1(rS, w1.message)!;
  const psk = fromHex(v.init_psks[0]);
  const w2 = noise.writeMessage2(
    r1.state,
    psk,
    fromHex(v.messages[1].payload),
    PrivateKey.fromBytes(fromHex(v.resp_ephemeral)),
  )!;
  const r2 = noise.readMessage2(w1.state, psk, w2.message)!;
  const initiator = new Keypair(r2.keys, true, 0, 1, 2);
  const responder = new Keypair(w2.keys, false, 0, 2, 1);
  v.messages.slice(2).forEach((m, i) => {
    const [tx, rx] = i % 2 === 0 ? [initiator, responder] : [responder, initiator];
    const msg = tx.seal(fromHex(m.payload), false);
    tx.sendNonce++;
    assert.equal(toHex(msg.subarray(16)), m.ciphertext, `transport message ${i + 1}`);
    const d = decodeTransport(msg);
    assert.ok(d.ok);
    assert.equal(transportCounter(d.msg), BigInt(i >> 1));
    assert.equal(d.msg.receiverIndex, tx.remoteIndex);
    assert.equal(toHex(rx.open(d.msg)!), m.payload);
  });
});

test('seal pads to 16 with zeros in one buffer; open refuses tampering and big counters work', () => {
  const keys = {
    send: new Uint8Array(32).fill(1),
    recv: new Uint8Array(32).fill(1),
    handshakeHash: new Uint8Array(32),
  };
  const kp = new Keypair(keys, true, 0, 5, 6);
  for (const n of [0, 1, 15, 16, 17, 1400]) {
    const msg = kp.seal(new Uint8Array(n).fill(0xaa), true);
    assert.equal(msg.length, 32 + Math.ceil(n / 16) * 16);
    const d = decodeTransport(msg);
    assert.ok(d.ok);
    const pt = kp.open(d.msg)!;
    assert.equal(pt.length, Math.ceil(n / 16) * 16);
    assert.ok(pt.subarray(0, n).every((x) => x === 0xaa) && pt.subarray(n).every((x) => x === 0));
  }
  kp.sendNonce = 0xffff_ffff_ffff_0000n;
  const big = kp.seal(Uint8Array.of(1), true);
  const d = decodeTransport(big);
  assert.ok(d.ok && kp.open(d.msg));
  big[10] ^= 1;
  const e = decodeTransport(big);
  assert.ok(e.ok && kp.open(e.msg) === undefined);
});

test('keypair slots follow WireGuard’s rules and report every dropped keypair', () => {
  const dropped: number[] = [];
  const slots = new Keypairs((kp) => dropped.push(kp.localIndex));
  const keys = { send: new Uint8Array(32), recv: new Uint8Array(32), handshakeHash: new Uint8Array(32) };
  const mk = (i: number, init: boolean) => new Keypair(keys, init, 0, i, 0);
  const k1 = mk(1, true);
  slots.install(k1);
  assert.equal(slots.current, k1);
  const k2 = mk(2, false); // responder: next
  slots.install(k2);
  assert.equal(slots.next, k2);
  assert.equal(slots.current, k1);
  assert.equal(slots.receivedWith(k1), false);
  assert.equal(slots.receivedWith(k2), true);
  assert.deepEqual([slots.previous, slots.current, slots.next], [k1, k2, undefined]);
  const k3 = mk(3, false);
  slots.install(k3); // previous dropped, next := k3
  assert.deepEqual(dropped, [1]);
  const k4 = mk(4, true); // initiator while next is pending: previous := next, current dropped
  slots.install(k4);
  assert.deepEqual([slots.previous, slots.current, slots.next], [k3, k4, undefined]);
  assert.deepEqual(dropped, [1, 2]);
  slots.clear();
  assert.deepEqual(dropped, [1, 2, 3, 4]);
});

test('TAI64N: 2^62 + 10 + seconds, then nanoseconds whitened to 2^24 ns; strictly increasing compare', () => {
  assert.equal(toHex(tai64n(0)), '400000000000000a' + '00000000');
  assert.equal(toHex(tai64n(1_700_000_000_000)), '400000006553f10a' + '00000000');
  const t = tai64n(1_700_000_000_999);
  assert.equal(t.length, TAI64N_LEN);
  const nanos = Buffer.from(t).readUInt32BE(8);
  assert.equal(nanos % 0x1000000, 0);
  assert.ok(nanos <= 999_000_000 && nanos > 999_000_000 - 0x1000000);
  assert.equal(
    toHex(tai64n(1_700_000_000_001)),
    toHex(tai64n(1_700_000_000_016)),
    'within one whitening step',
  );
  assert.ok(tai64nAfter(tai64n(1_700_000_000_017), tai64n(1_700_000_000_000)));
  assert.ok(!tai64nAfter(tai64n(5), tai64n(5)));
  assert.ok(tai64nAfter(tai64n(2_000), tai64n(1_999)));
});
