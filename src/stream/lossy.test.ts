// The stream layer over the deterministic vnet: loss, reordering, duplication, datagram-size
// changes and a blackout. Each transfer is checked by SHA-256 both ways. Seeds replay with
// SALLYPORT_SEED=<n> (see src/testing/vnet/seed.ts).
import { describe, test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { FakeClock } from '../clock/index.ts';
import { Rng, VNet, withSeed } from '../testing/vnet/index.ts';
import type { LinkOptions, VEndpoint } from '../testing/vnet/index.ts';
import { Connection } from './index.ts';
import type { ConnectionOptions, Stream } from './index.ts';

type Extra = Partial<ConnectionOptions>;

function peers(seed: number, link: LinkOptions, mds: number, extra: Extra = {}) {
  const clock = new FakeClock();
  const net = new VNet({ clock, seed });
  const ends: [VEndpoint, VEndpoint] = net.pair(link);
  const errors: Error[] = [];
  const accepted: Stream[] = [];
  /** Largest datagram either side sent since the last reset (set to 0 to start a new watch). */
  const largest = { sent: 0 };
  const mk = (isClient: boolean, end: VEndpoint) =>
    new Connection({
      clock,
      isClient,
      maxDatagramSize: mds,
      sendDatagram: (d) => {
        largest.sent = Math.max(largest.sent, d.length);
        end.send(d);
      },
      onIncomingStream: (req) => {
        const s = req.accept();
        s.on('error', (e) => errors.push(e));
        accepted.push(s);
      },
      ...extra,
    });
  const client = mk(true, ends[0]);
  const server = mk(false, ends[1]);
  ends[0].onReceive((d) => client.receiveDatagram(d));
  ends[1].onReceive((d) => server.receiveDatagram(d));
  return { clock, net, ends, client, server, errors, accepted, largest };
}

/** Deterministic bytes from the seed, produced and hashed in chunks. */
function payload(seed: number, n: number): { chunks: Buffer[]; sha: string } {
  const rng = new Rng(seed, 99);
  const chunks: Buffer[] = [];
  const h = createHash('sha256');
  for (let left = n; left > 0;) {
    const k = Math.min(left, 60_000 + (rng.next() % 8000));
    const w = new Uint32Array(Math.ceil(k / 4));
    for (let i = 0; i < w.length; i++) w[i] = rng.next();
    const b = Buffer.from(w.buffer, 0, k);
    h.update(b);
    chunks.push(b);
    left -= k;
  }
  return { chunks, sha: h.digest('hex') };
}

function send(s: Duplex, chunks: Buffer[]): void {
  let i = 0;
  const pump = (): void => {
    while (i < chunks.length) if (!s.write(chunks[i++])) return void s.once('drain', pump);
    s.end();
  };
  pump();
}

function sink(s: Duplex) {
  const h = createHash('sha256');
  const r = { bytes: 0, ended: false, sha: '' };
  s.on('data', (b: Buffer) => {
    r.bytes += b.length;
    h.update(b);
  });
  s.on('end', () => {
    r.ended = true;
    r.sha = h.digest('hex');
  });
  return r;
}

/** One stream, `bytes` each way at once; `during` is called before each vnet event. */
async function bothWays(
  t: TestContext,
  link: LinkOptions,
  mds: number,
  bytes: number,
  limitMs: number,
  during?: (p: ReturnType<typeof peers>, up: number) => void,
  extra?: Extra,
) {
  return withSeed(t, async (seed) => {
    const p = peers(seed, link, mds, extra);
    const up = payload(seed, bytes);
    const down = payload(seed + 1, bytes);
    const cs = p.client.openStream('bulk');
    cs.on('error', (e) => p.errors.push(e));
    const got = sink(cs);
    send(cs, up.chunks);
    let sgot: ReturnType<typeof sink> | undefined;
    await p.net.runUntil(() => {
      if (!sgot && p.accepted.length) {
        sgot = sink(p.accepted[0]);
        send(p.accepted[0], down.chunks);
      }
      during?.(p, sgot?.bytes ?? 0);
      return got.ended && sgot?.ended === true;
    }, limitMs);
    assert.deepEqual(p.errors, []);
    assert.equal(sgot!.sha, up.sha, 'client → server SHA-256');
    assert.equal(got.sha, down.sha, 'server → client SHA-256');
    const cst = p.client.stats();
    const sst = p.server.stats();
    assert.equal(cst.drops.internal + sst.drops.internal, 0);
    assert.equal(cst.protocolViolations + sst.protocolViolations, 0);
    t.diagnostic(
      `${bytes} B each way in ${p.clock.now().toFixed(0)} virtual ms; client lost ${cst.packetsLost}/${cst.packetsSent} packets, ` +
        `retransmitted ${cst.bytesRetransmitted} B, PTOs ${cst.ptoFired}, cwnd ${cst.cwnd}, srtt ${cst.srttMs.toFixed(1)} ms`,
    );
    p.client.close();
    p.server.close();
    p.net.stop();
    assert.equal(p.clock.pending(), 0, 'no timer left after close()');
    return { p, cst, sst };
  });
}

describe('streams over a lossy vnet', () => {
  test('5 % loss with reordering and duplication, 1200-byte datagrams', async (t) => {
    const { cst } = await bothWays(
      t,
      { lossRate: 0.05, reorderRate: 0.05, duplicateRate: 0.05, delayMs: 10, jitterMs: 2 },
      1200,
      2 << 20,
      120_000,
    );
    assert.ok(cst.packetsLost > 0 && cst.bytesRetransmitted > 0, 'losses were repaired');
  });

  test('20 % loss each way, 16 KiB datagrams, 25 ms delay', async (t) => {
    await bothWays(
      t,
      { lossRate: 0.2, delayMs: 25, reorderRate: 0.02, duplicateRate: 0.02 },
      16384,
      2 << 20,
      300_000,
    );
  });

  test('20 % loss, 1200-byte datagrams, no delay', async (t) => {
    await bothWays(t, { lossRate: 0.2 }, 1200, 1 << 20, 300_000);
  });

  test('datagram size 16 KiB → 1200 → 16 KiB in the middle of a transfer, with loss', async (t) => {
    let phase = 0;
    let largestWhileSmall = 0;
    const { cst } = await bothWays(t, { lossRate: 0.05, delayMs: 5 }, 16384, 4 << 20, 300_000, (p, up) => {
      const set = (n: number) => {
        p.ends[0].setLink({ mtu: n }, 'both');
        p.client.setMaxDatagramSize(n);
        p.server.setMaxDatagramSize(n);
        p.largest.sent = 0;
      };
      if (phase === 1) largestWhileSmall = Math.max(largestWhileSmall, p.largest.sent);
      if (phase === 0 && up > 1 << 20) {
        set(1200);
        phase = 1;
      } else if (phase === 1 && up > 2 << 20) {
        set(16384);
        phase = 2;
      }
    });
    assert.equal(phase, 2);
    // Everything sent after the drop, retransmissions of 16 KiB-era frames included, fit 1200 bytes.
    assert.ok(
      largestWhileSmall > 0 && largestWhileSmall <= 1200,
      `sent ${largestWhileSmall} B while the path took 1200`,
    );
    assert.equal(cst.maxDatagramSize, 16384);
  });

  test('a path change (new RTT, new size, congestion state reset) in mid-transfer breaks nothing', async (t) => {
    let switched = false;
    const { cst } = await bothWays(t, { delayMs: 40, lossRate: 0.01 }, 16384, 2 << 20, 300_000, (p, up) => {
      if (!switched && up > 512 << 10) {
        switched = true;
        p.ends[0].setLink({ delayMs: 2, mtu: 1400 }, 'both');
        p.client.pathChanged(1400);
        p.server.pathChanged(1400);
      }
    });
    assert.ok(switched);
    assert.ok(cst.srttMs < 20, `srtt ${cst.srttMs} ms should follow the new path`);
  });

  test('a 2 s blackout stalls the transfer but breaks nothing', async (t) => {
    let blackoutAt = -1;
    let restored = false;
    await bothWays(t, { lossRate: 0.01, delayMs: 10 }, 1200, 2 << 20, 300_000, (p, up) => {
      if (blackoutAt < 0 && up > 512 << 10) {
        blackoutAt = p.clock.now();
        p.ends[0].setLink({ lossRate: 1 }, 'both');
      } else if (blackoutAt >= 0 && !restored && p.clock.now() >= blackoutAt + 2000) {
        restored = true;
        p.ends[0].setLink({ lossRate: 0.01 }, 'both');
      }
    });
    assert.ok(restored);
  });

  test('many concurrent streams over loss all complete, round-robin keeps them close', async (t) => {
    await withSeed(t, async (seed) => {
      const p = peers(seed, { lossRate: 0.05, delayMs: 5 }, 1200);
      const n = 200;
      const size = 20_000;
      const done: number[] = [];
      for (let i = 0; i < n; i++) {
        const s = p.client.openStream(`s${i}`);
        s.on('error', (e) => p.errors.push(e));
        const r = sink(s);
        s.on('end', () => done.push(p.clock.now()));
        s.end(Buffer.alloc(size, i));
        void r;
      }
      let echoed = 0;
      await p.net.runUntil(() => {
        while (echoed < p.accepted.length) {
          const s = p.accepted[echoed++];
          s.pipe(s);
        }
        return done.length === n;
      }, 300_000);
      assert.deepEqual(p.errors, []);
      const first = Math.min(...done);
      const last = Math.max(...done);
      t.diagnostic(`completion spread ${first.toFixed(0)}–${last.toFixed(0)} ms`);
      assert.ok(last < first * 4 + 500, `spread ${first}..${last} suggests starvation`);
      p.client.close();
      p.server.close();
      p.net.stop();
    });
  });
});
