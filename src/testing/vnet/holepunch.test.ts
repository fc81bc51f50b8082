// The NAT model seen the way NAT traversal sees it: a minimal hole-punching peer (STUN for its own
// candidate, PINGs every 100 ms to every address it knows for the peer, a PONG to whoever PINGs,
// and peer-reflexive learning: the source of a PING becomes an address to ping) run over every pair
// of {no NAT, EIM+EIF, EIM+ADF, EIM+APDF, EDM}. The expected outcome of each pair is argued from
// RFC 4787 below, so a grid of the real path code can lean on this model.
//
// Let A send to B's STUN candidate Eb and B to A's Ea, both from the socket that did STUN.
// - A without NAT accepts anything, and a NAT'd B's PING reaches it from whatever mapping B used;
//   A answers that source, which B's mapping (made toward A) admits: direct, whatever B is.
// - A and B both EIM: A's packets leave from Ea, the endpoint B targets, and vice versa; once each
//   side has sent once, each mapping admits the other (§5, even APDF): direct.
// - A EIM, B EDM (APDM + APDF): B's packets toward Ea leave from a new mapping Eb' (§4.1). A's
//   mapping has sent to Eb only: EIF admits Eb', ADF too (same address, §5), APDF does not. Once in,
//   A answers Eb', which was made toward Ea and admits it: direct with EIF and ADF, not with APDF.
//   A's packets to Eb never pass: Eb admits only the STUN server.
// - Both EDM: each side's PINGs arrive from a mapping the other never sent to, and its own
//   mapping toward the other's STUN candidate admits only that server: no direct path.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../clock/index.ts';
import { epKey, NAT_PRESETS, stunQuery, stunReflector, VNet, withSeed } from './index.ts';
import type { Endpoint, Host, NatBehavior } from './index.ts';

type Kind = 'none' | 'EIM+EIF' | 'EIM+ADF' | 'EIM+APDF' | 'EDM';
const KINDS: Kind[] = ['none', 'EIM+EIF', 'EIM+ADF', 'EIM+APDF', 'EDM'];
const BEHAVIOR: Record<Exclude<Kind, 'none'>, NatBehavior> = {
  'EIM+EIF': NAT_PRESETS['full-cone'],
  'EIM+ADF': NAT_PRESETS['restricted-cone'],
  'EIM+APDF': NAT_PRESETS['port-restricted-cone'],
  EDM: NAT_PRESETS.symmetric,
};

/** The argument of the header, as a function. */
function expectDirect(a: Kind, b: Kind): boolean {
  if (a === 'none' || b === 'none') return true;
  if (a !== 'EDM' && b !== 'EDM') return true;
  const other = a === 'EDM' ? b : a;
  return other === 'EIM+EIF' || other === 'EIM+ADF';
}

const PORT = 41641;
const LIMIT_MS = 5000;

function side(net: VNet, name: string, kind: Kind, index: number): Host {
  const link = { delayMs: 10 };
  if (kind === 'none') return net.host(name, { address: `198.51.100.${10 + index}`, link });
  const nat = net.nat(`${name}-nat`, {
    address: `203.0.113.${10 + index}`,
    link: { delayMs: 5 },
    ...BEHAVIOR[kind],
  });
  return net.host(name, { address: '192.168.0.2', network: nat.insideSegment, link });
}

for (const [i, a] of KINDS.entries())
  for (const b of KINDS.slice(i))
    test(`hole punching ${a} ↔ ${b}: ${expectDirect(a, b) ? 'direct' : 'no direct path'}`, (t) =>
      withSeed(t, (seed) => {
        const clock = new FakeClock();
        const net = new VNet({ clock, seed });
        const stun = stunReflector(net.host('stun', { address: '198.51.100.1', link: { delayMs: 20 } }));
        const hosts = [side(net, 'a', a, 0), side(net, 'b', b, 1)];
        const socks = hosts.map((h) => h.bind(PORT));
        const queries = socks.map((s) => stunQuery(s, stun.endpoint));
        clock.runAll();
        const cands = queries.map((q) => q.mapped!);
        assert.ok(cands[0] && cands[1], 'both sides learned a STUN candidate');

        const start = clock.now();
        const directAt = [-1, -1];
        const known = [new Map<string, Endpoint>(), new Map<string, Endpoint>()];
        known[0].set(epKey(cands[1]), cands[1]);
        known[1].set(epKey(cands[0]), cands[0]);
        socks.forEach((s, me) =>
          s.onReceive((d, from) => {
            const msg = Buffer.from(d).toString();
            if (msg === 'PING') {
              known[me].set(epKey(from), from);
              s.send(Buffer.from('PONG'), from);
            } else if (msg === 'PONG' && directAt[me] < 0) directAt[me] = clock.now() - start;
          }),
        );
        const tick = () => {
          if (directAt.every((x) => x >= 0) || clock.now() - start >= LIMIT_MS) return;
          socks.forEach((s, me) => {
            for (const e of known[me].values()) s.send(Buffer.from('PING'), e);
          });
          clock.setTimeout(tick, 100);
        };
        tick();
        clock.runAll();

        const direct = directAt.every((x) => x >= 0);
        t.diagnostic(
          `${a} ↔ ${b}: direct ${direct}, PONG after ${directAt.join(' / ')} ms; ${net.summary()}`,
        );
        assert.equal(direct, expectDirect(a, b), `direct after ${directAt.join(' / ')} ms`);
        // Direct pairs: the first round of PINGs opens the holes, the second (100 ms later) at the
        // latest crosses, and its PONG comes back within one more round trip.
        if (direct) assert.ok(Math.max(...directAt) <= 300, `took ${directAt.join(' / ')} ms`);
      }));
