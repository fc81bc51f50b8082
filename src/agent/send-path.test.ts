// The data plane end to end inside one process (peers.ts, peer.ts): two nodes' Peers with real UDP
// sockets on loopback and an in-memory relay, a WireGuard session between them, a direct path
// chosen by PINGs, and a stream carrying 2 MiB each way. The evidence for the typed endpoints:
// once the path is chosen, no endpoint text is parsed on the way out or in (endpointParses() stays
// put while the bytes flow), on the direct path and on the relay path alike.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { realClock } from '../clock/index.ts';
import { PrivateKey, type PublicKey } from '../crypto/index.ts';
import { endpointParses } from '../paths/index.ts';
import type { NetmapPeer } from '../proto/control/index.ts';
import type { Stream } from '../stream/index.ts';
import { DirectUdp } from './direct.ts';
import { AgentMetrics } from './metrics.ts';
import type { RelayPaths } from './paths.ts';
import { Peers } from './peers.ts';

const REGION = 'test';

interface Node {
  key: PrivateKey;
  peers: Peers;
  direct: DirectUdp | undefined;
  accepted: Stream[];
}

/** A relay that always works: a datagram to `dst` reaches that node's Peers on the next turn. */
function relayFor(self: () => Node, nodes: Node[]): RelayPaths {
  const path = {
    kind: 'relay' as const,
    name: `relay:${REGION}`,
    region: REGION,
    maxPayload: () => 16_000,
    ready: () => true,
    send(dst: PublicKey, m: Uint8Array): boolean {
      const to = nodes.find((n) => n.key.publicKey.equals(dst));
      const copy = new Uint8Array(m);
      setImmediate(() => to?.peers.fromRelay(REGION, self().key.publicKey, copy));
      return true;
    },
  };
  return {
    get: (r: string) => (r === REGION ? path : undefined),
    connected: () => true,
  } as unknown as RelayPaths;
}

async function world(udp: boolean): Promise<{ a: Node; b: Node; stop(): void }> {
  const nodes: Node[] = [];
  const mk = async (): Promise<Node> => {
    const n = { key: PrivateKey.generate(), accepted: [] as Stream[] } as Node;
    n.peers = new Peers({
      clock: realClock,
      log: pino({ level: 'silent' }),
      nodeKey: n.key,
      metrics: new AgentMetrics(),
      relays: relayFor(() => n, nodes),
      homeRegion: () => REGION,
      onIncomingStream: (req) => {
        const s = req.accept();
        s.on('error', () => {}); // cut when the test stops its nodes
        n.accepted.push(s);
        s.pipe(s); // echo
      },
    });
    if (udp) {
      n.direct = await DirectUdp.open({
        clock: realClock,
        host: '127.0.0.1',
        includeLoopback: true,
        sendFirst: false,
        onWireGuard: (d, from) => n.peers.host.receive(d, from),
        onCandidates: () => {},
      });
      n.peers.direct = n.direct;
    }
    nodes.push(n);
    return n;
  };
  const a = await mk();
  const b = await mk();
  const entry = (n: Node): NetmapPeer => ({
    key: n.key.publicKey.base64(),
    name: n === a ? 'a' : 'b',
    kind: 'engineer',
    homeRelay: REGION,
    endpoints: n.direct ? [`127.0.0.1:${n.direct.port}`] : [],
  });
  a.peers.apply([entry(b)]);
  b.peers.apply([entry(a)]);
  return {
    a,
    b,
    stop() {
      for (const n of nodes) {
        n.peers.stop();
        n.direct?.stop();
      }
    },
  };
}

async function until(what: string, ok: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Echoes `bytes` through a new stream from a to b; resolves with the digest of what came back. */
async function echo(a: Node, b: Node, bytes: number): Promise<{ sent: string; got: string }> {
  const s = a.peers.get(b.key.publicKey.base64())!.link.openStream('echo');
  const data = randomBytes(bytes);
  const got = createHash('sha256');
  let n = 0;
  const done = new Promise<void>((resolve, reject) => {
    s.on('data', (c: Buffer) => {
      got.update(c);
      n += c.length;
      if (n >= bytes) resolve();
    });
    s.on('error', reject);
  });
  s.write(data);
  await done;
  s.destroy();
  return { sent: createHash('sha256').update(data).digest('hex'), got: got.digest('hex') };
}

test('direct path: once chosen, the data moves without parsing endpoint text', async () => {
  const w = await world(true);
  try {
    const pa = w.a.peers.get(w.b.key.publicKey.base64())!;
    pa.session.initiateHandshake();
    await until('a direct path both ways', () => {
      const pb = w.b.peers.get(w.a.key.publicKey.base64())!;
      return pa.paths?.status().path.kind === 'direct' && pb.paths?.status().path.kind === 'direct';
    });
    assert.equal(pa.session.endpoint?.kind, 'direct');
    const before = endpointParses();
    const r = await echo(w.a, w.b, 2 << 20);
    assert.equal(r.got, r.sent, 'the bytes came back intact');
    assert.equal(pa.session.endpoint?.kind, 'direct', 'still direct');
    assert.equal(endpointParses() - before, 0, 'no endpoint text parsed while the data flowed');
    assert.ok(w.a.direct!.stats().sent.datagrams > 100, 'the bytes went over UDP');
  } finally {
    w.stop();
  }
});

test('relay path: the same, through the relay', async () => {
  const w = await world(false);
  try {
    const pa = w.a.peers.get(w.b.key.publicKey.base64())!;
    assert.deepEqual(pa.session.endpoint, pa.relayEndpoint(REGION));
    const before = endpointParses();
    const r = await echo(w.a, w.b, 2 << 20);
    assert.equal(r.got, r.sent);
    assert.equal(pa.session.endpoint?.kind, 'relay');
    assert.equal(endpointParses() - before, 0, 'no endpoint text parsed while the data flowed');
  } finally {
    w.stop();
  }
});

test('a datagram from a key outside the netmap never reaches the session layer (I3)', async () => {
  const w = await world(false);
  try {
    const stranger = PrivateKey.generate().publicKey;
    w.a.peers.fromRelay(REGION, stranger, new Uint8Array([1, 0, 0, 0, ...new Uint8Array(144)]));
    assert.equal(w.a.peers.refused['handshake-not-in-netmap'], 1);
    assert.deepEqual(w.a.peers.host.drops, {});
  } finally {
    w.stop();
  }
});
