// Memory bounded by the reader (issue 3): with a slow reader the sender's buffered bytes never
// exceed the windows (asserted at every vnet event), and the process's memory grows by less than
// 32 MiB over a 256 MiB transfer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import v8 from 'node:v8';
import vm from 'node:vm';
import { withSeed } from '../../src/testing/vnet/index.ts';
import type { Stream } from '../../src/stream/index.ts';
import { connectPair, KiB, MiB, Payload, writeAll } from './harness.ts';
import type { ExtraOptions, Peers } from './harness.ts';
import { createHash } from 'node:crypto';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

/** The reader takes 32 KiB every virtual millisecond (32 MiB/s): far slower than the link. */
const READ_BYTES = 32 * KiB;
const READ_EVERY_MS = 1;

/** Explicit windows for the bound test (auto-tuning may double the stream window once). */
const WINDOWS = { streamWindow: 1 * MiB, maxStreamWindow: 2 * MiB, streamSendBuffer: 256 * KiB };
/** The writer's chunk size (writeAll's default) and the Duplex's writable high-water mark. */
const CHUNK = 64 * KiB;
const WRITABLE_HWM = 64 * KiB;
/**
 * Sender: the connection holds unacknowledged bytes (at most the peer's stream window, since
 * credit follows what the reader consumed and acks follow receipt) plus unsent bytes (write()
 * turns false past streamSendBuffer, one chunk may overshoot), and Node's Writable buffer holds
 * up to its high-water mark plus one chunk. Receiver: unread plus out-of-order bytes never exceed
 * the window it advertised.
 */
const BOUNDS = {
  streamWindow: WINDOWS.streamWindow,
  senderBound: WINDOWS.maxStreamWindow + WINDOWS.streamSendBuffer + CHUNK + WRITABLE_HWM + CHUNK,
  receiverBound: WINDOWS.maxStreamWindow,
};

interface SlowRun {
  peers: Peers;
  sent: Payload;
  received: () => { bytes: number; digest: string; done: boolean };
  sender: () => Stream;
  receiver: () => Stream | undefined;
  stopReader: () => void;
}

/** A client stream writing `total` bytes as fast as backpressure allows into a slow reader. */
/**
 * `read(n)`: takes exactly n bytes per tick. `unshift`: takes everything buffered, keeps 32 KiB
 * and puts the rest back with unshift() (a parser that read ahead), which Node allows.
 */
type ReaderKind = 'read(n)' | 'unshift';

function slowTransfer(
  seed: number,
  total: number,
  failures: unknown[],
  opts: ExtraOptions = {},
  reader: ReaderKind = 'read(n)',
): SlowRun {
  const peers = connectPair({
    seed,
    link: { delayMs: 5 },
    datagramSize: 16 * KiB,
    client: opts,
    server: opts,
  });
  const { clock } = peers;
  const hash = createHash('sha256');
  let bytes = 0;
  let done = false;
  let digest = '';
  let rs: Stream | undefined;
  let stopped = false;
  peers.onServerStream = (s) => {
    rs = s;
    s.on('end', () => {
      done = true;
      digest = hash.digest('hex');
    });
    const readSome = () => {
      if (stopped || done) return;
      let chunk: Buffer | null;
      if (reader === 'read(n)') {
        // read(n) hands out exactly n bytes once that many are buffered (or the rest at the end).
        const n = Math.min(READ_BYTES, s.readableLength);
        chunk = (n > 0 ? s.read(n) : s.read(0)) as Buffer | null;
      } else {
        chunk = s.read() as Buffer | null;
        if (chunk !== null && chunk.length > READ_BYTES) {
          s.unshift(chunk.subarray(READ_BYTES));
          chunk = chunk.subarray(0, READ_BYTES);
        }
      }
      if (chunk !== null) {
        hash.update(chunk);
        bytes += chunk.length;
      }
      clock.setTimeout(readSome, READ_EVERY_MS);
    };
    readSome();
  };
  const cs = peers.watch('client', peers.client.openStream('slow'));
  const sent = new Payload(seed, 1, total);
  writeAll(cs, sent).catch((e) => failures.push(e));
  return {
    peers,
    sent,
    received: () => ({ bytes, digest, done }),
    sender: () => cs,
    receiver: () => rs,
    stopReader: () => (stopped = true),
  };
}

for (const reader of ['read(n)', 'unshift'] as const)
  test(
    `slow reader (${reader}): the sender buffers no more than the windows allow`,
    // A reader that unshift()s must not earn credit for the bytes it put back.
    { timeout: 120_000 },
    (t) =>
      withSeed(t, async (seed) => {
        const failures: unknown[] = [];
        const total = 32 * MiB;
        const run = slowTransfer(seed, total, failures, WINDOWS, reader);
        const { peers } = run;
        const cs = run.sender();
        const window = BOUNDS;
        let peakSender = 0;
        let peakReceiver = 0;
        let violations = 0;
        let firstViolation = '';
        await peers.net.runUntil(() => {
          // Sender: bytes the application handed over that the peer has not yet consumed-and-acked:
          // Node's Writable buffer plus the connection's send buffer for the stream.
          const senderBuffered = cs.writableLength + cs.bufferedBytes;
          const rs = run.receiver();
          const receiverBuffered = rs ? rs.readableLength + rs.reassemblyBytes : 0;
          peakSender = Math.max(peakSender, senderBuffered);
          peakReceiver = Math.max(peakReceiver, receiverBuffered);
          if (senderBuffered > window.senderBound || receiverBuffered > window.receiverBound) {
            if (violations++ === 0)
              firstViolation = `at ${peers.clock.now()} ms: sender ${senderBuffered} (bound ${window.senderBound}), receiver ${receiverBuffered} (bound ${window.receiverBound})`;
          }
          return run.received().done;
        }, 120_000);
        console.log(
          JSON.stringify({ test: 'slow-reader', reader, seed, peakSender, peakReceiver, ...window }),
        );
        assert.deepEqual(failures, []);
        assert.deepEqual(peers.errors, []);
        assert.equal(run.received().digest, run.sent.hash.digest('hex'));
        assert.equal(violations, 0, firstViolation);
        // The reader really was the bottleneck: the sender was held back.
        assert.ok(
          peakSender > window.streamWindow / 2,
          `peak sender buffer ${peakSender} never approached the window`,
        );
        peers.client.close();
        peers.server.close();
        peers.net.stop();
      }),
  );

test('heap growth over a 256 MiB transfer to a slow reader stays under 32 MiB', { timeout: 300_000 }, (t) =>
  withSeed(t, async (seed) => {
    const failures: unknown[] = [];
    const total = 256 * MiB;
    gc();
    const mem = () => {
      const m = process.memoryUsage();
      return m.heapUsed + m.external; // Buffers live outside the JS heap: count both
    };
    const base = mem();
    const run = slowTransfer(seed, total, failures);
    let peak = 0;
    let nextSample = 0;
    const samples: number[] = [];
    await run.peers.net.runUntil(() => {
      const r = run.received();
      if (r.bytes >= nextSample) {
        nextSample += 16 * MiB;
        gc();
        const grown = mem() - base;
        samples.push(Math.round(grown / KiB));
        peak = Math.max(peak, grown);
      }
      return r.done;
    }, 600_000);
    console.log(
      JSON.stringify({
        test: 'heap-256MiB',
        seed,
        peakGrowthKiB: Math.round(peak / KiB),
        samplesKiB: samples,
      }),
    );
    assert.deepEqual(failures, []);
    assert.deepEqual(run.peers.errors, []);
    assert.equal(run.received().bytes, total);
    assert.equal(run.received().digest, run.sent.hash.digest('hex'));
    assert.ok(peak < 32 * MiB, `memory grew by ${(peak / MiB).toFixed(1)} MiB`);
    run.peers.client.close();
    run.peers.server.close();
    run.peers.net.stop();
  }),
);
