// Integrity across a grid (issue 3): loss 0/1/5/20 %, with and without reordering + duplication,
// one-way delay 0 and 25 ms, datagram size 1200 B and 16 KiB. In every cell one stream carries a
// transfer each way at once, and each side's SHA-256 must equal the sender's. 4 MiB per direction by
// default, 64 MiB with SALLYPORT_FULL=1. Each cell is its own test so the runner reports it.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { fullRun } from '../../src/testing/require.ts';
import { withSeed } from '../../src/testing/vnet/index.ts';
import type { LinkOptions } from '../../src/testing/vnet/index.ts';
import { connectPair, KiB, MiB, transferBothWays } from './harness.ts';

const TOTAL = fullRun ? 64 * MiB : 4 * MiB;
const LOSS = [0, 0.01, 0.05, 0.2];
const DELAY = [0, 25];
const SIZE = [1200, 16 * KiB];
/** Reordering: 5 % held back up to 10 ms; duplication: 5 %. Both directions. */
const SHUFFLE: LinkOptions = { reorderRate: 0.05, reorderDelayMs: 10, duplicateRate: 0.05 };

/**
 * Virtual-time budget of one cell. The slowest cell (20 % loss both ways, 25 ms, 1200 B) runs near
 * Mathis' bound, MSS/RTT · 1.22/√p ≈ 1200 B / 50 ms · 2.7 ≈ 65 KB/s, so 4 MiB takes ~65 s of virtual
 * time; ten times that before calling it stuck.
 */
const LIMIT_MS = (TOTAL / (64 * 1024)) * 10_000;

describe(`integrity grid, ${TOTAL / MiB} MiB each way per cell`, () => {
  for (const size of SIZE)
    for (const delayMs of DELAY)
      for (const lossRate of LOSS)
        for (const shuffle of [false, true]) {
          const name = `loss ${lossRate * 100}% ${shuffle ? 'reorder+dup' : 'in-order'} delay ${delayMs} ms datagram ${size} B`;
          test(name, { timeout: fullRun ? 1_800_000 : 60_000 }, (t) =>
            withSeed(t, async (seed) => {
              const link: LinkOptions = { lossRate, delayMs, ...(shuffle ? SHUFFLE : {}) };
              const peers = connectPair({ seed, link, datagramSize: size });
              const t0 = performance.now();
              const { ms } = await transferBothWays(peers, seed, TOTAL, LIMIT_MS);
              const [a, b] = peers.ends;
              assert.equal(a.stats.dropped.mtu + b.stats.dropped.mtu, 0, 'no datagram over the path size');
              t.diagnostic(
                JSON.stringify({
                  cell: name,
                  virtualMs: Math.round(ms),
                  realMs: Math.round(performance.now() - t0),
                  datagrams: a.stats.sent + b.stats.sent,
                  lost: a.stats.dropped.loss + b.stats.dropped.loss,
                }),
              );
              peers.client.close();
              peers.server.close();
              peers.net.stop();
            }),
          );
        }
});
