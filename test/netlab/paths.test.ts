// Direct paths through real Linux NAT (DESIGN.md §4 "Paths"): the real CLI processes in the netlab,
// the customer and engineer routers translating with nftables `masquerade`, `masquerade persistent`
// or `masquerade fully-random`, with or without an input firewall, the customer LAN reachable only
// through its NAT, and the customer namespace dropping every new inbound connection (I1). Each agent
// has one UDP socket, learns its mapping from the relay's STUN port, and publishes it through the
// coordinator.
//
// What Linux NAT is, in RFC 4787 terms:
// - `masquerade` (and `masquerade persistent`, the same with one address) keeps the source port
//   when no other conntrack entry holds the tuple, so every destination sees one mapping:
//   endpoint-independent mapping (§4.1), in practice. Its filter is conntrack: only the exact remote
//   a connection was opened to gets in, address-and-port-dependent filtering (§5).
// - `masquerade fully-random` picks a random port per connection: address-and-port-dependent mapping
//   (§4.1), the "symmetric" NAT. Its filter is conntrack too (APDF).
// - A router with no input firewall ("bare") also confirms a conntrack entry for a datagram that
//   arrives unsolicited at its own address (its input accepted it; ICMP port unreachable goes back).
//   That entry (peer's mapping → our mapping) takes the tuple: the inside host's own later flow to
//   the peer's mapping is given another port. A PING that arrives before the inside host has sent
//   to us therefore spoils the path. The agents send "opens" first (PINGs with IP TTL 2, which pass
//   their own NAT and die at the next router) and full PINGs only once the peer has opened.
//
// The expected path of each pair is derived from conntrack after the probes: each router's
// mapping towards the peer is compared with the one STUN saw (EIM when equal); both EIM → direct,
// else relayed. Each test also states what RFC 4787 says for its pair, and both must agree.
// (a) masquerade both, bare: both EIM once opens keep the tuples clean: direct.
// (g) masquerade, one bare one with an input firewall: direct. (h) persistent both, bare: direct.
// (i) opens turned off (--nat-open-ttl 0), bare both: the first PING spoils the connector's router
//     (a conntrack entry from the engineer's mapping to the router itself), the connector's flow gets
//     another port (not EIM): relayed — the failure the opens fix, shown by conntrack.
// (b) EDM (engineer) + EIM/APDF (customer): the engineer's PINGs to M_C leave from a fresh random
//     port M_E', which the customer's conntrack never saw: dropped by APDF. Nobody ever learns M_E':
//     relayed. (The vnet grid, src/paths/vnet-nat.test.ts, argues the same pair.)
// (c) EDM both: neither side ever sends to the other's real mapping: relayed.
// (d) UDP dropped by one router's firewall: no direct datagram passes: relayed.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { needs, rootMissing, fullRun } from '../../src/testing/require.ts';
import { missingBinary } from '../../src/testing/netns.ts';
import { sha256, sleep, startOverlay, type Overlay, type OverlayOptions } from './overlay.ts';
import type { NetcheckReport, PeerStatus } from '../../src/agent/index.ts';

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
  const ov = await startOverlay({ mib: MIB, routeCustomerLan: false, ...o });
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

interface Entry {
  orig: { src: string; dst: string; sport: number; dport: number };
  reply: { src: string; dst: string; sport: number; dport: number };
  unreplied: boolean;
}

/** `conntrack -L -p udp` of a router, parsed. */
async function conntrack(ov: Overlay, site: 'custrtr' | 'engrtr'): Promise<Entry[]> {
  const r = await ov.lab.exec(site, ['conntrack', '-L', '-p', 'udp'], { allowFailure: true });
  const out: Entry[] = [];
  for (const line of r.stdout.split('\n')) {
    const kv = [...line.matchAll(/(src|dst|sport|dport)=(\S+)/g)].map((m) => m[2]);
    if (kv.length < 8) continue;
    const t = (i: number) => ({
      src: kv[i],
      dst: kv[i + 1],
      sport: Number(kv[i + 2]),
      dport: Number(kv[i + 3]),
    });
    out.push({ orig: t(0), reply: t(4), unreplied: line.includes('[UNREPLIED]') });
  }
  return out;
}

interface NatFacts {
  /** The agent's mapping as STUN saw it (from the router's own table). */
  stun: string | undefined;
  /** Its mappings towards the peer's router. */
  towardsPeer: string[];
  /** Endpoint-independent: every mapping towards the peer is the STUN one. */
  eim: boolean;
  /** Entries for datagrams from the peer's router to this router itself (a bare router's "spoil"). */
  spoiled: number;
}

async function natFacts(ov: Overlay, site: 'custrtr' | 'engrtr'): Promise<NatFacts> {
  const inside = site === 'custrtr' ? ov.lab.addr.customer : ov.lab.addr.engineer;
  const own = site === 'custrtr' ? ov.lab.addr.custrtrWan : ov.lab.addr.engrtrWan;
  const peer = site === 'custrtr' ? ov.lab.addr.engrtrWan : ov.lab.addr.custrtrWan;
  const entries = await conntrack(ov, site);
  const map = (e: Entry) => `${e.reply.dst}:${e.reply.dport}`;
  const stunFlow = entries.find(
    (e) => e.orig.src === inside && e.orig.dst === ov.lab.addr.vendor && e.orig.dport === 3478,
  );
  const towardsPeer = entries.filter((e) => e.orig.src === inside && e.orig.dst === peer).map(map);
  const stun = stunFlow ? map(stunFlow) : undefined;
  return {
    stun,
    towardsPeer,
    eim: stun !== undefined && towardsPeer.length > 0 && towardsPeer.every((m) => m === stun),
    spoiled: entries.filter((e) => e.orig.src === peer && e.orig.dst === own && e.reply.src === own).length,
  };
}

/** The path conntrack says the pair must have: direct when both routers mapped endpoint-independently. */
async function derivedPath(t: { diagnostic(s: string): void }, ov: Overlay): Promise<'direct' | 'relay'> {
  const c = await natFacts(ov, 'custrtr');
  const e = await natFacts(ov, 'engrtr');
  t.diagnostic(`conntrack: custrtr ${JSON.stringify(c)}; engrtr ${JSON.stringify(e)}`);
  return c.eim && e.eim ? 'direct' : 'relay';
}

/**
 * A pair's whole story: direct within 2 s of the first stream, the relay forwards nothing during
 * the 32 MiB transfer, the bytes exact; conntrack agrees; a flush of both routers' conntrack
 * mid-transfer keeps the bytes exact. `backDirect`: the path must come back after the flush (with
 * input firewalls on both routers). A flush under bidirectional traffic on a bare router is the
 * spoil itself — whichever side's datagram reaches the other router first is recorded as a flow to
 * the router, and both hosts' flows are remapped — so there the path may stay on the relay while
 * those entries are refreshed; the test then checks that the relay carries the next transfer.
 */
async function directPair(
  t: { diagnostic(s: string): void },
  ov: Overlay,
  o: { backDirect?: boolean; beforeFlush?: () => Promise<void> } = {},
): Promise<void> {
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
  assert.ok(p.pathRttMs !== null && p.pathRttMs < 1000, `path rtt ${p.pathRttMs}`);
  // the path proved it carries the largest datagram size (IP fragments through both NATs)
  for (const end = Date.now() + 5000; (await ov.engPeer())!.pathDatagramSize !== 32768; await sleep(100))
    assert.ok(Date.now() < end, `datagram size ${(await ov.engPeer())!.pathDatagramSize}`);
  // both ends direct before counting: the connector may take a PONG longer
  for (
    const end = Date.now() + 3000;
    (await ov.connStatus()).peers[0].path.kind !== 'direct';
    await sleep(100)
  )
    assert.ok(Date.now() < end, 'the connector goes direct too');
  const r1 = await ov.relayBytes();
  const body = await first;
  const r2 = await ov.relayBytes();
  assert.equal(sha256(body), sha256(ov.big));
  t.diagnostic(`relay forwarded ${r2 - r1} bytes during the rest of a direct ${MIB} MiB transfer`);
  assert.equal(r2 - r1, 0, 'the relay forwards nothing while the path is direct');
  assert.equal(
    await derivedPath(t, ov),
    'direct',
    'conntrack shows endpoint-independent mappings on both routers',
  );
  const spoiledC = (await natFacts(ov, 'custrtr')).spoiled;
  const spoiledE = (await natFacts(ov, 'engrtr')).spoiled;
  assert.equal(spoiledC + spoiledE, 0, 'no PING reached a router before its inside host had sent');
  await o.beforeFlush?.();

  // conntrack flushed on both routers in the middle of a transfer
  const during = ov.fetch({ limitRate: RATE });
  await sleep(1000);
  await ov.lab.flushConntrack('custrtr');
  await ov.lab.flushConntrack('engrtr');
  const tf = Date.now();
  assert.equal(sha256(await during), sha256(ov.big), 'the transfer across the flush is intact');
  if (o.backDirect) {
    // the path recovers: direct again (at once when the new mappings line up, else after the
    // fallback to the relay and the next probe round, 30–60 s)
    // on bare routers a first round may meet the spoiled entries; the next waits out the quiet
    // (35 s of silence, past conntrack's 30 s) so that they have expired: up to ~2 minutes
    const back = await waitPeer(ov, isDirect, 150_000, 'the direct path back after the flush');
    t.diagnostic(
      `after the flush: ${JSON.stringify(back.path)} (${Date.now() - tf} ms); changes:\n${changes(ov).slice(-4).join('\n')}`,
    );
  } else {
    // the trust period decides within 6.5 s: direct still, or back on the relay; either carries
    await sleep(7000);
    const now = (await ov.engPeer())!;
    t.diagnostic(
      `after the flush: ${JSON.stringify(now.path)}; changes:\n${changes(ov).slice(-4).join('\n')}`,
    );
    assert.equal(sha256(await ov.fetch()), sha256(ov.big), 'a transfer after the flush');
  }
}

describe('direct paths through real Linux NAT', () => {
  test(
    '(a) both behind bare masquerade (no input firewall): direct, the relay idle, a conntrack flush survived',
    { timeout: 300_000 },
    async (t) => {
      if (skip(t, ['conntrack'])) return;
      const ov = await overlay(t, { secondStun: true });
      t.diagnostic(`connector endpoints ${JSON.stringify((await ov.connStatus()).udp)}`);
      await directPair(t, ov, {
        beforeFlush: async () => {
          // ping: PONGs over the direct path, every candidate tried (the help's example as written)
          const env = { SALLYPORT_STATE: ov.engState };
          const ping = await ov.lab.cli('engineer', ['ping', 'acme-connector'], { env });
          t.diagnostic(`sallyport ping:\n${ping.stdout}`);
          assert.equal(ping.code, 0);
          assert.match(
            ping.stdout,
            /^pong from acme-connector via \d+\.\d+\.\d+\.\d+:\d+ in \d+\.\d\d ms \(seq 1\)$/m,
          );
          assert.match(ping.stdout, /\(seq 5\)$/m);
          assert.match(ping.stdout, /^path: direct \S+$/m);
          assert.match(ping.stdout, /^why: {2}direct: \S+ answers our PINGs/m);
          assert.match(
            ping.stdout,
            /^ {2}\S+ +\S*netmap\S* +pings \d+ +pongs [1-9]\d* +rtt [\d.]+ ms opened peer-opened$/m,
          );
          const pj = JSON.parse(
            (await ov.lab.cli('engineer', ['ping', 'acme-connector', '--count', '3', '--json'], { env }))
              .stdout,
          ) as { path: { kind: string }; replies: { via: string; rttMs: number | null }[] };
          assert.equal(pj.path.kind, 'direct');
          assert.deepEqual(
            pj.replies.map((r) => r.via),
            ['direct', 'direct', 'direct'],
          );
          assert.ok(pj.replies.every((r) => r.rttMs !== null && r.rttMs < 1000));
          // netcheck: two STUN servers, one mapping, the port kept, no hairpin on Linux masquerade
          const nc = await ov.lab.cli('engineer', ['netcheck'], { env });
          t.diagnostic(`sallyport netcheck:\n${nc.stdout}`);
          assert.equal(nc.code, 0);
          assert.match(nc.stdout, /^mapping\s+the same for every destination \(endpoint-independent\)$/m);
          assert.match(nc.stdout, /^hairpinning\s+no /m);
          const nj = JSON.parse(
            (await ov.lab.cli('engineer', ['netcheck', '--json'], { env })).stdout,
          ) as NetcheckReport;
          assert.equal(nj.udp, true);
          assert.equal(nj.stun.length, 2);
          assert.equal(nj.mappingVariesByDestination, false);
          assert.equal(nj.portPreserved, true);
          assert.equal(nj.hairpinning, false);
          assert.equal(nj.relays[0].home, true);
          assert.ok(nj.relays[0].rttMs !== null);
          // status text and metrics say so too
          const text = await ov.lab.cli('engineer', ['status', '--state', ov.engState]);
          assert.match(text.stdout, /acme-connector\s+\S+\s+direct \d+\.\d+\.\d+\.\d+:\d+/);
          assert.match(
            text.stdout,
            /path since \S+: relay local-1 → direct \S+ \(pong\), path rtt [\d.]+ ms, datagrams 32768 B/,
          );
          const metrics = await ov.lab.cli('engineer', ['status', '--metrics', '--state', ov.engState]);
          assert.match(
            metrics.stdout,
            /sallyport_agent_peer_path\{peer="[^"]+",kind="direct",via="[^"]+"\} 1/,
          );
          assert.match(
            metrics.stdout,
            /sallyport_agent_path_changes_total\{to="direct",reason="pong"\} [1-9]/,
          );
          assert.match(metrics.stdout, /sallyport_agent_peer_path_datagram_bytes\{peer="[^"]+"\} 32768/);
        },
      });
    },
  );

  test(
    '(g) mixed: the customer router bare, the engineer router with an input firewall: direct',
    { timeout: 180_000 },
    async (t) => {
      if (skip(t, ['conntrack'])) return;
      const ov = await overlay(t, { routerInputDrop: { engrtr: true } });
      await directPair(t, ov);
    },
  );

  test(
    '(g2, f) mixed the other way, and both with an input firewall: direct, back after a flush, the relay killed',
    { timeout: 180_000 },
    async (t) => {
      if (skip(t, ['conntrack'])) return;
      {
        const ov = await overlay(t, { routerInputDrop: { custrtr: true } });
        const first = ov.fetch({ limitRate: RATE });
        const p = await waitPeer(ov, isDirect, 10_000, 'direct with the customer router dropping input');
        assert.equal(sha256(await first), sha256(ov.big));
        assert.equal(await derivedPath(t, ov), 'direct');
        t.diagnostic(`customer router drops input: ${JSON.stringify(p.path)}`);
        await ov.lab.cleanup();
      }
      // both with an input firewall (the setting every test used before opens): the whole story,
      // and the path back after a conntrack flush
      const ov = await overlay(t, { routerInputDrop: true });
      await directPair(t, ov, { backDirect: true });

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

  test('(h) both behind bare `masquerade persistent`: direct', { timeout: 180_000 }, async (t) => {
    if (skip(t, ['conntrack'])) return;
    const ov = await overlay(t, { nat: { custrtr: 'persistent', engrtr: 'persistent' } });
    const rules = await ov.lab.exec('custrtr', ['nft', 'list', 'ruleset']);
    assert.match(rules.stdout, /masquerade persistent/, 'the router really runs masquerade persistent');
    await directPair(t, ov);
  });

  test(
    '(i) opens off (--nat-open-ttl 0), bare both: the first PING spoils the connector router, relayed',
    { timeout: 120_000 },
    async (t) => {
      if (skip(t, ['conntrack'])) return;
      const ov = await overlay(t, { agentArgs: ['--nat-open-ttl', '0'] });
      await relayedAndWorks(t, ov);
      const c = await natFacts(ov, 'custrtr');
      const e = await natFacts(ov, 'engrtr');
      // what spoiled it: an entry on a router for a datagram from the peer's router to itself, and
      // the inside host's flow to the peer mapped to another port than STUN saw
      assert.ok(c.spoiled + e.spoiled > 0, `a spoiled entry: ${JSON.stringify({ c, e })}`);
      assert.equal(c.eim && e.eim, false, 'a router no longer maps endpoint-independently');
      assert.equal(await derivedPath(t, ov), 'relay');
    },
  );

  test(
    '(b) engineer behind fully-random, connector behind masquerade: relayed, and it works',
    { timeout: 120_000 },
    async (t) => {
      if (skip(t, ['conntrack'])) return;
      const ov = await overlay(t, { nat: { engrtr: 'fully-random' }, secondStun: true });
      await relayedAndWorks(t, ov);
      assert.equal(await derivedPath(t, ov), 'relay', 'conntrack: the engineer router maps per destination');
      assert.equal((await natFacts(ov, 'engrtr')).eim, false);
      // ping: PONGs through the relay; every candidate PINGed, none answered, and why in words
      const ping = await ov.lab.cli('engineer', [
        'ping',
        'acme-connector',
        '--count',
        '2',
        '--interval',
        '200',
        '--state',
        ov.engState,
      ]);
      t.diagnostic(`sallyport ping:\n${ping.stdout}`);
      assert.equal(ping.code, 0, 'the peer answers, through the relay');
      assert.match(ping.stdout, /^pong from acme-connector via relay local-1 in \d+\.\d\d ms \(seq 1\)$/m);
      assert.match(ping.stdout, /^path: relay local-1$/m);
      assert.match(ping.stdout, /^ {2}\S+ +\S*netmap\S* +pings [1-9]\d* +pongs 0 +opened/m);
      // netcheck: the two STUN servers saw two mappings
      const nc = await ov.lab.cli('engineer', ['netcheck', '--state', ov.engState]);
      t.diagnostic(`sallyport netcheck:\n${nc.stdout}`);
      assert.match(nc.stdout, /^mapping\s+varies by destination \(symmetric NAT\)$/m);
      assert.match(nc.stdout, /^port\s+translated$/m);
      const nj = JSON.parse(
        (await ov.lab.cli('engineer', ['netcheck', '--json', '--state', ov.engState])).stdout,
      ) as NetcheckReport;
      assert.equal(nj.mappingVariesByDestination, true);
      assert.equal(new Set(nj.stun.map((x) => x.mapped)).size, 2);
      // status says why in words, once the round is over
      const st = await ov.lab.cli('engineer', ['status', '--state', ov.engState]);
      assert.match(
        st.stdout,
        /^ {2}why: relayed: (none of \d+ candidates? answered|probing \d+ candidates?)/m,
      );
      const sj = (await ov.engPeer())!;
      assert.match(sj.pathWhy ?? '', /^relayed: /);
    },
  );

  test('(c) both behind fully-random: relayed, and it works', { timeout: 120_000 }, async (t) => {
    if (skip(t, ['conntrack'])) return;
    const ov = await overlay(t, { nat: { custrtr: 'fully-random', engrtr: 'fully-random' } });
    await relayedAndWorks(t, ov);
    assert.equal(await derivedPath(t, ov), 'relay');
  });

  test('(d) UDP dropped by the customer router: relayed, and it works', { timeout: 120_000 }, async (t) => {
    if (skip(t)) return;
    const ov = await overlay(t, { secondStun: true });
    await ov.lab.dropUdp('custrtr');
    await relayedAndWorks(t, ov);
    const ping = await ov.lab.cli('engineer', [
      'ping',
      'acme-connector',
      '--count',
      '2',
      '--interval',
      '200',
      '--state',
      ov.engState,
    ]);
    t.diagnostic(`sallyport ping:\n${ping.stdout}`);
    assert.match(ping.stdout, /^pong from acme-connector via relay local-1 in /m);
    assert.match(ping.stdout, /^path: relay local-1$/m);
    assert.match(ping.stdout, /^ {2}\S+ +\S*netmap\S* +pings [1-9]\d* +pongs 0 /m);
    // the connector's own view: UDP gets no answer at all
    const nc = await ov.lab.cli('customer', ['netcheck', '--timeout', '1500', '--state', ov.connState], {
      allowFailure: true,
    });
    t.diagnostic(`sallyport netcheck (connector):\n${nc.stdout}`);
    assert.equal(nc.code, 1, 'netcheck exits 1 when UDP gets no answer');
    assert.match(nc.stdout, /^udp\s+no answer \(local port \d+, 0 of 2 STUN servers answered\)$/m);
    assert.match(nc.stdout, /^ {2}stun \S+ +no answer within 1500 ms$/m);
    assert.match(nc.stdout, /^verdict\s+UDP gets no answer out of this network/m);
    // unknown peer and bad usage
    const none = await ov.lab.cli('engineer', ['ping', 'nobody', '--state', ov.engState], {
      allowFailure: true,
    });
    assert.equal(none.code, 1);
    assert.match(none.stderr, /no peer 'nobody' in this node's netmap \(peers: acme-connector\)/);
    const bad = await ov.lab.cli(
      'engineer',
      ['ping', 'acme-connector', '--count', '0', '--state', ov.engState],
      { allowFailure: true },
    );
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--count takes 1\.\.1000, got '0'/);
  });
});

/** A transfer through the relay, with probe rounds during and after it that never find a path. */
async function relayedAndWorks(t: { diagnostic(s: string): void }, ov: Overlay): Promise<void> {
  const body = await ov.fetch();
  assert.equal(sha256(body), sha256(ov.big));
  // one probe round is an open and 3 PINGs a second apart from the handshake on: wait it out
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
