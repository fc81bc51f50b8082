// RFC 4787 behaviours of the vnet NAT, each checked by its defining property (§4.1 mapping, §4.2
// port assignment, §4.3 timeouts, §5 filtering, §6 hairpinning), plus flush, rebinding, UDP-drop
// firewalls and determinism. Every expectation is derived from the RFC's definition, not recorded.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../clock/index.ts';
import { stunQuery, stunReflector, VNet, withSeed } from './index.ts';
import type {
  Endpoint,
  FilteringBehavior,
  MappingBehavior,
  NatOptions,
  Reflector,
  VSocket,
} from './index.ts';

const EXT = '203.0.113.1';
const Y1 = '198.51.100.1';
const Y2 = '198.51.100.2';

/** One inside host `a` behind `nat`, and on the internet Y1 (reflectors on 3478 and 3479) and Y2 (3478). */
function world(seed: number, o: Partial<NatOptions> = {}) {
  const clock = new FakeClock();
  const net = new VNet({ clock, seed });
  const nat = net.nat('nat', { address: EXT, ...o });
  const a = net.host('a', { address: '192.168.0.10', network: nat.insideSegment, link: { delayMs: 1 } });
  const y1 = net.host('y1', { address: Y1, link: { delayMs: 5 } });
  const y2 = net.host('y2', { address: Y2, link: { delayMs: 5 } });
  const r = {
    y1a: stunReflector(y1, 3478),
    y1b: stunReflector(y1, 3479),
    y2a: stunReflector(y2, 3478),
  };
  /** The external endpoint `sock` is seen from by `server` (undefined when no answer came). */
  const observe = (sock: VSocket, server: Reflector): Endpoint | undefined => {
    const q = stunQuery(sock, server.endpoint);
    clock.runAll();
    return q.mapped;
  };
  /** Datagrams `sock` receives from now on. */
  const inbox = (sock: VSocket) => {
    const got: { data: string; from: string }[] = [];
    sock.onReceive((d, from) =>
      got.push({ data: Buffer.from(d).toString(), from: `${from.address}:${from.port}` }),
    );
    return got;
  };
  return { clock, net, nat, a, y1, y2, r, observe, inbox };
}

const key = (e: Endpoint | undefined) => (e ? `${e.address}:${e.port}` : 'none');
const MAPPINGS: MappingBehavior[] = ['EIM', 'ADM', 'APDM'];
const FILTERS: FilteringBehavior[] = ['EIF', 'ADF', 'APDF'];

describe('mapping behaviour (RFC 4787 §4.1)', () => {
  // X:x sends to Y1:y1, Y1:y2 and Y2:y1; the reflectors report the external endpoint each saw.
  // EIM: one mapping for X:x, so all three see the same X1':x1'.
  // ADM: X1':x1' = X2':x2' (same remote address Y1), but ≠ X3':x3' (another address).
  // APDM: every remote endpoint its own mapping, all three differ.
  const expect: Record<MappingBehavior, { sameAddrOtherPort: boolean; otherAddr: boolean }> = {
    EIM: { sameAddrOtherPort: true, otherAddr: true },
    ADM: { sameAddrOtherPort: true, otherAddr: false },
    APDM: { sameAddrOtherPort: false, otherAddr: false },
  };
  for (const mapping of MAPPINGS)
    for (const portAssignment of ['preserve', 'random'] as const)
      test(`${mapping} (${portAssignment} ports)`, (t) =>
        withSeed(t, (seed) => {
          const w = world(seed, { mapping, portAssignment, filtering: 'EIF' });
          const s = w.a.bind(40000);
          const e11 = w.observe(s, w.r.y1a);
          const e12 = w.observe(s, w.r.y1b);
          const e21 = w.observe(s, w.r.y2a);
          assert.ok(e11 && e12 && e21, 'every reflector answered');
          for (const e of [e11, e12, e21]) assert.equal(e.address, EXT, 'the NAT rewrote the source');
          assert.equal(
            key(e11) === key(e12),
            expect[mapping].sameAddrOtherPort,
            `${key(e11)} vs ${key(e12)}`,
          );
          assert.equal(key(e11) === key(e21), expect[mapping].otherAddr, `${key(e11)} vs ${key(e21)}`);
          // The same destination again reuses its mapping under every behaviour.
          assert.equal(key(w.observe(s, w.r.y1a)), key(e11));
          const distinct = new Set([key(e11), key(e12), key(e21)]).size;
          const st = w.nat.stats;
          assert.equal(st.mappingsCreated, distinct);
          assert.equal(st.mappingsActive, distinct);
          assert.equal(w.nat.mappings().length, distinct);
          assert.equal(st.translatedOut, 4);
          assert.equal(st.translatedIn, 4);
          if (portAssignment === 'preserve') assert.equal(e11.port, 40000, 'the first mapping keeps x');
        }));
});

describe('filtering behaviour (RFC 4787 §5)', () => {
  // X:x has sent to Y1:y1 only. Then packets come to its mapping from Y1:y1, Y1:y2 and Y2:y1.
  // EIF lets all in; ADF those from an address X:x sent to (Y1, any port); APDF only Y1:y1.
  // The outcome depends on filtering alone, whatever the mapping behaviour.
  const passes: Record<FilteringBehavior, [boolean, boolean, boolean]> = {
    EIF: [true, true, true],
    ADF: [true, true, false],
    APDF: [true, false, false],
  };
  for (const filtering of FILTERS)
    for (const mapping of MAPPINGS)
      test(`${filtering} behind ${mapping}`, (t) =>
        withSeed(t, (seed) => {
          const w = world(seed, { mapping, filtering });
          const s = w.a.bind(40000);
          const ext = w.observe(s, w.r.y1a);
          assert.ok(ext);
          const got = w.inbox(s);
          const senders = [w.r.y1a, w.r.y1b, w.r.y2a];
          senders.forEach((r, i) => r.socket.send(Buffer.from(`from ${i}`), ext));
          w.clock.runAll();
          const want = passes[filtering];
          assert.deepEqual(
            got.map((g) => g.data),
            want.flatMap((ok, i) => (ok ? [`from ${i}`] : [])),
          );
          // What passes carries the remote's real endpoint as its source.
          for (const g of got) {
            const i = Number(g.data.slice(5));
            assert.equal(g.from, key(senders[i].endpoint));
          }
          assert.equal(w.nat.stats.dropped.filter, want.filter((ok) => !ok).length);
          assert.equal(w.nat.stats.dropped.noMapping, 0);
        }));

  test('nothing comes in to a port with no mapping, whatever the filter', (t) =>
    withSeed(t, (seed) => {
      const w = world(seed, { filtering: 'EIF' });
      const s = w.a.bind(40000);
      const got = w.inbox(s);
      w.r.y1a.socket.send(Buffer.from('unsolicited'), { address: EXT, port: 40000 });
      w.clock.runAll();
      assert.equal(got.length, 0);
      assert.equal(w.nat.stats.dropped.noMapping, 1);
    }));
});

describe('port assignment (RFC 4787 §4.2)', () => {
  test('preserve keeps the port when free and never overloads one (REQ-3)', (t) =>
    withSeed(t, (seed) => {
      const w = world(seed, { portAssignment: 'preserve' });
      const b = w.net.host('b', { address: '192.168.0.11', network: w.nat.insideSegment });
      const ea = w.observe(w.a.bind(5000), w.r.y1a);
      const eb = w.observe(b.bind(5000), w.r.y1a);
      assert.equal(ea?.port, 5000);
      assert.ok(eb && eb.port !== 5000, `the second host got ${key(eb)}`);
    }));

  test('sequential hands out consecutive ports; random ones spread', (t) =>
    withSeed(t, (seed) => {
      const seq = world(seed, { mapping: 'APDM', portAssignment: 'sequential' });
      const s = seq.a.bind(5000);
      const ports = [seq.r.y1a, seq.r.y1b, seq.r.y2a].map((r) => seq.observe(s, r)!.port);
      assert.deepEqual(
        ports,
        [ports[0], ports[0] + 1, ports[0] + 2].map((p) => (p > 65535 ? p - 64512 : p)),
      );

      const rnd = world(seed, { mapping: 'APDM', portAssignment: 'random' });
      const sr = rnd.a.bind(5000);
      const got = new Set<number>();
      for (let i = 0; i < 40; i++) {
        const r = rnd.net.host(`peer${i}`, { address: `198.51.100.${10 + i}` });
        const peer = stunReflector(r, 3478);
        const e = rnd.observe(sr, peer);
        assert.ok(e && e.port >= 1024 && e.port <= 65535);
        got.add(e.port);
      }
      assert.equal(got.size, 40, 'APDM with random ports: a new port for every remote');
      const sorted = [...got].sort((x, y) => x - y);
      assert.ok(
        sorted[39] - sorted[0] > 20_000,
        `random ports spread over the range: ${sorted[0]}..${sorted[39]}`,
      );
    }));
});

describe('mapping timeout (RFC 4787 §4.3)', () => {
  test('default is 2 min (REQ-5): alive at 119.999 s of idleness, gone at 120 s', (t) =>
    withSeed(t, (seed) => {
      const w = world(seed);
      assert.equal(w.nat.settings.mappingTimeoutMs, 120_000);
      const s = w.a.bind(40000);
      const ext = w.observe(s, w.r.y1a)!;
      const refreshedAt = w.nat.mappings()[0].expiresAt - 120_000;
      const got = w.inbox(s);
      // y1's uplink takes 5 ms and the NAT's is ideal: sent at T, a packet meets the NAT at T + 5.
      const poke = (idle: number) => {
        w.clock.advance(refreshedAt + idle - 5 - w.clock.now());
        w.r.y1a.socket.send(Buffer.from(String(idle)), ext);
      };
      poke(119_999);
      poke(120_000);
      w.clock.runAll();
      assert.deepEqual(
        got.map((g) => g.data),
        ['119999'],
      );
      const st = w.nat.stats;
      assert.equal(st.mappingsExpired, 1);
      assert.equal(st.mappingsActive, 0);
      assert.equal(st.dropped.noMapping, 1);
    }));

  test('outbound packets refresh a mapping; inbound ones only with inboundRefresh', (t) =>
    withSeed(t, (seed) => {
      for (const inboundRefresh of [false, true]) {
        const w = world(seed, { mappingTimeoutMs: 5000, inboundRefresh, filtering: 'EIF' });
        const s = w.a.bind(40000);
        const ext = w.observe(s, w.r.y1a)!;
        const got = w.inbox(s);
        const t0 = w.nat.mappings()[0].expiresAt - 5000;
        // Outbound keepalives every 4 s keep the mapping through 20 s.
        for (let k = 1; k <= 5; k++) {
          w.clock.advance(t0 + 4000 * k - 1 - w.clock.now());
          s.send(Buffer.from('keepalive'), w.r.y2a.endpoint);
          w.clock.runAll();
        }
        assert.equal(w.nat.stats.mappingsCreated, 1, 'keepalives refreshed, never re-created');
        assert.equal(w.nat.stats.mappingsExpired, 0);
        // Now only inbound traffic, every 4 s: it keeps the mapping alive only with inboundRefresh.
        for (let k = 0; k < 4; k++) {
          w.clock.advance(4000);
          w.r.y1b.socket.send(Buffer.from(`in ${k}`), ext);
          w.clock.runAll();
        }
        assert.equal(got.length, inboundRefresh ? 4 : 1, `inboundRefresh ${inboundRefresh}`);
        assert.equal(w.nat.stats.mappingsExpired, inboundRefresh ? 0 : 1);
      }
    }));

  test('an expired mapping is made again by the next outbound packet', (t) =>
    withSeed(t, (seed) => {
      const w = world(seed, { mappingTimeoutMs: 1000, portAssignment: 'random' });
      const s = w.a.bind(40000);
      const e1 = w.observe(s, w.r.y1a);
      w.clock.advance(1000);
      const e2 = w.observe(s, w.r.y1a);
      assert.ok(e1 && e2);
      assert.equal(w.nat.stats.mappingsCreated, 2);
      assert.equal(w.nat.stats.mappingsExpired, 1);
    }));
});

describe('hairpinning (RFC 4787 §6)', () => {
  for (const hairpinning of [true, false])
    test(`hairpinning ${hairpinning ? 'on' : 'off'}`, (t) =>
      withSeed(t, (seed) => {
        const w = world(seed, { hairpinning, filtering: 'EIF' });
        const b = w.net.host('b', { address: '192.168.0.11', network: w.nat.insideSegment });
        const sa = w.a.bind(40000);
        const sb = b.bind(40001);
        const ea = w.observe(sa, w.r.y1a)!;
        const eb = w.observe(sb, w.r.y1a)!;
        const got = w.inbox(sb);
        sa.send(Buffer.from('hello neighbour'), eb);
        w.clock.runAll();
        if (hairpinning) {
          // REQ-9: the packet arrives from a's external endpoint, not its internal one.
          assert.deepEqual(got, [{ data: 'hello neighbour', from: key(ea) }]);
          assert.equal(w.nat.stats.hairpinned, 1);
        } else {
          assert.deepEqual(got, []);
          assert.equal(w.nat.stats.dropped.hairpin, 1);
        }
      }));

  test('hairpinned packets meet the receiver mapping filter (APDF)', (t) =>
    withSeed(t, (seed) => {
      const w = world(seed, { filtering: 'APDF' });
      const b = w.net.host('b', { address: '192.168.0.11', network: w.nat.insideSegment });
      const sa = w.a.bind(40000);
      const sb = b.bind(40001);
      const ea = w.observe(sa, w.r.y1a)!;
      const eb = w.observe(sb, w.r.y1a)!;
      const gotA = w.inbox(sa);
      const gotB = w.inbox(sb);
      // Hole punching inside one NAT: the first packet each way opens its sender's mapping.
      sa.send(Buffer.from('1'), eb); // b's mapping has not sent to ea: filtered (a's now admits eb)
      w.clock.runAll();
      sb.send(Buffer.from('2'), ea); // a's mapping sent to eb: passes, and b's now admits ea
      w.clock.runAll();
      sa.send(Buffer.from('3'), eb); // passes
      w.clock.runAll();
      assert.deepEqual(
        gotA.map((g) => g.data),
        ['2'],
      );
      assert.deepEqual(
        gotB.map((g) => g.data),
        ['3'],
      );
      assert.equal(w.nat.stats.dropped.filter, 1);
      assert.equal(w.nat.stats.hairpinned, 2);
    }));
});

describe('flush, rebinding, firewalls', () => {
  test('flush() drops every mapping (conntrack -F): inbound dies until the host sends again', (t) =>
    withSeed(t, (seed) => {
      const w = world(seed, { filtering: 'EIF' });
      const s = w.a.bind(40000);
      const ext = w.observe(s, w.r.y1a)!;
      const got = w.inbox(s);
      assert.equal(w.nat.flush(), 1);
      w.r.y1a.socket.send(Buffer.from('after flush'), ext);
      w.clock.runAll();
      assert.deepEqual(got, []);
      const st = w.nat.stats;
      assert.equal(st.mappingsFlushed, 1);
      assert.equal(st.dropped.noMapping, 1);
      assert.equal(key(w.observe(s, w.r.y1a)), key(ext), 'with port preservation the same port returns');
      assert.equal(w.nat.stats.mappingsCreated, 2);
    }));

  test('rebind() gives each flow a new external port, and with an address a new address', (t) =>
    withSeed(t, (seed) => {
      const w = world(seed, { filtering: 'EIF' });
      const s = w.a.bind(40000);
      const e1 = w.observe(s, w.r.y1a)!;
      w.nat.rebind();
      const e2 = w.observe(s, w.r.y1a)!;
      assert.equal(e2.address, EXT);
      assert.notEqual(e2.port, e1.port);
      w.nat.rebind({ address: '203.0.113.77' });
      const e3 = w.observe(s, w.r.y1a)!;
      assert.equal(e3.address, '203.0.113.77');
      assert.equal(w.nat.address, '203.0.113.77');
      // The old address is nobody's now: the internet drops what is sent to it.
      const before = w.net.internet.stats.unrouted;
      w.r.y1a.socket.send(Buffer.from('stale'), e2);
      w.clock.runAll();
      assert.equal(w.net.internet.stats.unrouted, before + 1);
    }));

  for (const where of ['nat', 'host'] as const)
    for (const rule of ['out', 'in', 'both'] as const)
      test(`UDP dropped ${rule === 'both' ? 'both ways' : rule + 'bound'} at the ${where}`, (t) =>
        withSeed(t, (seed) => {
          const w = world(seed, where === 'nat' ? { firewall: rule } : {});
          if (where === 'host') w.a.firewall = rule;
          const s = w.a.bind(40000);
          assert.equal(w.observe(s, w.r.y1a), undefined, 'no STUN answer through the firewall');
          // The request left unless outbound UDP is dropped.
          assert.equal(w.r.y1a.stats.answered, rule === 'in' ? 1 : 0);
          const dropped = where === 'nat' ? w.nat.stats.dropped.firewall : w.a.stats.dropped.firewall;
          assert.equal(dropped, 1);
          if (where === 'nat') w.nat.set({ firewall: 'none' });
          else w.a.firewall = 'none';
          assert.ok(w.observe(s, w.r.y1a), 'lifting the rule lets UDP through again');
        }));
});

test('a firewall can exempt remotes (a relay reached over TCP, modelled as datagrams)', (t) =>
  withSeed(t, (seed) => {
    const w = world(seed, { firewall: { drop: 'both', allow: [Y2] } });
    const s = w.a.bind(40000);
    assert.equal(w.observe(s, w.r.y1a), undefined);
    assert.equal(w.observe(s, w.r.y2a)?.address, EXT);
    assert.equal(w.nat.stats.dropped.firewall, 1);
    w.a.firewall = { drop: 'out', allow: [Y1] };
    assert.equal(w.observe(s, w.r.y2a), undefined, 'the host drops what the NAT would pass');
    assert.equal(w.a.stats.dropped.firewall, 1);
    assert.throws(() => w.nat.set({ firewall: { drop: 'both', allow: ['not an ip'] } }), /not an IPv4/);
  }));

test('determinism: the same seed gives the same ports and timings; another seed other ports', (t) =>
  withSeed(t, (seed) => {
    const run = (sd: number) => {
      const w = world(sd, { mapping: 'APDM', portAssignment: 'random' });
      w.y1.iface.setLink({ delayMs: 5, jitterMs: 4, lossRate: 0.1 }, 'both');
      const trace: string[] = [];
      for (let i = 0; i < 20; i++) {
        const s = w.a.bind(0);
        const q = stunQuery(s, (i % 2 ? w.r.y1b : w.r.y2a).endpoint);
        w.clock.runAll();
        trace.push(`${s.local.port}->${key(q.mapped)}@${w.clock.now().toFixed(3)}`);
      }
      return trace.join(' ');
    };
    assert.equal(run(seed), run(seed));
    assert.notEqual(run(seed), run((seed + 1) >>> 0));
  }));
