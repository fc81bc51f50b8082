import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PrivateKey, randomBytes } from '../crypto/index.ts';
import { directEndpoint, type Endpoint } from '../proto/link/index.ts';
import { SessionHost } from './host.ts';
import { pair, text, unpad } from './testkit.ts';

test('handshake, then data both ways', () => {
  const { wire, a, b } = pair();
  a.peer.send(text('hello b'));
  assert.equal(a.peer.stagedCount, 1, 'staged while no keypair');
  wire.flush();
  assert.deepEqual(
    b.received.map((r) => unpad(r.payload)),
    ['hello b'],
  );
  assert.equal(b.received[0].payload.length, 16, 'padded to 16');
  assert.equal(b.received[0].from, a.endpoint);
  b.peer.send(text('hello a'));
  wire.flush();
  assert.deepEqual(
    a.received.map((r) => unpad(r.payload)),
    ['hello a'],
  );
  // Types on the wire: A initiation, staged data; B response, then data.
  assert.deepEqual(wire.typesFrom(a.endpoint), [1, 4]);
  assert.deepEqual(wire.typesFrom(b.endpoint), [2, 4]);
  assert.ok(a.events.some((e) => e.type === 'handshake-complete' && e.role === 'initiator'));
  assert.ok(b.events.some((e) => e.type === 'handshake-complete' && e.role === 'responder'));
  assert.deepEqual(a.host.drops, {});
  assert.deepEqual(b.host.drops, {});
  // Byte counters count whole authenticated datagrams, handshakes included, as `wg show` does.
  const bytesFrom = (ep: Endpoint) =>
    wire.sent.filter((g) => g.from === ep).reduce((n, g) => n + g.d.length, 0);
  assert.equal(a.peer.stats.txBytes, bytesFrom(a.endpoint));
  assert.equal(b.peer.stats.rxBytes, bytesFrom(a.endpoint));
  assert.equal(b.peer.stats.txBytes, bytesFrom(b.endpoint));
  assert.equal(a.peer.stats.rxBytes, bytesFrom(b.endpoint));
  assert.deepEqual(
    [a.peer.stats.txPackets, a.peer.stats.rxPackets, a.peer.stats.handshakeAttempts],
    [1, 1, 1],
  );
});

test('with a preshared key; a mismatched key never completes', () => {
  const psk = randomBytes(32);
  const ok = pair({ psk });
  ok.a.peer.send(text('x'));
  ok.wire.flush();
  assert.equal(ok.b.received.length, 1);

  const bad = pair({ pskA: psk, pskB: randomBytes(32) });
  bad.a.peer.send(text('x'));
  bad.wire.flush();
  assert.equal(bad.b.received.length, 0);
  assert.equal(bad.a.host.drops['bad-response'], 1);
});

test('without padding the payload arrives as sent', () => {
  const { wire, a, b } = pair({ host: { padding: false } });
  a.peer.send(text('abc'));
  wire.flush();
  assert.equal(b.received[0].payload.length, 3);
});

test('keypair rotation: initiator installs at once, responder keeps the new keypair in next until data arrives under it', () => {
  const { clock, wire, a, b } = pair();
  a.peer.initiateHandshake();
  wire.filter = (g) => g.d[0] !== 4; // hold back A's keepalive: B's keypair stays unconfirmed
  wire.flush();
  const a1 = a.peer.keypairInfo();
  const b1 = b.peer.keypairInfo();
  assert.ok(a1.current && !a1.previous && !a1.next, 'initiator: current at once');
  assert.ok(b1.next && !b1.current && !b1.previous, 'responder: next only');
  assert.equal(b1.next.remoteIndex, a1.current.localIndex);
  assert.equal(a1.current.remoteIndex, b1.next.localIndex);
  // B has no current keypair yet: its data waits.
  b.peer.send(text('early'));
  assert.equal(b.peer.stagedCount, 1);
  wire.filter = undefined;
  a.peer.send(text('confirm'));
  wire.flush();
  const b2 = b.peer.keypairInfo();
  assert.ok(b2.current && !b2.next, 'confirmed by the first data under it');
  assert.equal(b2.current.localIndex, b1.next.localIndex);
  assert.equal(b.peer.stagedCount, 0, 'the staged packet went out on confirmation');
  assert.deepEqual(
    a.received.map((r) => unpad(r.payload)),
    ['early'],
  );

  // Rekey, A initiating again: A rotates current → previous; B holds the new one in next while
  // still sending with the old current, which A can open with previous.
  clock.advance(5_000);
  wire.filter = (g) => !(g.d[0] === 4 && g.from === a.endpoint);
  a.peer.initiateHandshake();
  wire.flush();
  const a3 = a.peer.keypairInfo();
  const b3 = b.peer.keypairInfo();
  assert.equal(a3.previous?.localIndex, a1.current.localIndex);
  assert.notEqual(a3.current?.localIndex, a1.current.localIndex);
  assert.equal(b3.current?.localIndex, b1.next.localIndex, 'B still sends with the old keypair');
  assert.equal(b3.next?.remoteIndex, a3.current?.localIndex);
  assert.equal(b3.previous, undefined, 'a responder drops previous when it installs next');
  b.peer.send(text('under old'));
  wire.flush();
  assert.equal(unpad(a.received.at(-1)!.payload), 'under old', 'received with previous');
  wire.filter = undefined;
  a.peer.send(text('under new'));
  wire.flush();
  const b4 = b.peer.keypairInfo();
  assert.equal(b4.current?.localIndex, b3.next?.localIndex);
  assert.equal(b4.previous?.localIndex, b1.next.localIndex);
  assert.equal(b4.next, undefined);

  // A third handshake, this time B initiating: the oldest keypair leaves the index table.
  clock.advance(5_000);
  const stale = a.peer.keypairs.previous!;
  wire.filter = (g) => !(g.d[0] === 4 && g.from === b.endpoint); // hold B's keepalive back
  b.peer.initiateHandshake();
  wire.flush();
  const a5 = a.peer.keypairInfo();
  assert.ok(a5.next && a5.current && a5.previous === undefined, 'A responded: next, and previous dropped');
  wire.filter = undefined;
  b.peer.send(text('after b initiated'));
  wire.flush();
  assert.ok(a.peer.keypairInfo().current?.localIndex === a5.next.localIndex);
  // A message under the dropped keypair no longer finds its index.
  stale.sendNonce = 99n;
  assert.equal(b.host.drops['unknown-index'], undefined);
  const before = a.host.drops['unknown-index'] ?? 0;
  const old = stale.seal(text('x'), true);
  // Address it to A: stale is A's keypair; rebuild a message A would receive under it.
  old[4] = stale.localIndex & 0xff;
  old[5] = (stale.localIndex >>> 8) & 0xff;
  old[6] = (stale.localIndex >>> 16) & 0xff;
  old[7] = (stale.localIndex >>> 24) & 0xff;
  a.host.receive(old, b.endpoint);
  assert.equal(a.host.drops['unknown-index'], before + 1);
  assert.equal(a.host.sizes().indexTable, 2, 'previous and current, nothing else');
});

test('a replayed initiation and a replayed transport message are refused', () => {
  const { wire, a, b } = pair();
  a.peer.send(text('once'));
  wire.flush();
  const init = wire.sent.find((g) => g.d[0] === 1)!;
  const data = wire.sent.find((g) => g.d[0] === 4 && g.from === a.endpoint)!;
  b.host.receive(init.d, init.from);
  assert.equal(b.host.drops['replayed-initiation'], 1);
  b.host.receive(data.d, data.from);
  assert.equal(b.host.drops['replay'], 1);
  assert.equal(b.received.length, 1);
  assert.equal(wire.typesFrom(b.endpoint).filter((t) => t === 2).length, 1, 'no second response');
});

test('endpoint roaming: the peer endpoint follows authenticated messages only', () => {
  const { wire, a, b } = pair();
  a.peer.send(text('hi'));
  wire.flush();
  assert.equal(b.peer.endpoint, a.endpoint);
  // A moves (a new NAT binding): B learns the new address from A's next authenticated message.
  const moved = directEndpoint('198.51.100.7', 40000);
  wire.hosts.set(moved.name, a.host);
  a.endpoint = moved;
  a.peer.send(text('from elsewhere'));
  wire.flush();
  assert.equal(b.peer.endpoint, moved);
  assert.ok(b.events.some((e) => e.type === 'endpoint-changed' && e.to === moved));
  b.peer.send(text('reply'));
  wire.flush();
  assert.equal(wire.sent.at(-1)!.to, moved);
  assert.equal(unpad(a.received.at(-1)!.payload), 'reply');
  // Garbage and replays from another address do not move it.
  const spoof = directEndpoint('203.0.113.66', 1);
  const data = wire.sent.find((g) => g.d[0] === 4 && g.from === moved)!;
  b.host.receive(data.d, spoof);
  const bad = new Uint8Array(data.d);
  bad[20] ^= 1;
  b.host.receive(bad, spoof);
  assert.equal(b.peer.endpoint, moved);
  assert.equal(b.host.drops['replay'], 1);
  assert.equal(b.host.drops['bad-auth'], 1);
});

test('the responder needs no endpoint in advance; the initiator’s is learnt', () => {
  const { wire, a, b } = pair({ bKnowsA: false });
  assert.equal(b.peer.endpoint, undefined);
  b.peer.send(text('queued'));
  assert.equal(b.host.drops['no-endpoint'], 1, 'its initiation had nowhere to go');
  a.peer.send(text('hi'));
  wire.flush();
  assert.equal(b.peer.endpoint, a.endpoint);
  assert.deepEqual(
    a.received.map((r) => unpad(r.payload)),
    ['queued'],
  );
});

test('unknown peers and our own key are refused', () => {
  const { wire, a, b } = pair();
  b.host.removePeer(a.key.publicKey);
  a.peer.send(text('x'));
  wire.flush();
  assert.equal(b.host.drops['unknown-peer'], 1);
  assert.throws(() => a.host.addPeer(a.key.publicKey), /own peer/);
  assert.throws(
    () => a.host.addPeer(b.key.publicKey),
    (e: Error & { code?: string }) => e.code === 'PEER_EXISTS',
  );
});

test('the staged queue is bounded: the oldest packets go first', () => {
  const { clock, wire, a, b } = pair();
  wire.filter = () => false;
  for (let i = 0; i < 300; i++) a.peer.send(text(`p${i}`));
  assert.equal(a.peer.stagedCount, 128);
  assert.equal(a.host.drops['staged-overflow'], 300 - 128);
  wire.filter = undefined;
  clock.advance(5_000); // the retransmitted initiation gets through
  assert.equal(b.received.length, 128);
  assert.equal(unpad(b.received[0].payload), 'p172');
  assert.equal(unpad(b.received[127].payload), 'p299');
});

test('options are validated once, with stable codes; a stopped host drops everything', () => {
  const { a, b } = pair();
  const code = (fn: () => unknown) => {
    try {
      fn();
    } catch (e) {
      return (e as { code?: string }).code;
    }
    return undefined;
  };
  const other = pair().a.key.publicKey;
  assert.equal(
    code(() => a.host.addPeer(other, { presharedKey: new Uint8Array(31) })),
    'OPTION_INVALID',
  );
  assert.equal(
    code(() => a.host.addPeer(other, { persistentKeepaliveMs: -1 })),
    'OPTION_INVALID',
  );
  assert.equal(
    code(() => pair({ host: { rateLimit: { perSecond: 0 } } })),
    'OPTION_INVALID',
    'a bad rate limit is refused',
  );
  a.host.stop();
  assert.equal(
    code(() => a.host.addPeer(other)),
    'STOPPED',
  );
  a.host.receive(new Uint8Array(32), b.endpoint);
  assert.equal(a.host.drops['stopped'], 1);
  a.peer.send(text('x'));
  assert.equal(a.host.drops['peer-stopped'], 1);
});

test('simultaneous initiations: both lose the first round; jitter separates the retries and they converge', () => {
  const { clock, wire, a, b } = pair({ jitter: [0, 100] });
  a.peer.send(text('from a'));
  b.peer.send(text('from b'));
  wire.flush();
  assert.equal(a.received.length + b.received.length, 0, 'crossed handshakes: both responses miss');
  assert.equal((a.host.drops['unknown-index'] ?? 0) + (b.host.drops['unknown-index'] ?? 0), 2);
  clock.advance(6_000); // A retries at 5 s, before B's retry at 5.1 s
  assert.deepEqual(
    b.received.map((r) => unpad(r.payload)),
    ['from a'],
  );
  assert.deepEqual(
    a.received.map((r) => unpad(r.payload)),
    ['from b'],
  );
  assert.equal(a.peer.stagedCount + b.peer.stagedCount, 0);
});

test('one host, several peers: indices route every message to its own peer', () => {
  const { clock, wire, a, b } = pair();
  const cKey = PrivateKey.generate();
  const cEnd = directEndpoint('10.0.0.3', 51820);
  const got: string[] = [];
  const c = new SessionHost({
    clock,
    privateKey: cKey,
    send: wire.sender(() => cEnd),
    onPayload: (_p, payload) => got.push(unpad(payload)),
  });
  wire.hosts.set(cEnd.name, c);
  const aToC = a.host.addPeer(cKey.publicKey, { endpoint: cEnd });
  const cToA = c.addPeer(a.key.publicKey, { endpoint: a.endpoint });
  a.peer.send(text('to b'));
  aToC.send(text('to c'));
  wire.flush();
  assert.deepEqual(
    b.received.map((r) => unpad(r.payload)),
    ['to b'],
  );
  assert.deepEqual(got, ['to c']);
  b.peer.send(text('b says'));
  cToA.send(text('c says'));
  wire.flush();
  const byPeer = a.received.map((r) => `${r.from.name} ${unpad(r.payload)}`).sort();
  assert.deepEqual(byPeer, [`${cEnd.name} c says`, `${b.endpoint.name} b says`].sort());
  assert.ok(a.host.sizes().indexTable <= 8);
  assert.equal(a.host.sizes().peers, 2);
});

test('without roaming, the owner keeps the endpoint: a new source is reported, send(payload, via) goes where asked', () => {
  const { wire, a, b } = pair({ peerB: { roam: false } });
  a.peer.send(text('hi'));
  wire.flush();
  assert.equal(b.peer.endpoint, a.endpoint, 'the endpoint it was given');
  assert.equal(b.peer.source, a.endpoint);
  const moved = directEndpoint('198.51.100.7', 40000);
  wire.hosts.set(moved.name, a.host);
  a.endpoint = moved;
  a.peer.send(text('from elsewhere'));
  wire.flush();
  assert.notEqual(b.peer.endpoint, moved, 'not moved by the session');
  assert.equal(b.peer.source, moved);
  const ev = b.events.filter((e) => e.type === 'source-changed');
  assert.equal(ev.at(-1)?.type === 'source-changed' && ev.at(-1)!.to, moved);
  assert.ok(!b.events.some((e) => e.type === 'endpoint-changed'));
  // a probe to the new source: sent there, the endpoint unchanged
  b.peer.send(text('probe'), moved);
  assert.equal(wire.queue.at(-1)!.to, moved);
  assert.notEqual(b.peer.endpoint, moved);
  wire.flush();
  assert.equal(unpad(a.received.at(-1)!.payload), 'probe');
});

test('a probe sent to another endpoint as the keypair arrives: the staged data goes first, to the endpoint; the probe to where it was sent', () => {
  const elsewhere = directEndpoint('198.51.100.9', 9);
  let side: ReturnType<typeof pair> | undefined;
  const w = (side = pair({
    host: {
      onEvent: (ev) => {
        // what the path layer does on handshake-complete: probe a candidate
        if (ev.type === 'handshake-complete' && ev.role === 'initiator')
          side!.a.peer.send(text('probe'), elsewhere);
      },
    },
  }));
  w.wire.hosts.set(elsewhere.name, w.b.host);
  w.a.peer.send(text('data'));
  w.wire.flush();
  const transport = w.wire.sent.filter((g) => g.d[0] === 4 && g.from === w.a.endpoint);
  assert.deepEqual(
    transport.slice(0, 2).map((g) => g.to.name),
    [w.b.endpoint.name, elsewhere.name],
    'data to the endpoint, then the probe to its own destination',
  );
  assert.deepEqual(
    w.b.received.map((r) => unpad(r.payload)),
    ['data', 'probe'],
  );
});
