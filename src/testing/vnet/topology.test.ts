// Hosts, sockets, segments and routers of the vnet: addressing, routing through routers and NATs
// (double NAT too), per-interface link shaping, socket errors, and the STUN helpers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../clock/index.ts';
import { stunMappedAddress, stunQuery, stunReflector, VNet, VnetError, withSeed } from './index.ts';
import type { Endpoint, VSocket } from './index.ts';

function setup(seed: number) {
  const clock = new FakeClock();
  return { clock, net: new VNet({ clock, seed }) };
}

function inbox(sock: VSocket) {
  const got: { data: string; from: Endpoint; at: number }[] = [];
  return {
    got,
    listen(clock: FakeClock) {
      sock.onReceive((d, from) => got.push({ data: Buffer.from(d).toString(), from, at: clock.now() }));
      return got;
    },
  };
}

test('two public hosts exchange datagrams; delay is the sum of the two interface links', (t) =>
  withSeed(t, (seed) => {
    const { clock, net } = setup(seed);
    const a = net.host('a', { address: '198.51.100.1', link: { delayMs: 10 } });
    const b = net.host('b', { address: '198.51.100.2', link: { delayMs: 3 }, linkIn: { delayMs: 7 } });
    const sa = a.bind(1000);
    const sb = b.bind(2000);
    const atB = inbox(sb).listen(clock);
    const atA = inbox(sa).listen(clock);
    sb.onReceive((d, from) => {
      atB.push({ data: Buffer.from(d).toString(), from, at: clock.now() });
      sb.send(d, from);
    });
    sa.send(Buffer.from('ping'), sb.local);
    clock.runAll();
    // a→b: a's up (10) + b's down (7); b→a: b's up (3) + a's down (10).
    assert.deepEqual(atB, [{ data: 'ping', from: { address: '198.51.100.1', port: 1000 }, at: 17 }]);
    assert.deepEqual(
      atA.map((g) => [g.data, g.at]),
      [['ping', 30]],
    );
    assert.equal(a.stats.sent, 1);
    assert.equal(b.stats.received, 1);
  }));

test('sockets: ephemeral ports, port in use, bad addresses, closed sockets, no listener', (t) =>
  withSeed(t, (seed) => {
    const { clock, net } = setup(seed);
    const h = net.host('h', { address: '198.51.100.1' });
    const other = net.host('o', { address: '198.51.100.2' });
    const ports = Array.from({ length: 50 }, () => h.bind(0).local.port);
    assert.equal(new Set(ports).size, 50);
    assert.ok(ports.every((p) => p >= 49152 && p <= 65535));
    h.bind(53);
    assert.throws(
      () => h.bind(53),
      (e: unknown) => e instanceof VnetError && e.code === 'VNET_PORT_IN_USE',
    );
    assert.throws(
      () => h.bind(70000),
      (e: unknown) => e instanceof VnetError && e.code === 'VNET_BAD_PORT',
    );
    assert.throws(
      () => h.bind(1, '10.0.0.9'),
      (e: unknown) => (e as VnetError).code === 'VNET_BAD_ADDRESS',
    );
    assert.throws(
      () => net.host('x', { address: '198.51.100.1' }),
      (e: unknown) => (e as VnetError).code === 'VNET_ADDRESS_IN_USE',
    );
    assert.throws(
      () => net.host('h', { address: '198.51.100.9' }),
      (e: unknown) => (e as VnetError).code === 'VNET_DUPLICATE',
    );
    assert.throws(
      () => net.host('y', { address: '1.2.3.256' }),
      (e: unknown) => (e as VnetError).code === 'VNET_BAD_ADDRESS',
    );

    const s = h.bind(7000);
    const got = inbox(s).listen(clock);
    const o = other.bind(7001);
    o.send(Buffer.from('1'), s.local);
    o.send(Buffer.from('nobody'), { address: '198.51.100.1', port: 7002 });
    clock.runAll();
    s.close();
    assert.equal(s.closed, true);
    o.send(Buffer.from('2'), { address: '198.51.100.1', port: 7000 });
    s.send(Buffer.from('from closed'), o.local);
    clock.runAll();
    assert.deepEqual(
      got.map((g) => g.data),
      ['1'],
    );
    assert.equal(h.stats.dropped.noSocket, 2);
    assert.equal(h.stats.dropped.unsent, 1);
    assert.equal(h.bind(7000).local.port, 7000, 'a closed port can be bound again');
  }));

test('the internet drops packets for addresses nobody holds, and private ones', (t) =>
  withSeed(t, (seed) => {
    const { clock, net } = setup(seed);
    const a = net.host('a', { address: '198.51.100.1' });
    const s = a.bind(1);
    s.send(Buffer.from('x'), { address: '198.51.100.99', port: 1 });
    s.send(Buffer.from('x'), { address: '192.168.0.10', port: 1 });
    clock.runAll();
    assert.equal(net.internet.stats.unrouted, 2);
    assert.match(net.summary(), /segment internet: unrouted 2/);
  }));

test('a plain router: its LAN is reachable by private address, both ways, and can drop UDP', (t) =>
  withSeed(t, (seed) => {
    const { clock, net } = setup(seed);
    const r = net.router('r', { address: '198.51.100.254', insideAddress: '10.1.0.1' });
    const inner = net.host('inner', { address: '10.1.0.5', network: r.inside.segment, link: { delayMs: 2 } });
    const pub = net.host('pub', { address: '198.51.100.1', link: { delayMs: 2 } });
    const si = inner.bind(100);
    const sp = pub.bind(200);
    const gotP = inbox(sp).listen(clock);
    const gotI = inbox(si).listen(clock);
    si.send(Buffer.from('out'), sp.local);
    sp.send(Buffer.from('in'), { address: '10.1.0.5', port: 100 });
    clock.runAll();
    assert.deepEqual(
      gotP.map((g) => [g.data, g.from.address]),
      [['out', '10.1.0.5']],
    );
    assert.deepEqual(
      gotI.map((g) => [g.data, g.from.address]),
      [['in', '198.51.100.1']],
    );
    assert.equal(r.stats.forwardedOut, 1);
    assert.equal(r.stats.forwardedIn, 1);
    r.firewall = 'in';
    sp.send(Buffer.from('blocked'), { address: '10.1.0.5', port: 100 });
    si.send(Buffer.from('still out'), sp.local);
    clock.runAll();
    assert.equal(r.stats.dropped.firewall, 1);
    assert.deepEqual(
      gotP.map((g) => g.data),
      ['out', 'still out'],
    );
  }));

test('double NAT: a host behind a home NAT behind a carrier-grade NAT is seen at the CGN address', (t) =>
  withSeed(t, (seed) => {
    const { clock, net } = setup(seed);
    const cgn = net.nat('cgn', {
      address: '203.0.113.50',
      insideAddress: '100.64.0.1',
      mapping: 'APDM',
      portAssignment: 'random',
    });
    const home = net.nat('home', {
      address: '100.64.0.2',
      outside: cgn.insideSegment,
      insideAddress: '192.168.1.1',
    });
    const h = net.host('h', { address: '192.168.1.20', network: home.insideSegment });
    const stun = stunReflector(net.host('stun', { address: '198.51.100.3' }));
    const s = h.bind(4242);
    const q = stunQuery(s, stun.endpoint);
    clock.runAll();
    assert.equal(q.mapped?.address, '203.0.113.50');
    const [hm] = home.mappings();
    assert.deepEqual(hm.internal, { address: '192.168.1.20', port: 4242 });
    assert.deepEqual(hm.external, { address: '100.64.0.2', port: 4242 }, 'the home NAT preserved the port');
    const [cm] = cgn.mappings();
    assert.deepEqual(cm.internal, hm.external);
    assert.equal(cm.external.port, q.mapped?.port);
    assert.deepEqual(cm.remote, { address: '198.51.100.3', port: 3478 });
    assert.match(net.summary(), /nat cgn: maps \+1/);
  }));

test('two hosts on one LAN talk directly, not through the NAT', (t) =>
  withSeed(t, (seed) => {
    const { clock, net } = setup(seed);
    const nat = net.nat('n', { address: '203.0.113.1' });
    const a = net.host('a', { address: '192.168.0.2', network: nat.insideSegment });
    const b = net.host('b', { address: '192.168.0.3', network: nat.insideSegment });
    const sb = b.bind(9);
    const got = inbox(sb).listen(clock);
    a.bind(8).send(Buffer.from('lan'), sb.local);
    clock.runAll();
    assert.deepEqual(
      got.map((g) => [g.data, g.from.address, g.from.port]),
      [['lan', '192.168.0.2', 8]],
    );
    assert.equal(nat.stats.translatedOut, 0);
  }));

test('roaming: a host renumbered onto another network keeps its socket, seen from a new endpoint', (t) =>
  withSeed(t, (seed) => {
    const { clock, net } = setup(seed);
    const n1 = net.nat('n1', { address: '203.0.113.1' });
    const n2 = net.nat('n2', { address: '203.0.113.2', insideAddress: '192.168.0.1' });
    const stun = stunReflector(net.host('stun', { address: '198.51.100.3' }));
    const h = net.host('h', { address: '192.168.0.50', network: n1.insideSegment });
    const s = h.bind(5555);
    const q1 = stunQuery(s, stun.endpoint);
    clock.runAll();
    h.iface.detach();
    h.attach(n2.insideSegment, { address: '192.168.0.77' });
    assert.deepEqual(h.addresses, ['192.168.0.77']);
    assert.equal(s.local.address, '192.168.0.77');
    const q2 = stunQuery(s, stun.endpoint);
    clock.runAll();
    assert.equal(q1.mapped?.address, '203.0.113.1');
    assert.equal(q2.mapped?.address, '203.0.113.2');
  }));

test('stunMappedAddress drives the vnet with runUntil, and gives undefined when nothing answers', (t) =>
  withSeed(t, async (seed) => {
    const { net } = setup(seed);
    const nat = net.nat('n', { address: '203.0.113.9' });
    const h = net.host('h', { address: '192.168.0.5', network: nat.insideSegment, link: { delayMs: 20 } });
    const stun = stunReflector(net.host('stun', { address: '198.51.100.3', link: { delayMs: 30 } }));
    const s = h.bind(0);
    const e = await stunMappedAddress(net, s, stun.endpoint);
    assert.equal(e?.address, '203.0.113.9');
    assert.equal(net.clock.now(), 100, 'one round trip: 2 × (20 + 30) ms');
    nat.set({ firewall: 'both' });
    assert.equal(await stunMappedAddress(net, s, stun.endpoint, 500), undefined);
    assert.equal(stun.stats.answered, 1);
    net.stop();
  }));

test('50k datagrams each way through two NATs: every one translated and delivered', (t) =>
  withSeed(t, (seed) => {
    const { clock, net } = setup(seed);
    const na = net.nat('na', { address: '203.0.113.1', filtering: 'EIF' });
    const nb = net.nat('nb', { address: '203.0.113.2', filtering: 'EIF' });
    const a = net.host('a', { address: '192.168.0.2', network: na.insideSegment, link: { delayMs: 5 } });
    const b = net.host('b', { address: '192.168.0.2', network: nb.insideSegment, link: { delayMs: 5 } });
    const sa = a.bind(1000);
    const sb = b.bind(1000);
    let n = 0;
    sa.onReceive(() => n++);
    sb.onReceive(() => n++);
    const buf = new Uint8Array(1200);
    for (let i = 0; i < 50_000; i++) {
      sa.send(buf, { address: '203.0.113.2', port: 1000 });
      sb.send(buf, { address: '203.0.113.1', port: 1000 });
      if (i % 100 === 99) clock.advance(1);
    }
    clock.runAll();
    assert.equal(n, 100_000);
    assert.equal(na.stats.translatedOut + na.stats.translatedIn, 100_000);
  }));
