// Path changes (issue 3): a transfer survives the datagram size going 16 KiB → 1200 B → 16 KiB and a
// 2 s blackout in both directions, with no stream error and the same SHA-256 each way.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fullRun } from '../../src/testing/require.ts';
import { withSeed } from '../../src/testing/vnet/index.ts';
import type { LinkOptions } from '../../src/testing/vnet/index.ts';
import { connectPair, KiB, MiB, transferBothWays } from './harness.ts';

const TOTAL = fullRun ? 64 * MiB : 16 * MiB;
const BIG = 16 * KiB;
const SMALL = 1200;

const CASES: { name: string; link: LinkOptions; noticeMs: number }[] = [
  { name: 'clean link, connection told at once', link: { delayMs: 10 }, noticeMs: 0 },
  {
    name: '1% loss with reordering, connection told 100 ms after the path shrank',
    link: { delayMs: 10, lossRate: 0.01, reorderRate: 0.05, duplicateRate: 0.02 },
    noticeMs: 100,
  },
];

for (const c of CASES)
  test(`path change 16 KiB → 1200 B → 16 KiB and a 2 s blackout: ${c.name}`, { timeout: 120_000 }, (t) =>
    withSeed(t, async (seed) => {
      const peers = connectPair({ seed, link: c.link, datagramSize: BIG });
      const { clock, ends, client, server } = peers;
      const [a, b] = ends;
      const mtuDrops = () => a.stats.dropped.mtu + b.stats.dropped.mtu;
      const events: string[] = [];
      let stage = 0;
      let blackoutEnd = -1;
      let dropsWhenTold = -1;
      const tellConnections = (bytes: number) => {
        client.setMaxDatagramSize(bytes);
        server.setMaxDatagramSize(bytes);
        events.push(`${clock.now().toFixed(1)} ms: connections told ${bytes} B`);
        if (bytes === SMALL) dropsWhenTold = mtuDrops();
      };
      const shrinkPath = (bytes: number) => {
        a.setLink({ mtu: bytes }, 'both');
        events.push(`${clock.now().toFixed(1)} ms: path ${bytes} B`);
        if (c.noticeMs === 0) tellConnections(bytes);
        else clock.setTimeout(() => tellConnections(bytes), c.noticeMs);
      };
      const growPath = (bytes: number) => {
        // A path that grows is announced first (the path layer learns it before using it).
        tellConnections(bytes);
        a.setLink({ mtu: bytes }, 'both');
      };
      await transferBothWays(peers, seed, TOTAL, 600_000, ({ up, down }) => {
        const least = Math.min(up, down);
        if (stage === 0 && least >= TOTAL / 4) {
          stage = 1;
          shrinkPath(SMALL);
        } else if (stage === 1 && least >= TOTAL / 2) {
          stage = 2;
          growPath(BIG);
        } else if (stage === 2 && least >= (TOTAL * 5) / 8) {
          stage = 3;
          a.setLink({ lossRate: 1 }, 'both');
          events.push(`${clock.now().toFixed(1)} ms: blackout`);
          clock.setTimeout(() => {
            a.setLink({ lossRate: c.link.lossRate ?? 0 }, 'both');
            blackoutEnd = clock.now();
            events.push(`${clock.now().toFixed(1)} ms: blackout over`);
          }, 2000);
        }
      });
      t.diagnostic(events.join('; '));
      assert.equal(stage, 3, 'every path change happened during the transfer');
      assert.ok(blackoutEnd > 0, 'the transfer outlasted the blackout');
      // Once told, a connection never sends a datagram over the path's size.
      assert.equal(mtuDrops(), dropsWhenTold, 'no oversized datagram after the connection was told');
      if (c.noticeMs > 0) assert.ok(dropsWhenTold > 0, 'the late notice did cost oversized datagrams');
      client.close();
      server.close();
      peers.net.stop();
    }),
  );
