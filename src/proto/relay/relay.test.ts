import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac, createPrivateKey, createPublicKey, diffieHellman } from 'node:crypto';
import { PrivateKey, PublicKey } from '../../crypto/index.ts';
import { concatBytes, fromHex, toHex } from '../../util/index.ts';
import {
  FRAME_HEADER_LEN,
  FrameDecoder,
  MAX_BUFFERED,
  MAX_PACKET_LEN,
  MAX_TOKEN_LEN,
  PROTOCOL_VERSION,
  RelayFrameError,
  clientProof,
  encodeFrame,
  verifyClientProof,
  type Frame,
} from './index.ts';

const K1 = new Uint8Array(32).fill(0x11);
const K2 = new Uint8Array(32).fill(0x22);

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof RelayFrameError, `expected RelayFrameError, got ${String(e)}`);
    return e.code;
  }
  assert.fail('did not throw');
}

/** Frames from pushing `b` into `d` (a new decoder by default). */
function collect(b: Uint8Array, d = new FrameDecoder()): Frame[] {
  const out: Frame[] = [];
  d.push(b, (f) => out.push(f));
  return out;
}

function header(type: number, len: number): Uint8Array {
  const h = new Uint8Array(5);
  h[0] = type;
  new DataView(h.buffer).setUint32(1, len);
  return h;
}

describe('frame layout (golden hex)', () => {
  const table: [Frame, string][] = [
    [{ type: 'keepalive' }, '0600000000'],
    [{ type: 'ping', data: fromHex('0102030405060708') }, '07000000080102030405060708'],
    [{ type: 'pong', data: fromHex('0102030405060708') }, '08000000080102030405060708'],
    [{ type: 'send-packet', dst: K1, packet: fromHex('abcd') }, '0400000022' + '11'.repeat(32) + 'abcd'],
    [{ type: 'recv-packet', src: K2, packet: new Uint8Array(0) }, '0500000020' + '22'.repeat(32)],
    [{ type: 'peer-gone', peer: K1, reason: 1 }, '0900000021' + '11'.repeat(32) + '01'],
    [{ type: 'health', message: 'ok' }, '0a000000026f6b'],
    [{ type: 'server-info', keepAliveMs: 60000, maxPacketLen: 65536 }, '03000000080000ea6000010000'],
    [
      { type: 'server-key', version: 1, serverKey: K1, challenge: K2 },
      '0100000049' + '73616c6c79707274' + '01' + '11'.repeat(32) + '22'.repeat(32),
    ],
    [
      { type: 'client-info', version: 1, clientKey: K1, proof: K2, token: fromHex('beef') },
      '0200000043' + '01' + '11'.repeat(32) + '22'.repeat(32) + 'beef',
    ],
    [{ type: 'peer-busy', peer: K1, busy: true }, '0b00000021' + '11'.repeat(32) + '01'],
    [{ type: 'peer-busy', peer: K1, busy: false }, '0b00000021' + '11'.repeat(32) + '00'],
  ];
  for (const [frame, hex] of table) {
    test(frame.type, () => {
      assert.equal(toHex(encodeFrame(frame)), hex);
      assert.deepEqual(collect(fromHex(hex)), [frame]);
    });
  }
});

test('PEER_BUSY with a flag other than 0 or 1 is malformed', () => {
  assert.throws(() => collect(fromHex('0b00000021' + '11'.repeat(32) + '02')), { code: 'RELAY_BAD_FRAME' });
});

describe('decoder', () => {
  test('one byte at a time gives the same frames', () => {
    const frames: Frame[] = [
      { type: 'send-packet', dst: K1, packet: new Uint8Array(1500).fill(9) },
      { type: 'keepalive' },
      { type: 'health', message: 'degraded: région' },
    ];
    const bytes = concatBytes(...frames.map(encodeFrame));
    const d = new FrameDecoder();
    const got: Frame[] = [];
    for (let i = 0; i < bytes.length; i++) d.push(bytes.subarray(i, i + 1), (f) => got.push(f));
    assert.deepEqual(got, frames);
    assert.equal(d.buffered, 0);
    d.end();
  });

  test('an oversize length is refused from the header alone, nothing buffered', () => {
    const d = new FrameDecoder();
    assert.equal(
      code(() => collect(header(0x04, 0xffffffff), d)),
      'RELAY_FRAME_TOO_LARGE',
    );
    assert.equal(d.buffered, 0);
    // A packet one byte over 64 KiB, and a HEALTH over its own limit.
    assert.equal(
      code(() => collect(header(0x04, 32 + MAX_PACKET_LEN + 1))),
      'RELAY_FRAME_TOO_LARGE',
    );
    assert.equal(
      code(() => collect(header(0x0a, 1025))),
      'RELAY_FRAME_TOO_LARGE',
    );
    assert.equal(
      code(() => collect(header(0x02, 65 + MAX_TOKEN_LEN + 1))),
      'RELAY_FRAME_TOO_LARGE',
    );
  });

  test('a header announcing 64 KiB that then stalls reserves little memory', () => {
    const d = new FrameDecoder();
    collect(concatBytes(header(0x04, 32 + MAX_PACKET_LEN), new Uint8Array(10)), d);
    assert.equal(d.buffered, 10);
    assert.ok(d.reserved <= 2048, `reserved ${d.reserved}`);
    collect(new Uint8Array(5000), d);
    assert.ok(d.reserved <= 2 * d.buffered + 2048, `reserved ${d.reserved} for ${d.buffered}`);
  });

  test('the largest legal frame passes and the buffer never exceeds one frame', () => {
    const f: Frame = { type: 'recv-packet', src: K2, packet: new Uint8Array(MAX_PACKET_LEN).fill(3) };
    const b = encodeFrame(f);
    assert.equal(b.length, MAX_BUFFERED);
    const d = new FrameDecoder();
    assert.deepEqual(collect(b.subarray(0, 1000), d), []);
    assert.equal(d.buffered, 1000 - FRAME_HEADER_LEN);
    assert.deepEqual(collect(b.subarray(1000), d), [f]);
  });

  test('unknown types, wrong lengths and bad payloads', () => {
    const cases: [string, Uint8Array, string][] = [
      ['type 0', header(0x00, 0), 'RELAY_UNKNOWN_FRAME'],
      ['type 0x0c', header(0x0c, 0), 'RELAY_UNKNOWN_FRAME'],
      ['type 0xff', header(0xff, 4), 'RELAY_UNKNOWN_FRAME'],
      ['ping of 7', header(0x07, 7), 'RELAY_BAD_FRAME'],
      ['keepalive of 1', header(0x06, 1), 'RELAY_BAD_FRAME'],
      ['send without a whole key', header(0x04, 31), 'RELAY_BAD_FRAME'],
      ['client-info without a proof', header(0x02, 64), 'RELAY_BAD_FRAME'],
      ['health not UTF-8', concatBytes(header(0x0a, 2), Uint8Array.of(0xc3, 0x28)), 'RELAY_BAD_FRAME'],
      ['server-key without the magic', concatBytes(header(0x01, 73), new Uint8Array(73)), 'RELAY_BAD_FRAME'],
    ];
    for (const [name, b, want] of cases)
      assert.equal(
        code(() => collect(b)),
        want,
        name,
      );
  });

  test('frames before the bad one are delivered; then the decoder stays failed', () => {
    const d = new FrameDecoder();
    const good = encodeFrame({ type: 'keepalive' });
    const got: Frame[] = [];
    assert.equal(
      code(() => d.push(concatBytes(good, header(0x63, 0), good), (f) => got.push(f))),
      'RELAY_UNKNOWN_FRAME',
    );
    assert.deepEqual(got, [{ type: 'keepalive' }]);
    assert.equal(
      code(() => collect(good, d)),
      'RELAY_UNKNOWN_FRAME',
    );
    assert.equal(
      code(() => d.end()),
      'RELAY_UNKNOWN_FRAME',
    );
  });

  test('a throwing frame handler propagates and fails the decoder', () => {
    const d = new FrameDecoder();
    const boom = new Error('handler');
    assert.throws(
      () =>
        d.push(encodeFrame({ type: 'keepalive' }), () => {
          throw boom;
        }),
      (e) => e === boom,
    );
    assert.equal(
      code(() => collect(encodeFrame({ type: 'keepalive' }), d)),
      'RELAY_ABORTED',
    );
  });

  test('a stream that ends inside a frame is truncated', () => {
    const b = encodeFrame({ type: 'ping', data: new Uint8Array(8) });
    for (const cut of [1, 4, 5, 12]) {
      const d = new FrameDecoder();
      assert.deepEqual(collect(b.subarray(0, cut), d), []);
      assert.equal(
        code(() => d.end()),
        'RELAY_TRUNCATED',
        `cut at ${cut}`,
      );
    }
    const whole = new FrameDecoder();
    collect(b, whole);
    whole.end();
  });

  test('encodeFrame refuses bad fields', () => {
    const cases: Frame[] = [
      { type: 'send-packet', dst: new Uint8Array(31), packet: new Uint8Array(1) },
      { type: 'send-packet', dst: K1, packet: new Uint8Array(MAX_PACKET_LEN + 1) },
      { type: 'ping', data: new Uint8Array(9) },
      { type: 'peer-gone', peer: K1, reason: 256 },
      { type: 'server-info', keepAliveMs: -1, maxPacketLen: 0 },
      { type: 'client-info', version: 1, clientKey: K1, proof: K2, token: new Uint8Array(MAX_TOKEN_LEN + 1) },
      { type: 'health', message: 'x'.repeat(1025) },
      { type: 'nonsense' } as unknown as Frame,
    ];
    for (const f of cases)
      assert.match(
        code(() => encodeFrame(f)),
        /^RELAY_(INVALID_ARGUMENT|FRAME_TOO_LARGE)$/,
        f.type,
      );
  });
});

describe('proof of possession of the node key', () => {
  const server = PrivateKey.generate();
  const client = PrivateKey.generate();
  const challenge = new Uint8Array(32).map((_, i) => i);
  const token = new TextEncoder().encode('coordinator-signed token');

  test('matches the construction recomputed independently with node:crypto', () => {
    const der = (k: PrivateKey) =>
      createPrivateKey({
        key: Buffer.concat([Buffer.from('302e020100300506032b656e04220420', 'hex'), k.unsafeBytes()]),
        format: 'der',
        type: 'pkcs8',
      });
    const shared = diffieHellman({ privateKey: der(client), publicKey: createPublicKey(der(server)) });
    const key = createHash('blake2s256').update('sallyport relay proof v1').update(shared).digest();
    const want = createHmac('blake2s256', key)
      .update(challenge)
      .update(client.publicKey.bytes)
      .update(server.publicKey.bytes)
      .update(token)
      .digest('hex');
    assert.equal(toHex(clientProof(client, server.publicKey, challenge, token)!), want);
  });

  test('the server accepts the right proof and nothing else', () => {
    const proof = clientProof(client, server.publicKey, challenge, token)!;
    assert.equal(proof.length, 32);
    assert.ok(verifyClientProof(server, client.publicKey, challenge, token, proof));
    const other = PrivateKey.generate();
    const otherChallenge = challenge.map((x) => x ^ 1);
    assert.ok(!verifyClientProof(server, other.publicKey, challenge, token, proof), 'claimed another key');
    assert.ok(!verifyClientProof(server, client.publicKey, otherChallenge, token, proof), 'replayed');
    assert.ok(
      !verifyClientProof(server, client.publicKey, challenge, token.subarray(1), proof),
      'other token',
    );
    assert.ok(!verifyClientProof(other, client.publicKey, challenge, token, proof), 'another relay');
    const flipped = proof.slice();
    flipped[31] ^= 0x80;
    assert.ok(!verifyClientProof(server, client.publicKey, challenge, token, flipped), 'flipped');
    assert.ok(!verifyClientProof(server, client.publicKey, challenge, token, proof.subarray(0, 31)), 'short');
    // A key that does not hold the private half cannot produce it: a proof made by `other` fails.
    const forged = clientProof(other, server.publicKey, challenge, token)!;
    assert.ok(!verifyClientProof(server, client.publicKey, challenge, token, forged), 'forged');
  });

  test('a low-order server key gives no proof; a low-order client key never verifies', () => {
    const zero = PublicKey.fromBytes(new Uint8Array(32));
    assert.equal(clientProof(client, zero, challenge, token), undefined);
    assert.ok(!verifyClientProof(server, zero, challenge, token, new Uint8Array(32)));
  });

  test('a whole admission exchange through the codec', () => {
    const d = new FrameDecoder();
    const [hello] = collect(
      encodeFrame({
        type: 'server-key',
        version: PROTOCOL_VERSION,
        serverKey: server.publicKey.bytes,
        challenge,
      }),
      d,
    );
    assert.equal(hello.type, 'server-key');
    if (hello.type !== 'server-key') return;
    const proof = clientProof(client, PublicKey.fromBytes(hello.serverKey), hello.challenge, token)!;
    const [info] = collect(
      encodeFrame({
        type: 'client-info',
        version: PROTOCOL_VERSION,
        clientKey: client.publicKey.bytes,
        proof,
        token,
      }),
    );
    assert.equal(info.type, 'client-info');
    if (info.type !== 'client-info') return;
    assert.ok(
      verifyClientProof(server, PublicKey.fromBytes(info.clientKey), challenge, info.token, info.proof),
    );
  });
});
