// Congestion behaviour (issue 3): on a 10 Mbit/s vnet link with a small drop-tail queue, one bulk
// stream reaches ≥ 80 % of the link in goodput without collapse; two connections competing for the
// same bottleneck share it within 2:1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../src/clock/index.ts';
import { Connection } from '../../src/stream/index.ts';
import type { Stream } from '../../src/stream/index.ts';
import { VNet, withSeed } from '../../src/testing/vnet/index.ts';
import type { Link } from '../../src/testing/vnet/index.ts';
import { MiB, Payload, Sink, writeAll } from './harness.ts';

const RATE_BPS = 10_000_000;
const BYTES_PER_MS = RATE_BPS / 8000;
/** One-way delay 10 ms: RTT 20 ms, bandwidth-delay product 25 KB. */
const DELAY_MS = 10;
/**
 * A small queue: 16 KiB ≈ 0.65 BDP. NewReno halving from BDP + queue leaves cwnd ≈ 0.83 BDP, so the
 * link idles only briefly after each loss; ≥ 80 % goodput leaves room for headers (~3 %) and recovery.
 */
const QUEUE_BYTES = 16 * 1024;
const DATAGRAM = 1200;

interface Flow {
  client: Connection;
  server: Connection;
  sink?: Sink;
  payload: Payload;
  errors: Error[];
}

/**
 * `n` client→server flows through one shared bottleneck (a vnet Link whose meta says which flow a
 * datagram belongs to); acks come back on per-flow links with the same delay.
 */
function dumbbell(
  net: VNet,
  clock: FakeClock,
  n: number,
  total: number,
  seed: number,
): { flows: Flow[]; bottleneck: Link<number> } {
  const bottleneck = net.link<number>({ bandwidthBps: RATE_BPS, queueBytes: QUEUE_BYTES, delayMs: DELAY_MS });
  const flows: Flow[] = [];
  for (let i = 0; i < n; i++) {
    const back = net.link<void>({ delayMs: DELAY_MS });
    const errors: Error[] = [];
    const flow: Flow = { errors, payload: new Payload(seed, 10 + i, total) } as Flow;
    flow.client = new Connection({
      clock,
      isClient: true,
      sendDatagram: (d) => bottleneck.send(d, i),
      maxDatagramSize: DATAGRAM,
    });
    flow.server = new Connection({
      clock,
      isClient: false,
      sendDatagram: (d) => back.send(d),
      maxDatagramSize: DATAGRAM,
      onIncomingStream: (req) => {
        const s: Stream = req.accept();
        s.on('error', (e: Error) => errors.push(e));
        flow.sink = new Sink(s, clock);
      },
    });
    back.setReceiver((d) => flow.client.receiveDatagram(d));
    flows.push(flow);
  }
  bottleneck.setReceiver((d, i) => flows[i!].server.receiveDatagram(d));
  return { flows, bottleneck };
}

function start(flow: Flow): void {
  const s = flow.client.openStream('bulk');
  s.on('error', (e: Error) => flow.errors.push(e));
  writeAll(s, flow.payload).catch((e) => flow.errors.push(e));
}

test(
  'one bulk stream on 10 Mbit/s with a small queue reaches ≥ 80 % of the link, no collapse',
  { timeout: 120_000 },
  (t) =>
    withSeed(t, async (seed) => {
      const clock = new FakeClock();
      const net = new VNet({ clock, seed });
      const total = 8 * MiB;
      const { flows, bottleneck } = dumbbell(net, clock, 1, total, seed);
      const f = flows[0];
      start(f);
      // Goodput per 500 ms window, sampled at every event.
      const WINDOW = 500;
      const windows: number[] = [];
      let nextEdge = WINDOW;
      let lastBytes = 0;
      await net.runUntil(() => {
        const bytes = f.sink?.bytes ?? 0;
        while (clock.now() >= nextEdge) {
          windows.push(bytes - lastBytes);
          lastBytes = bytes;
          nextEdge += WINDOW;
        }
        return f.sink?.done === true;
      }, 120_000);
      assert.deepEqual(f.errors, []);
      assert.equal(f.sink!.digest, f.payload.hash.digest('hex'));
      const ms = f.sink!.endedAt;
      const share = total / ms / BYTES_PER_MS;
      const winShare = windows.map((w) => +(w / WINDOW / BYTES_PER_MS).toFixed(3));
      const st = bottleneck.stats;
      const report = {
        test: 'congestion-single',
        seed,
        goodputShare: +share.toFixed(3),
        ms: Math.round(ms),
        windows: winShare,
        queueDrops: st.dropped.queue,
        peakQueue: st.peakQueueBytes,
        linkBytes: st.sentBytes,
        stats: f.client.stats(),
      };
      console.log(JSON.stringify(report));
      assert.ok(share >= 0.8, `goodput ${(share * 100).toFixed(1)} % of the link, want ≥ 80 %`);
      // No collapse: after the first second (slow start), no full window falls below half the link.
      for (const [i, w] of winShare.entries())
        if (i >= 2) assert.ok(w >= 0.5, `window ${i} carried ${(w * 100).toFixed(0)} % of the link`);
      // Useful bytes over bytes put on the bottleneck: retransmissions and headers stay small.
      assert.ok(total / st.sentBytes >= 0.85, `efficiency ${(total / st.sentBytes).toFixed(3)}`);
      f.client.close();
      f.server.close();
      net.stop();
    }),
);

// Started together, and the second 2 s after the first (a late-comer must win its share back from
// a flow that holds the whole link).
for (const gapMs of [0, 2000])
  test(
    `two connections on one 10 Mbit/s bottleneck share it within 2:1 (second starts at ${gapMs} ms)`,
    { timeout: 120_000 },
    (t) =>
      withSeed(t, async (seed) => {
        const clock = new FakeClock();
        const net = new VNet({ clock, seed });
        const total = 8 * MiB;
        const { flows, bottleneck } = dumbbell(net, clock, 2, total, seed);
        start(flows[0]);
        if (gapMs === 0) start(flows[1]);
        else clock.setTimeout(() => start(flows[1]), gapMs);
        // Compare what each got from 1 s after both run (slow start, convergence) until the first ends.
        const FROM = gapMs + 1000;
        let at1s: number[] | undefined;
        let atFirstEnd: number[] | undefined;
        const bytes = () => flows.map((f) => f.sink?.bytes ?? 0);
        await net.runUntil(() => {
          if (!at1s && clock.now() >= FROM) at1s = bytes();
          if (!atFirstEnd && flows.some((f) => f.sink?.done)) atFirstEnd = bytes();
          return flows.every((f) => f.sink?.done === true);
        }, 240_000);
        for (const f of flows) {
          assert.deepEqual(f.errors, []);
          assert.equal(f.sink!.digest, f.payload.hash.digest('hex'));
        }
        assert.ok(at1s && atFirstEnd, `both flows ran together past ${FROM} ms`);
        const got = atFirstEnd.map((b, i) => b - at1s![i]);
        const ratio = Math.max(...got) / Math.min(...got);
        const both = flows.map((f) => f.sink!.endedAt);
        const combined = (2 * total) / Math.max(...both) / BYTES_PER_MS;
        console.log(
          JSON.stringify({
            test: 'congestion-two',
            seed,
            gapMs,
            shareBytes: got,
            ratio: +ratio.toFixed(3),
            combinedShare: +combined.toFixed(3),
            endsMs: both.map(Math.round),
            queueDrops: bottleneck.stats.dropped.queue,
          }),
        );
        assert.ok(ratio <= 2, `competing flows got ${got.join(' vs ')} bytes: ${ratio.toFixed(2)}:1`);
        for (const f of flows) {
          f.client.close();
          f.server.close();
        }
        net.stop();
      }),
  );
