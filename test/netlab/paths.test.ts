// Direct paths through real Linux NAT (DESIGN.md §4 "Paths"): the real CLI processes in the netlab,
// the customer and engineer routers translating with nftables `masquerade` or `masquerade
// fully-random`, the customer LAN reachable only through its NAT, and the customer namespace
// dropping every new inbound connection (I1). Each agent has one UDP socket, learns its mapping from
// the relay's STUN port, and publishes it through the coordinator.
//
// What Linux NAT is, in RFC 4787 terms:
// - `masquerade` keeps the source port when no other connection holds it, so every destination sees
//   one mapping: endpoint-independent mapping (§4.1), in practice. Its filter is conntrack: only
//   the exact remote a connection was opened to gets in, address-and-port-dependent filtering (§5).
// - `masquerade fully-random` picks a random port per connection: address-and-port-dependent mapping
//   (§4.1), the "symmetric" NAT. Its filter is conntrack too (APDF).
// Write M for a mapping as STUN saw it. Each agent PINGs the other's M from the socket STUN used.
// (a) EIM+APDF both: the mapping towards the peer is M on both sides, so once both have sent, each
//     filter holds the other's exact M: direct.
// (b) EDM (engineer) + EIM/APDF (customer): the engineer's PINGs to M_C leave from a fresh random
//     port M_E', which the customer's conntrack never saw (it opened M_C→M_E, towards the STUN-seen
//     M_E): dropped by APDF. The connector's PINGs go to M_E, whose only conntrack entry is the
//     engineer's STUN flow (remote = the relay's STUN port): dropped. Nobody ever learns M_E':
//     relayed. (The vnet grid, src/paths/vnet-nat.test.ts, argues the same pair.)
// (c) EDM both: neither side ever sends to the other's real mapping: relayed.
// (d) UDP dropped by one router's firewall: no direct datagram passes: relayed.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { needs, rootMissing, fullRun } from '../../src/testing/require.ts';
import { missingBinary } from '../../src/testing/netns.ts';
import { sha256, sleep, startOverlay, type Overlay, type OverlayOptions } from './overlay.ts';
import type { PeerStatus } from '../../src/agent/index.ts';

const MIB = Number(process.env.SALLYPORT_NETLAB_PATHS_MIB ?? (fullRun ? 256 : 32));
/** A rate that makes the transfer last a few seconds, so that things can happen during it. */
const RATE = fullRun ? '64M' : '8M';
const BINARIES = ['ip', 'nft', 'curl', 'python3'];

function skip(t: Parameters<typeof needs>[0], more: string[] = []): boolean {
  return !needs(t, rootMissing() ?? missingBinary(...BINARIES, ...more));
}

async function overlay(
  t: { after(fn: () => Promise<void>): void },
  o: Partial<OverlayOptions>,
): Promise<Overlay> {
  const ov = await startOverlay({ mib: MIB, routeCustomerLan: false, routerInputDrop: true, ...o });
  t.after(() => ov.lab.cleanup());
  return ov;
}

async function waitPeer(
  ov: Overlay,
  pred: (p: PeerStatus) => boolean,
  ms: number,
  what: string,
): Promise<PeerStatus> {
  const end = Date.now() + ms;
  for (;;) {
    const p = await ov.engPeer();
    if (p && pred(p)) return p;
    if (Date.now() > end) {
      const ct = async (site: 'custrtr' | 'engrtr') =>
        (await ov.lab.exec(site, ['conntrack', '-L', '-p', 'udp'], { allowFailure: true })).stdout;
      const c = await ov.connStatus().catch(() => undefined);
      throw new Error(
        `timed out waiting for ${what}: ${JSON.stringify(p)}\n--- connector peer ${JSON.stringify(c?.peers[0])} udp ${JSON.stringify(c?.udp)}\n--- custrtr\n${await ct('custrtr')}\n--- engrtr\n${await ct('engrtr')}`,
      );
    }
    await sleep(200);
  }
}

const isDirect = (p: PeerStatus): boolean => p.path.kind === 'direct';

/** Every path change the engineer logged ("peer path changed"). */
const changes = (ov: Overlay): string[] =>
  ov.engineer
    .output()
    .split('\n')
    .filter((l) => l.includes('peer path changed'));

describe('direct paths through real Linux NAT', () => {
  test(
    '(a, e, f) both behind masquerade: direct, the relay idle, a conntrack flush survived, the relay killed',
    { timeout: 240_000 },
    async (t) => {
      if (skip(t, ['conntrack'])) return;
      const ov = await overlay(t, {});
      const conn = await ov.connStatus();
      t.diagnostic(`connector endpoints ${JSON.stringify(conn.udp)}`);

      // ── (a) direct within 2 s of the first stream ──
      const t0 = Date.now();
      const first = ov.fetch({ limitRate: RATE });
      const p = await waitPeer(ov, isDirect, 10_000, 'a direct path');
      assert.ok(p.pathChange, 'the change is recorded');
      const took = Date.parse(p.pathChange.at) - t0;
      t.diagnostic(`direct after ${took} ms: ${JSON.stringify(p.path)} rtt ${p.pathRttMs} ms`);
      assert.ok(took < 2000, `direct ${took} ms after the first stream`);
      assert.equal(p.pathChange.reason, 'pong');
      assert.match(p.pathChange.from, /^relay local-1$/);
      assert.equal(p.pathChange.to, `direct ${(p.path as { endpoint: string }).endpoint}`);
      // the connector's address as the engineer reaches it is the customer router's WAN mapping
      assert.match(
        (p.path as { endpoint: string }).endpoint,
        new RegExp(`^${ov.lab.addr.custrtrWan.replace(/\./g, '\\.')}:\\d+$`),
      );
      // measured, and plausible; its first sample is taken while both agents are busy with the
      // transfer's start, so on a loaded 2-core host it can reach a few hundred ms (seen: 436)
      assert.ok(p.pathRttMs !== null && p.pathRttMs < 1000, `path rtt ${p.pathRttMs}`);
      // the relay's forwarded bytes stop growing while the transfer runs on the direct path
      const r1 = await ov.relayBytes();
      await sleep(1500);
      const r2 = await ov.relayBytes();
      const body = await first;
      assert.equal(sha256(body), sha256(ov.big));
      t.diagnostic(`relay forwarded ${r2 - r1} bytes in 1.5 s of a direct transfer`);
      assert.ok(r2 - r1 < 16 * 1024, `the relay forwarded ${r2 - r1} bytes during a direct transfer`);
      assert.equal((await ov.connStatus()).peers[0].path.kind, 'direct', 'the connector agrees');
      // status text and metrics say so too
      const text = await ov.lab.cli('engineer', ['status', '--state', ov.engState]);
      assert.match(text.stdout, /acme-connector\s+\S+\s+direct \d+\.\d+\.\d+\.\d+:\d+/);
      assert.match(text.stdout, /path since \S+: relay local-1 → direct \S+ \(pong\)/);
      const metrics = await ov.lab.cli('engineer', ['status', '--metrics', '--state', ov.engState]);
      assert.match(metrics.stdout, /sallyport_agent_peer_path\{peer="[^"]+",kind="direct",via="[^"]+"\} 1/);
      assert.match(metrics.stdout, /sallyport_agent_path_changes_total\{to="direct",reason="pong"\} [1-9]/);

      // ── (e) conntrack flushed on both routers in the middle of a transfer ──
      const switchesBefore = (await ov.engPeer())!.pathSwitches;
      const during = ov.fetch({ limitRate: RATE });
      await sleep(1000);
      await ov.lab.flushConntrack('custrtr');
      await ov.lab.flushConntrack('engrtr');
      const tf = Date.now();
      assert.equal(sha256(await during), sha256(ov.big), 'the transfer across the flush is intact');
      // the path recovers: direct again (at once when the new mappings line up, else after the
      // fallback to the relay and the next probe round, 30–60 s)
      const back = await waitPeer(ov, isDirect, 75_000, 'the direct path back after the flush');
      t.diagnostic(
        `after the flush: ${JSON.stringify(back.path)} (${back.pathSwitches - switchesBefore} switches, ${Date.now() - tf} ms); changes:\n${changes(ov).slice(-4).join('\n')}`,
      );

      // ── (f) the relay killed once the direct path is up: streams unaffected ──
      const running = ov.fetch({ limitRate: RATE });
      await sleep(800);
      await ov.relay.stop();
      assert.equal(sha256(await running), sha256(ov.big), 'a stream running when the relay died');
      assert.equal(sha256(await ov.fetch()), sha256(ov.big), 'a stream opened after the relay died');
      const after = (await ov.engPeer())!;
      assert.equal(after.path.kind, 'direct');
    },
  );

  test(
    '(b) engineer behind fully-random, connector behind masquerade: relayed, and it works',
    { timeout: 120_000 },
    async (t) => {
      if (skip(t)) return;
      const ov = await overlay(t, { nat: { engrtr: 'fully-random' } });
      await relayedAndWorks(t, ov);
    },
  );

  test('(c) both behind fully-random: relayed, and it works', { timeout: 120_000 }, async (t) => {
    if (skip(t)) return;
    const ov = await overlay(t, { nat: { custrtr: 'fully-random', engrtr: 'fully-random' } });
    await relayedAndWorks(t, ov);
  });

  test('(d) UDP dropped by the customer router: relayed, and it works', { timeout: 120_000 }, async (t) => {
    if (skip(t)) return;
    const ov = await overlay(t, {});
    await ov.lab.dropUdp('custrtr');
    await relayedAndWorks(t, ov);
  });
});

/** A transfer through the relay, with probe rounds during and after it that never find a path. */
async function relayedAndWorks(t: { diagnostic(s: string): void }, ov: Overlay): Promise<void> {
  const body = await ov.fetch();
  assert.equal(sha256(body), sha256(ov.big));
  // one probe round is 3 PINGs a second apart from the handshake on: wait it out
  await sleep(3500);
  const p = (await ov.engPeer())!;
  t.diagnostic(
    `path ${JSON.stringify(p.path)} state ${p.pathState} candidates; changes: ${changes(ov).length}`,
  );
  assert.deepEqual(p.path, { kind: 'relay', region: 'local-1' });
  assert.equal(p.pathChange, null, 'never direct');
  assert.equal(p.pathSwitches, 0);
  assert.equal((await ov.connStatus()).peers[0].path.kind, 'relay');
  assert.equal(changes(ov).length, 0);
}
