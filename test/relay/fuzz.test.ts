// The relay server under fuzzed input: admitted clients send mutated frame streams (random frames,
// flipped bytes, garbage, truncation) and then close. Whatever they send, the relay keeps running,
// each such connection ends counted under one reason, nothing stays queued, and two well-behaved
// clients keep exchanging packets throughout.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { PrivateKey } from '../../src/crypto/index.ts';
import { encodeFrame, type Frame } from '../../src/proto/relay/index.ts';
import { admittedRaw, relayClient, startRelay, until } from './fixture.ts';

const key = fc.uint8Array({ minLength: 32, maxLength: 32 });
const frame: fc.Arbitrary<Frame> = fc.oneof(
  fc.record({
    type: fc.constant('send-packet' as const),
    dst: key,
    packet: fc.uint8Array({ maxLength: 3000 }),
  }),
  fc.record({ type: fc.constant('ping' as const), data: fc.uint8Array({ minLength: 8, maxLength: 8 }) }),
  fc.record({ type: fc.constant('pong' as const), data: fc.uint8Array({ minLength: 8, maxLength: 8 }) }),
  fc.constant({ type: 'keepalive' as const }),
  fc.record({ type: fc.constant('health' as const), message: fc.string({ maxLength: 20 }) }),
  fc.record({
    type: fc.constant('client-info' as const),
    version: fc.nat(255),
    clientKey: key,
    proof: key,
    token: fc.uint8Array({ maxLength: 200 }),
  }),
);

const stream = fc.record({
  frames: fc.array(frame, { minLength: 1, maxLength: 6 }),
  flips: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { maxLength: 3 }),
  garbage: fc.option(fc.uint8Array({ minLength: 1, maxLength: 64 })),
  cut: fc.option(fc.nat()),
});

test(
  'fuzzed frame streams from admitted clients: counted, contained, and harmless to others',
  { timeout: 120_000 },
  async () => {
    const relay = await startRelay();
    const got: number[] = [];
    const a = relayClient(relay);
    const b = relayClient(relay, { onPacket: (_s, p) => got.push(p[0]) });
    a.start();
    b.start();
    await Promise.all([a.whenConnected(), b.whenConnected()]);
    let runs = 0;
    let seq = 0;
    try {
      await fc.assert(
        fc.asyncProperty(stream, async ({ frames, flips, garbage, cut }) => {
          runs++;
          const parts = frames.map((f) => encodeFrame({ ...f }));
          let bytes = Buffer.concat(parts);
          for (const [i, x] of flips) if (bytes.length) bytes[i % bytes.length] ^= x;
          if (garbage) bytes = Buffer.concat([bytes, garbage]);
          if (cut !== null && bytes.length) bytes = bytes.subarray(0, cut % bytes.length);
          const c = await admittedRaw(relay, PrivateKey.generate());
          c.write(bytes);
          c.socket.end();
          await c.waitClosed(10_000);
          // The good pair still works after each run.
          a.send(b.publicKey, Uint8Array.of(++seq & 0xff));
          await until(() => got.length === seq, 5000, `packet ${seq}`);
        }),
        { numRuns: 40 },
      );
      await until(() => relay.server.clients === 2, 5000, 'only the good pair left');
      const d = relay.server.stats.disconnects;
      const ended = ['malformed', 'protocol', 'closed'].reduce((s, r) => s + (d.get(r as never) ?? 0), 0);
      assert.equal(ended, runs, `every fuzzed connection ended under one reason: ${JSON.stringify([...d])}`);
      assert.ok((d.get('malformed') ?? 0) + (d.get('protocol') ?? 0) > 0, 'some runs broke the protocol');
      assert.equal(relay.server.queuedBytes, 0);
      assert.equal(a.state, 'connected');
      assert.equal(b.state, 'connected');
    } finally {
      await Promise.all([a.stop(), b.stop()]);
      await relay.server.stop();
    }
  },
);
