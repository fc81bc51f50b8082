import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../clock/index.ts';
import { Rng, VNet, VnetTimeoutError, withSeed } from './index.ts';
import type { LinkOptions } from './index.ts';

/** Sends `n` numbered datagrams of `size` bytes a→b at t=0 and runs the clock dry; returns arrivals. */
function blast(seed: number, opts: LinkOptions, n: number, size = 100) {
  const clock = new FakeClock();
  const net = new VNet({ clock, seed });
  const [a, b] = net.pair(opts);
  const got: { id: number; at: number }[] = [];
  b.onReceive((d) => got.push({ id: new DataView(d.buffer, d.byteOffset).getUint32(0), at: clock.now() }));
  const buf = new Uint8Array(size);
  for (let i = 0; i < n; i++) {
    new DataView(buf.buffer).setUint32(0, i);
    a.send(buf);
  }
  clock.runAll();
  return { got, stats: a.stats, clock, net };
}

/** |observed − expected| within `k` binomial standard deviations. */
function assertBinomial(observed: number, n: number, p: number, what: string, k = 5): void {
  const sd = Math.sqrt(n * p * (1 - p));
  assert.ok(
    Math.abs(observed - n * p) <= k * sd + 1,
    `${what}: ${observed} of ${n}, expected ${n * p} ± ${k * sd}`,
  );
}

test('rng: deterministic per (seed, stream), uniform enough, streams independent', () => {
  const a = new Rng(42);
  const b = new Rng(42);
  const c = new Rng(42, 1);
  const xs = Array.from({ length: 1000 }, () => a.next());
  assert.deepEqual(
    xs,
    Array.from({ length: 1000 }, () => b.next()),
  );
  assert.notDeepEqual(
    xs.slice(0, 10),
    Array.from({ length: 10 }, () => c.next()),
  );
  const r = new Rng(7);
  const buckets = new Array(10).fill(0);
  for (let i = 0; i < 100_000; i++) {
    const f = r.float();
    assert.ok(f >= 0 && f < 1);
    buckets[Math.floor(f * 10)]++;
  }
  for (const k of buckets) assertBinomial(k, 100_000, 0.1, 'bucket');
});

test('loss rate matches its option within binomial tolerance', (t) =>
  withSeed(t, (seed) => {
    for (const p of [0.01, 0.05, 0.2, 0.5]) {
      const { got, stats } = blast(seed, { lossRate: p }, 50_000);
      assertBinomial(stats.dropped.loss, 50_000, p, `loss ${p}`);
      assert.equal(got.length, 50_000 - stats.dropped.loss);
      assert.equal(stats.delivered, got.length);
    }
    assert.equal(blast(seed, { lossRate: 1 }, 1000).got.length, 0);
    assert.equal(blast(seed, { lossRate: 0 }, 1000).got.length, 1000);
  }));

test('delay is exact and jitter stays within [delay, delay + jitter)', (t) =>
  withSeed(t, (seed) => {
    const { got } = blast(seed, { delayMs: 25 }, 100);
    assert.ok(got.every((g) => g.at === 25));
    assert.deepEqual(
      got.map((g) => g.id),
      [...Array(100).keys()],
    );
    const j = blast(seed, { delayMs: 10, jitterMs: 5 }, 2000).got;
    assert.ok(j.every((g) => g.at >= 10 && g.at < 15));
    const spread = Math.max(...j.map((g) => g.at)) - Math.min(...j.map((g) => g.at));
    assert.ok(spread > 4.9, `jitter spread ${spread}`);
  }));

test('bandwidth serializes datagrams back to back', (t) =>
  withSeed(t, (seed) => {
    // 8 Mbit/s = 1000 bytes/ms: ten 1000-byte datagrams finish at 1, 2, ... 10 ms, plus 5 ms delay.
    const { got, stats } = blast(seed, { bandwidthBps: 8_000_000, delayMs: 5 }, 10, 1000);
    assert.deepEqual(
      got.map((g) => g.at),
      [6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
    );
    assert.equal(stats.peakQueueBytes, 10_000);
  }));

test('drop-tail queue drops what does not fit, and drains at the link rate', (t) =>
  withSeed(t, (seed) => {
    const clock = new FakeClock();
    const net = new VNet({ clock, seed });
    const [a, b] = net.pair({ bandwidthBps: 8_000_000, queueBytes: 3000 });
    let n = 0;
    b.onReceive(() => n++);
    for (let i = 0; i < 10; i++) a.send(new Uint8Array(1000));
    assert.equal(a.stats.dropped.queue, 7); // 0 + 1000 + 2000 of backlog fit; the 4th would make 4000
    assert.equal(a.outbound.queuedBytes(), 3000);
    clock.advance(1.5);
    assert.equal(n, 1);
    a.send(new Uint8Array(1000)); // backlog 1500 + 1000 fits
    a.send(new Uint8Array(1000)); // 2500 + 1000 does not
    assert.equal(a.stats.dropped.queue, 8);
    clock.runAll();
    assert.equal(n, 4);
    // An idle link takes a datagram larger than the queue.
    a.send(new Uint8Array(5000));
    clock.runAll();
    assert.equal(n, 5);
  }));

test('mtu drops oversized datagrams and counts them', (t) =>
  withSeed(t, (seed) => {
    const { got, stats } = blast(seed, { mtu: 1200 }, 10, 1201);
    assert.equal(got.length, 0);
    assert.equal(stats.dropped.mtu, 10);
    assert.equal(blast(seed, { mtu: 1200 }, 10, 1200).got.length, 10);
  }));

test('duplication and reordering happen at their rates and are counted', (t) =>
  withSeed(t, (seed) => {
    const n = 20_000;
    const d = blast(seed, { duplicateRate: 0.05 }, n);
    assertBinomial(d.stats.duplicated, n, 0.05, 'duplicates');
    assert.equal(d.got.length, n + d.stats.duplicated);
    assert.equal(d.stats.reordered, 0);

    // One datagram per ms, 10% held back up to 10 ms: each held one is overtaken.
    const clock = new FakeClock();
    const net = new VNet({ clock, seed });
    const [a, b] = net.pair({ delayMs: 5, reorderRate: 0.1, reorderDelayMs: 10 });
    const ids: number[] = [];
    b.onReceive((x) => ids.push(x[0] | (x[1] << 8)));
    for (let i = 0; i < n; i++) {
      a.send(new Uint8Array([i & 255, i >> 8]));
      clock.advance(1);
    }
    clock.runAll();
    assert.equal(ids.length, n);
    let late = 0;
    for (let i = 1, max = ids[0]; i < n; i++) {
      if (ids[i] < max) late++;
      else max = ids[i];
    }
    assert.equal(a.stats.reordered, late);
    assertBinomial(late, n, 0.1 * 0.9, 'reordered', 6); // held back by > 1 ms: ~90% of the held ones
    assert.deepEqual(
      [...ids].sort((x, y) => x - y),
      [...Array(n).keys()],
    );
  }));

test('same seed gives the same delivery trace; another seed another', (t) =>
  withSeed(t, (seed) => {
    const opts: LinkOptions = {
      lossRate: 0.05,
      delayMs: 3,
      jitterMs: 2,
      reorderRate: 0.05,
      duplicateRate: 0.02,
      bandwidthBps: 50_000_000,
      queueBytes: 30_000,
    };
    const trace = (s: number) =>
      blast(s, opts, 5000, 1200)
        .got.map((g) => `${g.id}@${g.at}`)
        .join(',');
    assert.equal(trace(seed), trace(seed));
    assert.notEqual(trace(seed), trace((seed + 1) >>> 0));
  }));

test('setLink: a 2 s blackout mid-run drops everything, then traffic resumes', (t) =>
  withSeed(t, (seed) => {
    const clock = new FakeClock();
    const net = new VNet({ clock, seed });
    const [a, b] = net.pair({ delayMs: 10 });
    const at: number[] = [];
    b.onReceive(() => at.push(clock.now()));
    for (let ms = 0; ms < 5000; ms += 100) {
      if (ms === 1000) a.setLink({ lossRate: 1 }, 'both');
      if (ms === 3000) a.setLink({ lossRate: 0 }, 'both');
      a.send(new Uint8Array(10));
      clock.advance(100);
    }
    clock.runAll();
    assert.equal(at.length, 30);
    assert.equal(a.stats.dropped.loss, 20);
    assert.ok(at.every((x) => x < 1000 || x >= 3000));
    assert.equal(a.outbound.options.delayMs, 10, 'setLink merges into the options in force');
    assert.equal(b.outbound.options.lossRate, 0);
  }));

test('runUntil yields to Node between events and rejects naming the seed', (t) =>
  withSeed(t, async (seed) => {
    const clock = new FakeClock();
    const net = new VNet({ clock, seed });
    const [a, b] = net.pair({ delayMs: 1 });
    // A ping-pong whose replies go out from setImmediate: it only progresses if runUntil yields.
    let pongs = 0;
    b.onReceive((d) => setImmediate(() => b.send(d)));
    a.onReceive((d) => {
      pongs++;
      if (pongs < 100) setImmediate(() => a.send(d));
    });
    a.send(new Uint8Array(1));
    await net.runUntil(() => pongs === 100, 1000);
    assert.equal(clock.now(), 200);

    await assert.rejects(
      net.runUntil(() => false, 50),
      (e: unknown) => {
        assert.ok(e instanceof VnetTimeoutError);
        assert.match(e.message, new RegExp(`stalled.*SALLYPORT_SEED=${seed}`));
        return true;
      },
    );
    clock.setTimeout(function again() {
      clock.setTimeout(again, 10);
    }, 10);
    await assert.rejects(
      net.runUntil(() => false, 500),
      /not done after 500 ms of virtual time \(seed \d+/,
    );
    net.stop();
  }));

// How fast the vnet runs is a benchmark's business (no unit test asserts a timing): this checks
// that 200k datagrams through a shaped link all arrive or are counted as lost.
test('200k datagrams through a shaped link: every one delivered or counted', (t) =>
  withSeed(t, () => {
    const { got, stats } = blast(
      1,
      { lossRate: 0.05, delayMs: 25, jitterMs: 1, bandwidthBps: 1e9 },
      200_000,
      1200,
    );
    assert.equal(got.length, stats.delivered);
    assert.ok(stats.delivered > 180_000 && stats.delivered < 200_000, JSON.stringify(stats));
  }));

test('links draw from their own streams: traffic on one never shifts another; meta passes through', (t) =>
  withSeed(t, (seed) => {
    const fates = (noise: number) => {
      const clock = new FakeClock();
      const net = new VNet({ clock, seed });
      const quiet = net.link<string>({ lossRate: 0.3, jitterMs: 3 });
      const busy = net.link<void>({ lossRate: 0.3, jitterMs: 3 });
      const seen: string[] = [];
      quiet.setReceiver((d, meta) => seen.push(`${meta}:${d[0]}@${clock.now()}`));
      busy.setReceiver(() => undefined);
      for (let i = 0; i < 200; i++) {
        for (let k = 0; k < noise; k++) busy.send(new Uint8Array(1));
        quiet.send(new Uint8Array([i & 255]), `from-${i % 3}`);
        clock.advance(1);
      }
      clock.runAll();
      return seen;
    };
    const a = fates(0);
    assert.ok(a.length > 100 && a.length < 180, `${a.length} of 200 delivered at 30 % loss`);
    assert.ok(a[0].startsWith('from-'));
    assert.deepEqual(fates(5), a);
  }));
