// The whole paths stack on the vnet's RFC 4787 NATs: per node one UDP socket (UdpMux over a vnet
// socket), the STUN client against a reflector on the internet, discovery, a real WireGuard session
// and stream connection, and PeerPaths. The relay is modelled in memory (20 ms each way, always
// works), as the relay server is TCP and not part of the UDP story.
//
// The grid: every pair of {no NAT, EIM+EIF, EIM+ADF, EIM+APDF, EDM (symmetric: APDM+APDF, random
// ports)}. The expectation is derived from RFC 4787, not recorded from a run. Write X:x for an inside
// endpoint, M for its mapping as STUN saw it. Each side PINGs the other's candidates (M and the
// private address) from its one socket, and answers every PING with a PONG and a PING to its source.
// - Both sides EIM (or no NAT), any filtering: the mapping towards the peer IS the one STUN saw
//   (§4.1 endpoint-independent), so each side PINGs the other's real mapping. Once both have sent,
//   each filter (§5: EIF, ADF or APDF) admits the other's exact endpoint: direct. The first PING of
//   the side that PINGs first may be dropped (the other has not sent yet); the other's PING, sent on
//   our CALL_ME_MAYBE, passes and is PINGed back at once.
// - EDM against EDM: the mapping towards the peer is new (§4.1 address-and-port-dependent, random
//   port), never the one STUN saw, and APDF admits only endpoints each side sent to; neither side
//   ever sends to the other's real mapping: relayed.
// - EDM (B) against an EIM side (A): B's PINGs to M_A come from a fresh M_B' (same address, new
//   port). A's filter decides: EIF admits anything; ADF admits M_B' once A has sent to B's address
//   (A PINGs M_B, the same address), so B's next PING passes; APDF admits only M_B, never M_B'.
//   When one passes, A PONGs and PINGs M_B', which B's NAT admits (B sent to M_A from M_B'):
//   direct for EIF, ADF and no NAT; relayed for APDF.
// Time to direct is bounded by: three relay crossings for the session (initiation, response, first
// data), one for CALL_ME_MAYBE, one probe interval (a first PING dropped by a filter that opens
// later, as with ADF against EDM), and two direct round trips (PING–PONG, triggered PING–PONG).
import { describe, test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { NetworkInterfaceInfo } from 'node:os';
import { FakeClock } from '../clock/index.ts';
import { PrivateKey } from '../crypto/index.ts';
import { SessionHost, type PeerSession } from '../session/index.ts';
import { Connection, type Stream } from '../stream/index.ts';
import {
  NAT_PRESETS,
  VNet,
  stunReflector,
  withSeed,
  type Nat,
  type NatBehavior,
  type VSocket,
} from '../testing/vnet/index.ts';
import { Discovery } from './discovery.ts';
import { decodePathPayload, encodePathPayload, T_PATH } from '../proto/link/index.ts';
import { relayEndpoint, type RelayEndpoint } from '../session/index.ts';
import { toDirectEndpoint } from './endpoint.ts';
import { PeerPaths } from './peer-paths.ts';
import { StunClient } from './stun-client.ts';
import { DEFAULT_PATH_TIMINGS } from './timers.ts';
import { UdpMux, type DatagramSocket } from './udp-mux.ts';

const RELAY_MS = 20;

function vsocket(s: VSocket): DatagramSocket {
  return {
    type: 'udp4',
    port: s.local.port,
    send: (d, address, port, done) => {
      s.send(d, { address, port });
      done();
    },
    onMessage: (cb) => s.onReceive((d, from) => cb(d, from.address, from.port)),
    close: () => s.close(),
  };
}

interface Node {
  key: PrivateKey;
  host: SessionHost;
  peer: PeerSession;
  conn: Connection;
  paths: PeerPaths;
  mux: UdpMux;
  stun: StunClient;
  discovery: Discovery;
  accepted: Stream[];
}

type Side = NatBehavior | 'public';

function world(seed: number, sideA: Side, sideB: Side) {
  const clock = new FakeClock();
  const net = new VNet({ clock, seed });
  const stunHost = net.host('stun', { address: '192.0.2.53', link: { delayMs: 5 } });
  const reflector = stunReflector(stunHost);
  const stunServer = `${reflector.endpoint.address}:${reflector.endpoint.port}`;
  const nodes: Node[] = [];
  const nats = new Map<string, Nat>();
  const relayEps = new Map<Node, RelayEndpoint>();
  const relayEp = (of: Node): RelayEndpoint => {
    let e = relayEps.get(of);
    if (!e) relayEps.set(of, (e = relayEndpoint('test', of.key.publicKey)));
    return e;
  };
  const other = (n: Node) => nodes.find((x) => x !== n)!;

  function mk(name: string, side: Side, publicAddr: string, isClient: boolean): Node {
    let address = publicAddr;
    let network;
    if (side !== 'public') {
      const nat = net.nat(`nat-${name}`, { address: publicAddr, ...side });
      nats.set(name, nat);
      network = nat.insideSegment;
      address = '192.168.0.10';
    }
    const vh = net.host(name, { address, link: { delayMs: 5 }, ...(network ? { network } : {}) });
    const n = { key: PrivateKey.generate(), accepted: [] as Stream[] } as Node;
    n.host = new SessionHost({
      clock,
      privateKey: n.key,
      jitterMs: () => 0,
      send: (d, to) => {
        if (to.kind === 'direct') return void n.mux.send(d, to);
        const copy = new Uint8Array(d);
        clock.setTimeout(() => other(n).host.receive(copy, relayEp(n)), RELAY_MS);
      },
      onPayload: (_p, payload, from) => {
        if (payload[0] === T_PATH) for (const f of decodePathPayload(payload)) n.paths.onPathFrame(f, from);
        else n.conn.receiveDatagram(payload.subarray(1));
      },
      onEvent: (ev) => {
        if (ev.type === 'source-changed') n.paths?.onSourceChanged(ev.to);
        if (ev.type === 'handshake-complete') n.paths.start();
      },
    });
    n.mux = new UdpMux({
      socket: vsocket(vh.bind(41641)),
      onWireGuard: (d, from) => n.host.receive(d, from),
      onStun: (d, from) => n.stun.receive(d, from),
    });
    n.stun = new StunClient({
      clock,
      servers: [stunServer],
      send: (d, to) => n.mux.send(d, toDirectEndpoint(to)!),
      onChange: (m) => n.discovery.setStunResults(m),
    });
    const nic: NetworkInterfaceInfo = {
      address,
      netmask: '255.255.255.0',
      family: 'IPv4',
      mac: '',
      internal: false,
      cidr: null,
    };
    n.discovery = new Discovery({
      clock,
      port: n.mux.port,
      interfaces: () => ({ eth0: [nic] }),
      onChange: (c) => n.paths?.setLocalCandidates(c),
      onNetworkChange: () => n.stun.refresh(),
    });
    n.conn = new Connection({
      clock,
      isClient,
      maxDatagramSize: 1200,
      sendDatagram: (d) => {
        const p = new Uint8Array(d.length + 1);
        p.set(d, 1);
        n.peer.send(p);
      },
      onIncomingStream: (req) => void n.accepted.push(req.accept()),
    });
    nodes.push(n);
    return n;
  }

  const a = mk('a', sideA, '203.0.113.1', true);
  const b = mk('b', sideB, '198.51.100.1', false);
  for (const n of [a, b]) {
    const o = other(n);
    n.peer = n.host.addPeer(o.key.publicKey, { endpoint: relayEp(o), roam: false });
    n.paths = new PeerPaths({
      clock,
      peer: n.peer,
      relayEndpoint: () => relayEp(o),
      connection: () => n.conn,
      // a lost direct path may mean our mapping changed: ask STUN at once, not in up to 25 s
      onChange: (c) => c.reason === 'trust-expired' && n.stun.refresh(),
      sendFrame: (f, to) => n.peer.send(encodePathPayload(f), to),
    });
    n.discovery.start();
    n.stun.start();
  }
  const stop = () => {
    for (const n of nodes) {
      n.paths.stop();
      n.conn.close();
      n.host.stop();
      n.stun.stop();
      n.discovery.stop();
      n.mux.stop();
    }
  };
  return { clock, net, a, b, stop, nats };
}

async function echoCheck(w: ReturnType<typeof world>): Promise<void> {
  const data = Buffer.alloc(300_000, 7);
  const s = w.a.conn.openStream('bulk');
  s.on('error', () => {}); // stop() closes the connection under it
  s.end(data);
  const h = createHash('sha256');
  let done = false;
  const attach = () => {
    const rx = w.b.accepted[0];
    if (!rx) return void setImmediate(attach);
    rx.on('error', () => {});
    rx.on('data', (c: Buffer) => h.update(c));
    rx.on('end', () => (done = true));
  };
  attach();
  await w.net.runUntil(() => done, 60_000);
  assert.equal(h.digest('hex'), createHash('sha256').update(data).digest('hex'));
}

type Kind = 'none' | 'EIM+EIF' | 'EIM+ADF' | 'EIM+APDF' | 'EDM';
const SIDES: Record<Kind, Side> = {
  none: 'public',
  'EIM+EIF': NAT_PRESETS['full-cone'],
  'EIM+ADF': NAT_PRESETS['restricted-cone'],
  'EIM+APDF': NAT_PRESETS['port-restricted-cone'],
  EDM: NAT_PRESETS.symmetric,
};
/** The argument above, as a rule: relayed only when an EDM side meets EDM or an APDF filter. */
const expectDirect = (a: Kind, b: Kind): boolean =>
  !((a === 'EDM' && (b === 'EDM' || b === 'EIM+APDF')) || (b === 'EDM' && a === 'EIM+APDF'));
const KINDS = Object.keys(SIDES) as Kind[];
const cases = KINDS.flatMap((a, i) =>
  KINDS.slice(i).map((b) => ({ name: `${a} × ${b}`, a: SIDES[a], b: SIDES[b], direct: expectDirect(a, b) })),
);
/** Direct host–host round trip: 5 ms per host link each way. */
const DIRECT_RTT = 20;

describe('paths over vnet NATs (RFC 4787)', () => {
  for (const c of cases)
    test(`${c.name}: ${c.direct ? 'direct' : 'relayed'}`, (t: TestContext) =>
      withSeed(t, async (seed) => {
        const w = world(seed, c.a, c.b);
        try {
          w.a.peer.initiateHandshake();
          const both = () =>
            w.a.paths.status().path.kind === 'direct' && w.b.paths.status().path.kind === 'direct';
          if (c.direct) {
            await w.net.runUntil(both, 5000);
            const took = w.clock.now();
            t.diagnostic(`direct after ${took} ms (virtual)`);
            const bound = 4 * RELAY_MS + DEFAULT_PATH_TIMINGS.probeIntervalMs + 2 * DIRECT_RTT;
            assert.ok(took <= bound, `direct after ${took} ms, bound ${bound}`);
            const sa = w.a.paths.status();
            assert.equal(sa.path.kind === 'direct' && sa.path.endpoint, w.a.peer.endpoint?.name);
          } else {
            await w.net.runUntil(() => w.clock.now() >= 90_000, 100_000);
            for (const n of [w.a, w.b]) {
              const st = n.paths.status();
              assert.equal(st.path.kind, 'relay', w.net.topology.summary());
              assert.ok(st.counters.rounds >= 2, 're-probed while relayed');
              assert.equal(n.peer.endpoint?.kind, 'relay');
            }
          }
          await echoCheck(w);
          if (c.direct) assert.ok(both(), 'still direct after the transfer');
        } finally {
          w.stop();
        }
      }));
});

async function bulk(w: ReturnType<typeof world>, bytes: number) {
  const chunk = Buffer.alloc(64 << 10);
  const want = createHash('sha256');
  const got = createHash('sha256');
  const r = { received: 0, ended: false, sha: '', errors: [] as Error[] };
  const s = w.a.conn.openStream('bulk');
  s.on('error', (e) => r.errors.push(e));
  let sent = 0;
  const pump = (): void => {
    while (sent < bytes) {
      chunk.writeUInt32BE(sent >>> 16, 0);
      want.update(chunk);
      sent += chunk.length;
      if (!s.write(Buffer.from(chunk))) return void s.once('drain', pump);
    }
    s.end();
  };
  pump();
  const attach = (): void => {
    const rx = w.b.accepted.at(-1);
    if (!rx) return void setImmediate(attach);
    rx.on('error', (e) => r.errors.push(e));
    rx.on('data', (c: Buffer) => {
      r.received += c.length;
      got.update(c);
    });
    rx.on('end', () => {
      r.ended = true;
      r.sha = got.digest('hex');
    });
  };
  attach();
  return { r, want: () => want.digest('hex') };
}

describe('paths over vnet NATs: the mapping changes mid-transfer', () => {
  // EIM+APDF both sides (Linux masquerade). rebind(): a's NAT drops its mappings and gives the flow
  // a new external port. b's APDF filter drops a's datagrams from the new port (b never sent there)
  // and b's datagrams to the old port find no mapping, so the direct path is dead both ways: trust
  // runs out (6.5 s) and both fall back to the relay, streams untouched. The fallback asks STUN
  // again at once (the driver's onChange), which shows a its new mapping; discovery announces it in
  // CALL_ME_MAYBE, and the probing of the two sides crosses as at the start: direct again. flush() (conntrack -F) with port preservation
  // gives the same external port back on a's next datagram, so the path survives on its own.
  for (const how of ['rebind', 'flush'] as const)
    test(`${how} of one NAT during a transfer: same SHA-256, the path recovers`, (t: TestContext) =>
      withSeed(t, async (seed) => {
        const w = world(seed, NAT_PRESETS.masquerade, NAT_PRESETS.masquerade);
        const both = () =>
          w.a.paths.status().path.kind === 'direct' && w.b.paths.status().path.kind === 'direct';
        try {
          w.a.peer.initiateHandshake();
          await w.net.runUntil(both, 5000);
          const bytes = 16 << 20;
          const x = await bulk(w, bytes);
          await w.net.runUntil(() => x.r.received >= 2 << 20, 60_000);
          assert.ok(x.r.received < bytes, 'mid-transfer');
          const before = w.b.peer.endpoint?.name;
          const at = w.clock.now();
          if (how === 'rebind') w.nats.get('a')!.rebind();
          else w.nats.get('a')!.flush();
          await w.net.runUntil(() => x.r.ended, 300_000);
          assert.equal(x.r.sha, x.want());
          assert.deepEqual(x.r.errors, []);
          await w.net.runUntil(both, 60_000);
          const back = w.clock.now() - at;
          t.diagnostic(`${how}: direct ${back} ms after the change; b sends to ${w.b.peer.endpoint?.name}`);
          if (how === 'rebind') {
            assert.notEqual(w.b.peer.endpoint?.name, before, 'b follows a to its new mapping');
            const bound =
              DEFAULT_PATH_TIMINGS.trustMs +
              DEFAULT_PATH_TIMINGS.probeIntervalMs +
              4 * RELAY_MS +
              2 * DIRECT_RTT;
            assert.ok(back <= bound, `recovered after ${back} ms (bound ${bound})`);
          } else {
            assert.equal(w.b.peer.endpoint?.name, before, 'port preserved: the same endpoint');
            for (const n of [w.a, w.b])
              assert.equal(n.paths.status().switches, 1, 'never left the direct path');
          }
        } finally {
          w.stop();
        }
      }));
});
