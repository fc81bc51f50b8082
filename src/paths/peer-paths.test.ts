// The driver with real sessions and streams: two SessionHosts on a FakeClock, a relay that always
// works (20 ms one way) and a direct UDP network (2 ms) whose behaviour the test changes mid-transfer
// (UDP dropped, a NAT rebinding, a blackout). Every transfer is checked by SHA-256.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { FakeClock } from '../clock/index.ts';
import { PrivateKey } from '../crypto/index.ts';
import { decodePathPayload, encodePathPayload, T_PATH } from '../proto/link/index.ts';
import {
  SessionHost,
  relayEndpoint,
  type Endpoint,
  type PeerSession,
  type RelayEndpoint,
} from '../session/index.ts';
import { Connection, type Stream } from '../stream/index.ts';
import { toDirectEndpoint } from './endpoint.ts';
import { PeerPaths, type PeerPathChange } from './peer-paths.ts';
import { DEFAULT_PATH_TIMINGS as T } from './timers.ts';

const RELAY_MS = 20;
const DIRECT_MS = 2;

interface Node {
  name: string;
  key: PrivateKey;
  /** The address the other side sees our direct datagrams come from. */
  publicEp: string;
  /** Direct datagrams to these addresses reach us. */
  reachableAt: Set<string>;
  udp: boolean;
  host: SessionHost;
  peer: PeerSession;
  conn: Connection;
  paths: PeerPaths;
  changes: PeerPathChange[];
  accepted: Stream[];
}

function world() {
  const clock = new FakeClock();
  const nodes: Node[] = [];
  const stats = { relayed: 0, direct: 0 };
  const relayEps = new Map<Node, RelayEndpoint>();
  const relayEp = (of: Node): RelayEndpoint => {
    let e = relayEps.get(of);
    if (!e) relayEps.set(of, (e = relayEndpoint('test', of.key.publicKey)));
    return e;
  };
  const other = (n: Node) => nodes.find((x) => x !== n)!;

  function mk(name: string, publicEp: string, isClient: boolean): Node {
    const n = {
      name,
      key: PrivateKey.generate(),
      publicEp,
      reachableAt: new Set([publicEp]),
      udp: true,
    } as Node;
    n.changes = [];
    n.accepted = [];
    n.host = new SessionHost({
      clock,
      privateKey: n.key,
      jitterMs: () => 0,
      send: (d, to) => {
        const copy = new Uint8Array(d);
        const dst = other(n);
        if (to.kind === 'relay') {
          stats.relayed++;
          clock.setTimeout(() => dst.host.receive(copy, relayEp(n)), RELAY_MS);
          return;
        }
        // fixed when sent: a rebinding later does not rewrite packets in flight
        const from = toDirectEndpoint(n.publicEp)!;
        if (!n.udp || !dst.udp || !dst.reachableAt.has(to.name)) return;
        stats.direct++;
        clock.setTimeout(() => {
          if (dst.udp && dst.reachableAt.has(to.name)) dst.host.receive(copy, from);
        }, DIRECT_MS);
      },
      onPayload: (_peer, payload, from) => {
        if (payload[0] === T_PATH) for (const f of decodePathPayload(payload)) n.paths.onPathFrame(f, from);
        else n.conn.receiveDatagram(payload.subarray(1));
      },
      onEvent: (ev) => {
        if (ev.type === 'source-changed') n.paths?.onSourceChanged(ev.to);
        // probing starts once the session is up: path frames before it would start a second,
        // crossing handshake from the other side
        if (ev.type === 'handshake-complete') n.paths.start();
      },
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

  const a = mk('a', '198.51.100.1:41641', true);
  const b = mk('b', '203.0.113.2:41641', false);
  for (const n of [a, b]) {
    const o = other(n);
    n.peer = n.host.addPeer(o.key.publicKey, { endpoint: relayEp(o), roam: false });
    n.paths = new PeerPaths({
      clock,
      peer: n.peer,
      relayEndpoint: () => relayEp(o),
      connection: () => n.conn,
      relayDatagramSize: 1200,
      localCandidates: [n.publicEp],
      remoteCandidates: [],
      sendFrame: (f, to) => n.peer.send(encodePathPayload(f), to),
      onChange: (c) => n.changes.push(c),
    });
  }

  async function runUntil(done: () => boolean, limitMs: number): Promise<void> {
    const end = clock.now() + limitMs;
    while (!done()) {
      if (clock.now() >= end) throw new Error(`not done after ${limitMs} ms`);
      const next = clock.nextAt();
      clock.advance(next === undefined ? 1 : Math.min(Math.max(0, next - clock.now()), end - clock.now()));
      await new Promise((r) => setImmediate(r));
    }
  }
  const runFor = (ms: number) => {
    const end = clock.now() + ms;
    return runUntil(() => clock.now() >= end, ms + 1);
  };
  function stop(): void {
    for (const n of nodes) {
      n.paths.stop();
      n.conn.close();
      n.host.stop();
    }
  }
  return { clock, a, b, stats, runUntil, runFor, stop, relayEp };
}

function payload(n: number): { chunks: Buffer[]; sha: string } {
  const h = createHash('sha256');
  const chunks: Buffer[] = [];
  for (let i = 0; i * 50_000 < n; i++) {
    const b = Buffer.alloc(Math.min(50_000, n - i * 50_000), i & 0xff);
    b.writeUInt32BE(i, 0);
    h.update(b);
    chunks.push(b);
  }
  return { chunks, sha: h.digest('hex') };
}

function transfer(from: Connection, to: { accepted: Stream[] }, bytes: number) {
  const p = payload(bytes);
  const s: Duplex = from.openStream('bulk');
  let i = 0;
  const pump = (): void => {
    while (i < p.chunks.length) if (!s.write(p.chunks[i++])) return void s.once('drain', pump);
    s.end();
  };
  pump();
  const h = createHash('sha256');
  const r = { bytes: 0, ended: false, sha: '', errors: [] as Error[] };
  const attach = (): void => {
    const rx = to.accepted[0];
    if (!rx) return void setImmediate(attach);
    rx.on('data', (b: Buffer) => {
      r.bytes += b.length;
      h.update(b);
    });
    rx.on('end', () => {
      r.ended = true;
      r.sha = h.digest('hex');
    });
    rx.on('error', (e) => r.errors.push(e));
  };
  attach();
  s.on('error', (e) => r.errors.push(e));
  return { r, want: p.sha };
}

describe('peer paths: the driver with sessions and streams', () => {
  test('both ends go direct over the relay-carried CALL_ME_MAYBE, and traffic leaves the relay', async () => {
    const w = world();
    w.a.peer.initiateHandshake();
    await w.runUntil(
      () => w.a.paths.status().path.kind === 'direct' && w.b.paths.status().path.kind === 'direct',
      2000,
    );
    const tDirect = w.clock.now();
    assert.ok(tDirect < 500, `direct after ${tDirect} ms`);
    assert.equal(w.a.peer.endpoint?.name, w.b.publicEp);
    assert.equal(w.b.peer.endpoint?.name, w.a.publicEp);
    const st = w.a.paths.status();
    assert.equal(st.state, 'direct');
    assert.equal(st.rttMs, 2 * DIRECT_MS);
    assert.equal(st.lastChange?.reason, 'pong');
    assert.deepEqual(st.lastChange?.from, { kind: 'relay', region: 'test', endpoint: w.relayEp(w.b).name });
    assert.equal(st.lastChange?.atWallMs, w.clock.wallMs() - (w.clock.now() - st.lastChange!.atMs));
    const relayedBefore = w.stats.relayed;
    const t = transfer(w.a.conn, w.b, 1 << 20);
    await w.runUntil(() => t.r.ended, 60_000);
    assert.equal(t.r.sha, t.want);
    assert.ok(
      w.stats.relayed - relayedBefore <= 2,
      `relay carried ${w.stats.relayed - relayedBefore} datagrams`,
    );
    // heartbeats keep it: a minute later, still direct, one switch each
    await w.runFor(60_000);
    assert.equal(w.a.paths.status().switches, 1);
    assert.equal(w.b.paths.status().switches, 1);
    w.stop();
  });

  test('UDP dropped: both stay on the relay, re-probe on the cadence, and the stream works', async () => {
    const w = world();
    w.a.udp = false;
    w.a.peer.initiateHandshake();
    const t = transfer(w.a.conn, w.b, 256 << 10);
    await w.runUntil(() => t.r.ended, 60_000);
    assert.equal(t.r.sha, t.want);
    await w.runFor(120_000);
    for (const n of [w.a, w.b]) {
      const st = n.paths.status();
      assert.equal(st.path.kind, 'relay');
      assert.equal(st.switches, 0);
      assert.ok(st.counters.rounds >= 3, `${st.counters.rounds} rounds in 120 s`);
      assert.equal(n.peer.endpoint, w.relayEp(n === w.a ? w.b : w.a));
    }
    w.stop();
  });

  test('direct path blackholed mid-transfer: trust expires, traffic falls back to the relay, the stream completes', async () => {
    const w = world();
    w.a.peer.initiateHandshake();
    await w.runUntil(
      () => w.a.paths.status().path.kind === 'direct' && w.b.paths.status().path.kind === 'direct',
      2000,
    );
    const t = transfer(w.a.conn, w.b, 8 << 20);
    await w.runUntil(() => t.r.bytes >= 1 << 20, 10_000);
    const cut = w.clock.now();
    assert.ok(t.r.bytes < 4 << 20, 'mid-transfer');
    w.a.udp = false;
    await w.runUntil(() => t.r.ended, 120_000);
    assert.equal(t.r.sha, t.want);
    assert.deepEqual(t.r.errors, []);
    for (const n of [w.a, w.b]) {
      const c = n.changes.at(-1)!;
      assert.equal(c.reason, 'trust-expired');
      assert.equal(c.to.kind, 'relay');
      assert.ok(c.atMs - cut <= T.trustMs, `fell back ${c.atMs - cut} ms after the cut`);
    }
    w.stop();
  });

  test('NAT rebinding of one side mid-transfer: the other side follows the new source, streams unbroken', async () => {
    const w = world();
    w.a.peer.initiateHandshake();
    await w.runUntil(
      () => w.a.paths.status().path.kind === 'direct' && w.b.paths.status().path.kind === 'direct',
      2000,
    );
    const t = transfer(w.a.conn, w.b, 8 << 20);
    await w.runUntil(() => t.r.bytes >= 1 << 20, 10_000);
    assert.ok(t.r.bytes < 4 << 20, 'mid-transfer');
    // a's NAT drops its mapping and gives it a new port: the old one no longer reaches a
    const moved = '198.51.100.1:50000';
    w.a.publicEp = moved;
    w.a.reachableAt = new Set([moved]);
    await w.runUntil(() => t.r.ended, 120_000);
    assert.equal(t.r.sha, t.want);
    assert.deepEqual(t.r.errors, []);
    await w.runUntil(() => w.b.peer.endpoint?.name === moved, 10_000);
    const sb = w.b.paths.status();
    assert.deepEqual(sb.path, { kind: 'direct', endpoint: moved, rttMs: 2 * DIRECT_MS });
    assert.ok(
      w.b.changes.some((c) => c.reason === 'stale' && c.to.kind === 'direct'),
      `b's changes: ${w.b.changes.map((c) => c.reason).join(', ')}`,
    );
    // a learnt its new address from b's PONGs
    assert.equal(w.a.paths.status().observedSelf, moved);
    w.stop();
  });
});

describe('peer paths: the driver alone', () => {
  const RELAY = relayEndpoint('eu', PrivateKey.generate().publicKey);
  function lone(withRelay = true) {
    const relay = withRelay ? RELAY : undefined;
    const clock = new FakeClock();
    const peer = { endpoint: relay as Endpoint | undefined };
    const frames: { f: string; to: string; ttl?: number }[] = [];
    const mds: number[] = [];
    const p = new PeerPaths({
      clock,
      peer,
      relayEndpoint: () => relay,
      connection: () => ({ pathChanged: (n?: number) => void mds.push(n!) }),
      relayDatagramSize: 8000,
      localCandidates: ['10.0.0.1:41641'],
      remoteCandidates: ['198.51.100.9:41641'],
      sendFrame: (f, to, ttl) =>
        void frames.push({ f: f.type, to: to.name, ...(ttl !== undefined ? { ttl } : {}) }),
      random: () => 0,
    });
    return { clock, peer, frames, mds, p };
  }

  test('an open (a PING with TTL 2) to each candidate, then CALL_ME_MAYBE to the relay; a PONG switches endpoint and datagram size', () => {
    const { clock, peer, frames, mds, p } = lone();
    p.start();
    assert.deepEqual(frames, [
      { f: 'path_ping', to: '198.51.100.9:41641', ttl: 2 },
      { f: 'call_me_maybe', to: RELAY.name },
    ]);
    // the round's next attempt PINGs at full TTL
    clock.advance(1000);
    assert.deepEqual(frames.at(-1), { f: 'path_ping', to: '198.51.100.9:41641' });
    p.stop();
    // a second driver whose PING txid the test captures, to answer it
    const ping = { type: 'path_pong' as const, observed: { address: '203.0.113.3', port: 4000 } };
    let captured: Uint8Array | undefined;
    const q = new PeerPaths({
      clock,
      peer,
      relayEndpoint: () => RELAY,
      connection: () => ({ pathChanged: (n?: number) => void mds.push(n!) }),
      relayDatagramSize: 8000,
      remoteCandidates: ['198.51.100.9:41641'],
      sendFrame: (f) => {
        if (f.type === 'path_ping') captured = f.txid;
      },
    });
    q.start();
    clock.advance(7);
    q.onPathFrame({ ...ping, txid: captured! }, toDirectEndpoint('198.51.100.9:41641')!);
    assert.equal(peer.endpoint?.name, '198.51.100.9:41641');
    assert.deepEqual(mds, [1200]);
    const st = q.status();
    assert.deepEqual(st.path, { kind: 'direct', endpoint: '198.51.100.9:41641', rttMs: 7 });
    assert.equal(st.rttMs, 7);
    assert.equal(st.observedSelf, '203.0.113.3:4000');
    assert.equal(st.lastChange?.reason, 'pong');
    assert.deepEqual(st.lastChange?.from, { kind: 'relay', region: 'eu', endpoint: RELAY.name });
    // the peer's datagrams come through the relay now (a CALL_ME_MAYBE came that way): a source
    // that is no path, and the endpoint stays where path choice put it
    q.onSourceChanged(RELAY);
    clock.advance(1);
    assert.equal(peer.endpoint?.name, '198.51.100.9:41641');
    // trust runs out: back to the relay, with the relay's datagram size
    clock.advance(q.choice.timings.trustMs);
    assert.equal(peer.endpoint, RELAY);
    assert.deepEqual(mds, [1200, 8000]);
    assert.equal(q.status().path.kind, 'relay');
    q.stop();
    assert.equal(clock.pending(), 0, 'stop leaves no timer');
  });

  test('without a relay, CALL_ME_MAYBE is counted, not sent', () => {
    const { frames, p } = lone(false);
    p.start();
    assert.ok(!frames.some((f) => f.f === 'call_me_maybe'));
    assert.equal(p.status().counters['call-me-maybe-no-relay'], 1);
    p.stop();
  });

  test('a sendFrame that throws is counted', () => {
    const clock = new FakeClock();
    const p = new PeerPaths({
      clock,
      peer: { endpoint: undefined },
      relayEndpoint: () => RELAY,
      localCandidates: ['10.0.0.1:1'],
      remoteCandidates: ['198.51.100.1:1'],
      sendFrame: () => {
        throw new Error('boom');
      },
    });
    p.start();
    assert.equal(p.status().counters['frames-unsendable'], 2);
    p.stop();
  });
});
