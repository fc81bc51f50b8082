import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FakeClock } from '../clock/index.ts';
import { PathChoice, MAX_OUTSTANDING_PINGS, MAX_SEEN_CANDIDATES, type PathAction } from './path-choice.ts';
import { DEFAULT_PATH_TIMINGS, Wakeup, type PathTimings } from './timers.ts';
import { PrivateKey } from '../crypto/index.ts';
import type { DirectEndpoint, Endpoint } from '../session/index.ts';
import { toDirectEndpoint } from './endpoint.ts';

const RELAY_PEER = PrivateKey.generate().publicKey;
/** A session endpoint for a test's text: direct, or a relay endpoint named by the text. */
const E = (s: string): Endpoint =>
  toDirectEndpoint(s) ?? { kind: 'relay', region: 'us-east', peer: RELAY_PEER, name: s };
const O = (s: string): DirectEndpoint | undefined => toDirectEndpoint(s);

const A = '198.51.100.1:41641';
const B = '203.0.113.7:5000';
const C = '192.0.2.9:7000';
const ME = '10.0.0.2:41641';
const RELAY = 'relay:us-east/xyz';
const T = DEFAULT_PATH_TIMINGS;

type Ping = Extract<PathAction, { type: 'ping' }>;

/** A PathChoice on a FakeClock, driven the way peer-paths.ts drives it (one Wakeup). */
/** `openTtl` defaults to 0 here (no opens) for the tests of everything else; the opens have their own. */
function harness(o: { timings?: Partial<PathTimings>; random?: () => number; openTtl?: number } = {}) {
  const clock = new FakeClock();
  let n = 0;
  const pc = new PathChoice({
    openTtl: o.openTtl ?? 0,
    ...(o.timings ? { timings: o.timings } : {}),
    random: o.random ?? (() => 0.5),
    txid: () => {
      const b = new Uint8Array(8);
      new DataView(b.buffer).setUint32(4, ++n);
      return b;
    },
  });
  const log: { at: number; a: PathAction }[] = [];
  const wake = new Wakeup(clock, () => apply(pc.tick(clock.now())));
  /** Endpoints that answer every PING by themselves, after this RTT (a simulated peer). */
  const answering = new Map<string, number>();
  function apply(actions: PathAction[]): PathAction[] {
    for (const a of actions) {
      log.push({ at: clock.now(), a });
      const rtt = a.type === 'ping' ? answering.get(a.to) : undefined;
      if (a.type === 'ping' && rtt !== undefined)
        clock.setTimeout(() => apply(pc.onPong(a.txid, E(a.to), O(ME), clock.now())), rtt);
    }
    wake.arm(pc.nextWakeAt());
    return actions;
  }
  const h = {
    clock,
    pc,
    log,
    apply,
    now: () => clock.now(),
    advance: (ms: number) => clock.advance(ms),
    of<K extends PathAction['type']>(type: K, since = 0): Extract<PathAction, { type: K }>[] {
      return log.filter((x) => x.at >= since && x.a.type === type).map((x) => x.a) as Extract<
        PathAction,
        { type: K }
      >[];
    },
    pings: (to?: string, since = 0): Ping[] =>
      h.of('ping', since).filter((p) => to === undefined || p.to === to),
    lastPing: (to: string): Ping => {
      const ps = h.pings(to);
      assert.ok(ps.length > 0, `no PING to ${to}`);
      return ps[ps.length - 1];
    },
    /** The peer at `from` answers our latest PING to it after `rtt` ms. */
    pong(from: string, rtt = 0, observed = ME): PathAction[] {
      const p = h.lastPing(from);
      if (rtt) clock.advance(rtt);
      return apply(pc.onPong(p.txid, E(from), O(observed), clock.now()));
    },
    answer: (ep: string, rtt: number | undefined) =>
      rtt === undefined ? answering.delete(ep) : answering.set(ep, rtt),
    stop: () => wake.stop(),
  };
  return h;
}

/** Up and direct on `ep` with `rtt`, at t = rtt. */
function directOn(ep: string, rtt = 10, o?: Parameters<typeof harness>[0]) {
  const h = harness(o);
  h.apply(h.pc.setLocalCandidates([ME], 0));
  h.apply(h.pc.setRemoteCandidates([ep], 0));
  h.apply(h.pc.start(0));
  h.pong(ep, rtt);
  assert.equal(h.pc.state, 'direct');
  return h;
}

describe('path choice: probing and the relay', () => {
  test('start sends CALL_ME_MAYBE and PINGs every candidate at once, three times, then rests on the relay', () => {
    const h = harness();
    h.apply(h.pc.setLocalCandidates([ME, 'relay:x/y'], 0));
    h.apply(h.pc.setRemoteCandidates([A, B, 'not-an-endpoint'], 0));
    assert.equal(h.pc.state, 'relay');
    h.apply(h.pc.start(0));
    assert.equal(h.pc.state, 'probing');
    assert.deepEqual(h.of('call-me-maybe'), [{ type: 'call-me-maybe', candidates: [ME] }]);
    // simultaneous: one PING to each candidate at t=0
    assert.deepEqual(
      h.log.filter((x) => x.at === 0 && x.a.type === 'ping').map((x) => (x.a as Ping).to),
      [A, B],
    );
    h.advance(T.probeIntervalMs * (T.probeAttempts - 1));
    assert.equal(h.pings(A).length, T.probeAttempts);
    assert.equal(h.pings(B).length, T.probeAttempts);
    const lastAttempt = h.now();
    h.advance(T.pongTimeoutMs - 1);
    assert.equal(h.pc.state, 'probing');
    h.advance(1);
    assert.equal(h.pc.state, 'relay');
    assert.deepEqual(h.pc.path, { kind: 'relay' });
    assert.equal(h.pc.status().counters['candidate-not-direct'], 1);
    assert.equal(h.pings(undefined, lastAttempt + 1).length, 0);
  });

  test('while relayed, rounds repeat every reprobeMin..reprobeMax (jittered), each with CALL_ME_MAYBE', () => {
    for (const r of [0, 0.5, 0.999]) {
      const h = harness({ random: () => r });
      h.apply(h.pc.setLocalCandidates([ME], 0));
      h.apply(h.pc.setRemoteCandidates([A], 0));
      h.apply(h.pc.start(0));
      const roundEnd = T.probeIntervalMs * (T.probeAttempts - 1) + T.pongTimeoutMs;
      const gap = T.reprobeMinMs + r * (T.reprobeMaxMs - T.reprobeMinMs);
      h.advance(3 * (roundEnd + gap) + 10);
      const cmm = h.log.filter((x) => x.a.type === 'call-me-maybe').map((x) => x.at);
      assert.deepEqual(cmm, [0, roundEnd + gap, 2 * (roundEnd + gap), 3 * (roundEnd + gap)]);
      for (let i = 1; i < cmm.length; i++) {
        const wait = cmm[i] - cmm[i - 1] - roundEnd;
        assert.ok(wait >= T.reprobeMinMs && wait <= T.reprobeMaxMs, `re-probe after ${wait} ms`);
      }
      h.stop();
    }
  });

  test('a PONG makes the path direct, with its RTT; the round stops', () => {
    const h = harness();
    h.apply(h.pc.setLocalCandidates([ME], 0));
    h.apply(h.pc.setRemoteCandidates([A, B], 0));
    h.apply(h.pc.start(0));
    h.pong(B, 42);
    assert.equal(h.pc.state, 'direct');
    assert.deepEqual(h.pc.path, { kind: 'direct', endpoint: B, rttMs: 42 });
    const sw = h.of('switch');
    assert.equal(sw.length, 1);
    assert.deepEqual(sw[0], {
      type: 'switch',
      atMs: 42,
      from: { kind: 'relay' },
      to: { kind: 'direct', endpoint: B, rttMs: 42 },
      reason: 'pong',
    });
    h.advance(T.probeIntervalMs * 2);
    assert.equal(h.pings(A).length, 1, 'no more round PINGs once direct');
    assert.equal(h.pc.status().lastChange?.reason, 'pong');
  });

  test('PONGs that do not match are ignored: unknown txid, wrong source, too late', () => {
    const h = harness();
    h.apply(h.pc.setRemoteCandidates([A, B], 0));
    h.apply(h.pc.start(0));
    h.apply(h.pc.onPong(new Uint8Array(8).fill(9), E(A), O(ME), 1));
    const pA = h.lastPing(A);
    h.apply(h.pc.onPong(pA.txid, E(B), O(ME), 1));
    assert.equal(h.pc.state, 'probing');
    const c = h.pc.status().counters;
    assert.equal(c['pong-unknown-txid'], 1);
    assert.equal(c['pong-wrong-source'], 1);
    h.advance(T.probeIntervalMs * 2 + T.pongTimeoutMs + 1);
    h.apply(h.pc.onPong(h.lastPing(A).txid, E(A), O(ME), h.now()));
    assert.equal(h.pc.state, 'relay');
    assert.equal(h.pc.status().counters['pong-unknown-txid'], 2);
  });

  test('CALL_ME_MAYBE from the peer: PING all its candidates now, without answering CALL_ME_MAYBE', () => {
    const h = harness();
    h.apply(h.pc.setLocalCandidates([ME], 0));
    h.apply(h.pc.start(0));
    h.advance(60_000); // resting on the relay
    assert.equal(h.pc.state, 'relay');
    const cmmBefore = h.of('call-me-maybe').length;
    const at = h.now();
    h.apply(h.pc.onCallMeMaybe([A, B], at));
    assert.deepEqual(
      h.pings(undefined, at).map((p) => p.to),
      [A, B],
    );
    assert.equal(h.of('call-me-maybe').length, cmmBefore);
    assert.equal(h.pc.state, 'probing');
    h.pong(A, 5);
    assert.equal(h.pc.state, 'direct');
  });
});

describe('path choice: direct path upkeep and hysteresis', () => {
  test('heartbeat PINGs the active endpoint every heartbeatMs; its PONGs keep the path for good', () => {
    const h = directOn(A, 10);
    const start = h.now();
    for (let i = 0; i < 30; i++) {
      h.advance(T.heartbeatMs);
      const hb = h.lastPing(A);
      assert.equal(hb.purpose, 'heartbeat');
      h.pong(A, 10);
    }
    assert.equal(h.pc.state, 'direct');
    assert.equal(h.of('switch').length, 1);
    const hbs = h.log.filter((x) => x.a.type === 'ping' && x.a.purpose === 'heartbeat').map((x) => x.at);
    for (let i = 1; i < hbs.length; i++) assert.equal(hbs[i] - hbs[i - 1], T.heartbeatMs);
    assert.ok(hbs[0] - start === T.heartbeatMs);
  });

  test('no PONG for trustMs: fall back to the relay at exactly lastPong + trustMs, and probe at once', () => {
    const h = directOn(A, 10);
    const lastPong = h.now();
    h.advance(T.trustMs - 1);
    assert.equal(h.pc.state, 'direct');
    const hbs = h.pings(A).filter((p) => p.purpose === 'heartbeat').length;
    assert.equal(hbs, Math.floor((T.trustMs - 1) / T.heartbeatMs), 'heartbeats kept going');
    h.advance(1);
    assert.equal(h.pc.state, 'fallback');
    assert.deepEqual(h.pc.path, { kind: 'relay' });
    const sw = h.of('switch').at(-1)!;
    assert.equal(sw.reason, 'trust-expired');
    assert.equal(sw.atMs, lastPong + T.trustMs);
    assert.equal(h.of('call-me-maybe', h.now()).length, 1);
    assert.equal(h.pings(A, h.now()).at(-1)?.purpose, 'probe');
    // the path comes back: direct again on the next PONG
    h.pong(A, 12);
    assert.equal(h.pc.state, 'direct');
    assert.equal(h.of('switch').at(-1)!.reason, 'pong');
  });

  test('trust lost and nothing answers: fallback → relay, then the regular re-probe cadence', () => {
    const h = directOn(A, 10);
    h.advance(T.trustMs);
    assert.equal(h.pc.state, 'fallback');
    h.advance(T.probeIntervalMs * (T.probeAttempts - 1) + T.pongTimeoutMs);
    assert.equal(h.pc.state, 'relay');
    const rounds = h.pc.status().counters.rounds;
    h.advance(T.reprobeMaxMs);
    assert.equal(h.pc.status().counters.rounds, rounds + 1);
  });

  test('a lower RTT wins only past the margin (ratio and minimum gain)', () => {
    const h = directOn(A, 30);
    h.apply(h.pc.onCallMeMaybe([A, B], h.now()));
    h.pong(B, 25); // 25 >= 30 × 2/3 = 20: stay
    assert.equal((h.pc.path as { endpoint: string }).endpoint, A);
    h.apply(h.pc.onCallMeMaybe([A, B], h.now()));
    h.pong(B, 20); // not strictly below 20: stay
    assert.equal((h.pc.path as { endpoint: string }).endpoint, A);
    h.apply(h.pc.onCallMeMaybe([A, B], h.now()));
    h.pong(B, 19);
    assert.deepEqual(h.pc.path, { kind: 'direct', endpoint: B, rttMs: 19 });
    assert.equal(h.of('switch').at(-1)!.reason, 'better-rtt');
    // and back only if A beats B by the margin too
    h.apply(h.pc.onCallMeMaybe([A, B], h.now()));
    h.pong(A, 14);
    assert.equal((h.pc.path as { endpoint: string }).endpoint, B);
  });

  test('sub-millisecond gains do not switch (betterRttMinGainMs)', () => {
    const h = directOn(A, 1.2);
    h.apply(h.pc.onCallMeMaybe([A, B], h.now()));
    h.pong(B, 0.3);
    assert.equal((h.pc.path as { endpoint: string }).endpoint, A);
    const h2 = directOn(A, 1.2, { timings: { betterRttMinGainMs: 0.5 } });
    h2.apply(h2.pc.onCallMeMaybe([A, B], h2.now()));
    h2.pong(B, 0.3);
    assert.equal((h2.pc.path as { endpoint: string }).endpoint, B);
  });

  test('betterRttRatio is configurable: 1 switches on any gain above the minimum', () => {
    const h = directOn(A, 30, { timings: { betterRttRatio: 1 } });
    h.apply(h.pc.onCallMeMaybe([A, B], h.now()));
    h.pong(B, 28);
    assert.equal((h.pc.path as { endpoint: string }).endpoint, B);
  });

  test('while direct, other candidates are probed every upgradeMs for a better path', () => {
    const h = directOn(A, 30);
    h.answer(A, 30);
    h.apply(h.pc.setRemoteCandidates([A, C], h.now()));
    assert.equal(h.pings(C).length, 0, 'new netmap candidates wait for the upgrade probe while direct');
    h.answer(C, 5);
    const switched = h.now();
    h.advance(T.upgradeMs - 1);
    assert.equal((h.pc.path as { endpoint: string }).endpoint, A, 'heartbeats answered: still on A');
    h.advance(5 + 1);
    assert.equal(h.pings(C).filter((p) => p.purpose === 'upgrade').length, 1);
    assert.deepEqual(h.pc.path, { kind: 'direct', endpoint: C, rttMs: 5 });
    assert.equal(h.of('switch').at(-1)!.atMs, switched + T.upgradeMs + 5);
  });
});

describe('path choice: rebinding and roaming', () => {
  test('the peer moved (NAT rebinding): traffic from a new source is PINGed and taken over without the relay', () => {
    const h = directOn(A, 10);
    // A goes dark; the peer's packets now arrive from B.
    h.advance(T.heartbeatMs);
    h.apply(h.pc.onSourceSeen(E(B), h.now()));
    assert.equal(h.lastPing(B).purpose, 'triggered');
    // B answers quickly but A is not yet stale (last PONG 3 s ago < staleMs): stay, B is no better
    h.pong(B, 15);
    assert.equal((h.pc.path as { endpoint: string }).endpoint, A);
    h.advance(T.staleMs - T.heartbeatMs); // A's last PONG is now older than staleMs
    h.apply(h.pc.onSourceSeen(E(B), h.now()));
    h.pong(B, 15);
    assert.deepEqual(h.pc.path, { kind: 'direct', endpoint: B, rttMs: 15 });
    assert.equal(h.of('switch').at(-1)!.reason, 'stale');
    assert.ok(!h.of('switch').some((s) => s.to.kind === 'relay'), 'never fell back to the relay');
  });

  test('a PING from a new source gets a PONG to that source with it as observed, and a triggered PING', () => {
    const h = directOn(A, 10);
    const tx = Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8);
    h.apply(h.pc.onPing(tx, E('[::ffff:203.0.113.7]:5000'), h.now()));
    assert.deepEqual(h.of('pong'), [{ type: 'pong', to: B, txid: tx, observed: B }]);
    assert.equal(h.lastPing(B).purpose, 'triggered');
    // throttled: a second PING right away is answered but not PINGed back again
    h.apply(h.pc.onPing(tx, E(B), h.now() + 1));
    assert.equal(h.of('pong').length, 2);
    assert.equal(h.pings(B).length, 1);
    // a PING over the relay is not a path
    h.apply(h.pc.onPing(tx, E(RELAY), h.now()));
    assert.equal(h.of('pong').length, 2);
    assert.equal(h.pc.status().counters['ping-not-direct'], 1);
  });

  test('crossing PINGs: a PING soon after ours was sent still gets a PING back (ours may have been filtered)', () => {
    const h = harness();
    h.apply(h.pc.setRemoteCandidates([A], 0));
    h.apply(h.pc.start(0));
    assert.equal(h.pings(A).length, 1);
    h.advance(30); // our PING crossed the peer's, and its NAT dropped ours: the peer's arrives now
    h.apply(h.pc.onPing(new Uint8Array(8), E(A), h.now()));
    assert.deepEqual(
      h.pings(A).map((p) => p.purpose),
      ['probe', 'triggered'],
    );
    h.advance(T.pingReplyMinIntervalMs - 1);
    h.apply(h.pc.onPing(new Uint8Array(8), E(A), h.now()));
    assert.equal(h.pings(A).length, 2, 'a burst gets one PING back');
    assert.equal(h.of('pong').length, 2, 'but every PING its PONG');
  });

  test('a PING on the active, fresh path is answered without a triggered PING', () => {
    const h = directOn(A, 10);
    const n = h.pings(A).length;
    h.apply(h.pc.onPing(new Uint8Array(8), E(A), h.now()));
    assert.equal(h.of('pong').length, 1);
    assert.equal(h.pings(A).length, n);
  });

  test('we moved (our NAT rebinding): a PONG reporting a new observed address re-announces our candidates', () => {
    const h = directOn(A, 10);
    const first = h.of('observed');
    assert.deepEqual(first, [{ type: 'observed', endpoint: ME, previous: undefined }]);
    const cmm = h.of('call-me-maybe').length;
    h.advance(T.heartbeatMs);
    h.pong(A, 10, '198.18.0.77:61000');
    assert.deepEqual(h.of('observed').at(-1), {
      type: 'observed',
      endpoint: '198.18.0.77:61000',
      previous: ME,
    });
    const sent = h.of('call-me-maybe');
    assert.equal(sent.length, cmm + 1);
    assert.deepEqual(sent.at(-1)!.candidates, [ME, '198.18.0.77:61000']);
    assert.equal(h.pc.state, 'direct', 'the path itself is fine');
  });

  test('new local candidates: CALL_ME_MAYBE at once; a new round only when not direct', () => {
    const h = harness();
    h.apply(h.pc.setLocalCandidates([ME], 0));
    h.apply(h.pc.setRemoteCandidates([A], 0));
    h.apply(h.pc.start(0));
    h.advance(40_000); // past the quiet after the failed first round
    assert.equal(h.pc.state, 'relay');
    const rounds = h.pc.status().counters.rounds;
    h.apply(h.pc.setLocalCandidates([ME, C], h.now()));
    assert.deepEqual(h.of('call-me-maybe').at(-1)!.candidates, [ME, C]);
    assert.equal(h.pc.status().counters.rounds, rounds + 1);
    h.apply(h.pc.setLocalCandidates([ME, C], h.now()));
    assert.equal(h.pc.status().counters.rounds, rounds + 1, 'unchanged list: nothing');
    h.pong(A, 10);
    h.apply(h.pc.setLocalCandidates([ME], h.now()));
    assert.deepEqual(h.of('call-me-maybe').at(-1)!.candidates, [ME]);
    assert.equal(h.pc.status().counters.rounds, rounds + 1);
  });
});

describe('path choice: opens before PINGs (bare NAT routers)', () => {
  const kinds = (h: ReturnType<typeof harness>, since = 0) =>
    h.pings(undefined, since).map((p) => `${p.purpose}${p.ttl !== undefined ? `/ttl${p.ttl}` : ''} ${p.to}`);

  test('a round opens every candidate (TTL 2) and sends CALL_ME_MAYBE after them; full PINGs only from the next attempt', () => {
    const h = harness({ openTtl: 2 });
    h.apply(h.pc.setLocalCandidates([ME], 0));
    h.apply(h.pc.setRemoteCandidates([A, B], 0));
    h.apply(h.pc.start(0));
    assert.deepEqual(kinds(h), [`open/ttl2 ${A}`, `open/ttl2 ${B}`]);
    // CALL_ME_MAYBE is the last action: the peer may PING as soon as it reads it
    assert.equal(h.log.at(-1)!.a.type, 'call-me-maybe');
    assert.equal(h.pc.status().counters['opens-sent'], 2);
    assert.equal(h.pc.status().counters['pings-sent'], 0);
    h.advance(T.probeIntervalMs);
    // the opens are fresh (openRefreshMs): full PINGs alone
    assert.deepEqual(kinds(h, T.probeIntervalMs), [`probe ${A}`, `probe ${B}`]);
  });

  test("the peer's CALL_ME_MAYBE (it opened towards us): open, then a full PING to each of its candidates at once", () => {
    const h = harness({ openTtl: 2 });
    h.apply(h.pc.setLocalCandidates([ME], 0));
    h.apply(h.pc.start(0));
    h.advance(60_000);
    const at = h.now();
    h.apply(h.pc.onCallMeMaybe([A], at));
    assert.deepEqual(kinds(h, at), [`open/ttl2 ${A}`, `probe ${A}`]);
    h.pong(A, 3);
    assert.equal(h.pc.state, 'direct');
    // heartbeats on the answering path carry no open
    h.advance(T.heartbeatMs);
    assert.deepEqual(kinds(h, at + 3 + 1), [`heartbeat ${A}`]);
  });

  test('a netmap candidate the peer has not confirmed is opened again only after openRefreshMs', () => {
    const h = harness({ openTtl: 3, timings: { reprobeMinMs: 25_000, reprobeMaxMs: 25_000 } });
    h.apply(h.pc.setLocalCandidates([ME], 0));
    h.apply(h.pc.setRemoteCandidates([A], 0));
    h.apply(h.pc.start(0));
    h.advance(T.probeIntervalMs * 3 + T.pongTimeoutMs);
    assert.equal(h.pc.state, 'relay');
    const opens = () => h.pings(A).filter((p) => p.purpose === 'open');
    assert.equal(opens().length, 1);
    assert.equal(opens()[0].ttl, 3);
    // the re-probe round (after the quiet), > openRefreshMs after the open: opened afresh
    h.advance(31_000);
    assert.equal(opens().length, 2);
  });

  test("after a round with no PONG: no new round until both sides were quiet for quietMs; the peer's CALL_ME_MAYBE is still answered", () => {
    const h = harness({ openTtl: 2, timings: { reprobeMinMs: 1000, reprobeMaxMs: 1000 } });
    h.apply(h.pc.setLocalCandidates([ME], 0));
    h.apply(h.pc.setRemoteCandidates([A], 0));
    h.apply(h.pc.start(0));
    h.advance(T.probeIntervalMs * 3 + T.pongTimeoutMs);
    assert.equal(h.pc.state, 'relay');
    const lastSend = Math.max(...h.log.filter((x) => x.a.type === 'ping').map((x) => x.at));
    const rounds = h.pc.status().counters.rounds;
    // a new local candidate (our mapping moved) and a new netmap endpoint: deferred, nothing sent
    h.advance(3000);
    const before = h.log.length;
    h.apply(h.pc.setLocalCandidates([ME, C], h.now()));
    h.apply(h.pc.setRemoteCandidates([A, B], h.now()));
    assert.equal(h.log.length, before, 'nothing sent while quiet');
    assert.equal(h.pc.status().reprobeAt, lastSend + T.quietMs);
    // the peer's CALL_ME_MAYBE: its round, answered at once (and the quiet counts from it)
    h.advance(5000);
    const cmmAt = h.now();
    h.apply(h.pc.onCallMeMaybe([A], cmmAt));
    assert.ok(h.pings(A, cmmAt).length >= 1);
    h.advance(T.probeIntervalMs * 3 + T.pongTimeoutMs);
    const lastAfter = Math.max(...h.log.filter((x) => x.a.type === 'ping').map((x) => x.at));
    assert.equal(h.pc.status().counters.rounds, rounds + 1);
    // our own next round: quietMs after the last datagram, with CALL_ME_MAYBE and the new candidates
    h.advance(lastAfter + T.quietMs - h.now() - 1);
    assert.equal(h.pc.status().counters.rounds, rounds + 1);
    h.advance(1);
    assert.equal(h.pc.status().counters.rounds, rounds + 2);
    assert.deepEqual(h.of('call-me-maybe').at(-1)!.candidates, [ME, C]);
    assert.ok(h.pings(B).length >= 1, 'the new netmap endpoint is probed');
  });

  test('a PONG to an open (no NAT between us) makes the path direct like any PONG', () => {
    const h = harness({ openTtl: 2 });
    h.apply(h.pc.setRemoteCandidates([A], 0));
    h.apply(h.pc.start(0));
    h.pong(A, 1);
    assert.equal(h.pc.state, 'direct');
  });

  test('openTtl is checked: an integer 0..255', () => {
    assert.throws(() => new PathChoice({ openTtl: 256 }), { code: 'PATHS_OPTION_INVALID' });
    assert.throws(() => new PathChoice({ openTtl: 1.5 }), /openTtl/);
    assert.throws(() => new PathChoice({ openTtl: -1 }), /openTtl/);
  });
});

describe('path choice: datagram size on a direct path', () => {
  const LADDER = [32768, 8192, 1400];

  /** Direct on A; A answers every PING padded to at most `net.maxOk` (undefined: all), after 2 ms. */
  function direct(maxOk: number | undefined) {
    const net = { maxOk };
    const clock = new FakeClock();
    let n = 0;
    const pc = new PathChoice({
      openTtl: 0,
      datagramSizes: LADDER,
      random: () => 0.5,
      txid: () => {
        const b = new Uint8Array(8);
        new DataView(b.buffer).setUint32(4, ++n);
        return b;
      },
    });
    const log: PathAction[] = [];
    const wake = new Wakeup(clock, () => apply(pc.tick(clock.now())));
    function apply(actions: PathAction[]): void {
      for (const a of actions) {
        log.push(a);
        if (a.type === 'ping' && a.to === A && (net.maxOk === undefined || (a.padTo ?? 0) <= net.maxOk))
          clock.setTimeout(() => apply(pc.onPong(a.txid, E(A), O(ME), clock.now())), 2);
      }
      wake.arm(pc.nextWakeAt());
    }
    apply(pc.setRemoteCandidates([A], 0));
    apply(pc.start(0));
    clock.advance(2);
    assert.equal(pc.state, 'direct');
    const sizes = () =>
      log.filter((a) => a.type === 'datagram-size').map((a) => (a as { size: number }).size);
    const pings = (purpose: string) =>
      log
        .filter((a) => a.type === 'ping' && a.purpose === purpose)
        .map((a) => (a as { padTo?: number }).padTo);
    return { net, clock, pc, log, sizes, pings };
  }

  test('the largest size that gets a PONG is taken, largest first', () => {
    const d = direct(undefined);
    d.clock.advance(10);
    assert.deepEqual(d.sizes(), [32768]);
    assert.equal(d.pc.datagramSize, 32768);
    assert.equal(d.pc.status().datagramSize, 32768);
  });

  test('sizes that get no PONG within sizeProbeTimeoutMs are passed over; none: the base stays', () => {
    const d = direct(8192);
    d.clock.advance(T.sizeProbeTimeoutMs * 3);
    assert.deepEqual(d.sizes(), [8192]);
    assert.deepEqual(d.pings('size'), [32768, 8192]);
    const none = direct(1300);
    none.clock.advance(T.sizeProbeTimeoutMs * 5);
    assert.deepEqual(none.sizes(), []);
    assert.deepEqual(none.pings('size'), [32768, 8192, 1400]);
    assert.equal(none.pc.datagramSize, 1200);
  });

  test('busy: heartbeats padded to the size; one unanswered drops to the base at once, the path stays; the upgrade check tries the ladder again', () => {
    const d = direct(undefined);
    d.clock.advance(10);
    assert.equal(d.pc.datagramSize, 32768);
    d.pc.setBusy(true);
    d.net.maxOk = 1300; // the path stops carrying large datagrams
    d.clock.advance(T.heartbeatMs);
    assert.equal(d.pings('heartbeat').at(-1), 32768);
    d.clock.advance(T.sizeProbeTimeoutMs + 2);
    // one loss: asked again at once, same size; the size stays
    assert.deepEqual(d.sizes(), [32768]);
    assert.equal(d.pings('size').at(-1), 32768);
    d.clock.advance(T.sizeProbeTimeoutMs + 2);
    assert.deepEqual(d.sizes(), [32768, 1200]);
    assert.equal(d.pc.state, 'direct', 'small datagrams still pass: the path is kept');
    // the next heartbeats carry no padding (the size is the base); trust holds
    d.clock.advance(T.heartbeatMs * 2);
    assert.equal(d.pc.state, 'direct');
    assert.equal(d.pings('heartbeat').at(-1), undefined);
    // large datagrams pass again: tried again SIZE_RETRY_MS after the drop
    d.net.maxOk = undefined;
    d.clock.advance(10_000);
    assert.equal(d.pc.datagramSize, 32768);
  });

  test('idle: heartbeats carry no padding', () => {
    const d = direct(undefined);
    d.clock.advance(10);
    d.pc.setBusy(false);
    d.clock.advance(T.heartbeatMs * 2);
    const hb = d.pings('heartbeat');
    assert.ok(hb.length >= 1);
    assert.ok(hb.every((x) => x === undefined));
  });

  test('a switch (here: trust lost) resets the size to the base', () => {
    const d = direct(undefined);
    d.clock.advance(10);
    d.net.maxOk = -1; // nothing answers
    d.clock.advance(T.trustMs + 1);
    assert.equal(d.pc.state === 'direct', false);
    assert.equal(d.pc.datagramSize, 1200);
  });

  test('datagramSizes are checked', () => {
    assert.throws(() => new PathChoice({ datagramSizes: [1200] }), { code: 'PATHS_OPTION_INVALID' });
    assert.throws(() => new PathChoice({ datagramSizes: [70_000] }), /datagramSizes/);
  });
});

describe('path choice: bounds and options', () => {
  test('outstanding PINGs and seen candidates stay bounded', () => {
    const h = harness();
    const many = Array.from({ length: 40 }, (_, i) => `198.51.100.${i + 1}:1000`);
    h.apply(h.pc.setRemoteCandidates(many, 0));
    h.apply(h.pc.start(0));
    for (let i = 0; i < 20; i++) h.apply(h.pc.onCallMeMaybe(many, h.now() + i));
    assert.ok(h.pc.outstandingPings <= MAX_OUTSTANDING_PINGS);
    for (let i = 0; i < 50; i++) h.apply(h.pc.onSourceSeen(E(`192.0.2.${i + 1}:9`), i * 2000));
    const seen = h.pc.status().candidates.filter((c) => c.sources.includes('seen'));
    assert.equal(seen.length, MAX_SEEN_CANDIDATES);
    assert.ok(
      seen.some((c) => c.endpoint === '192.0.2.50:9'),
      'the newest is kept',
    );
  });

  test('timings are validated once', () => {
    assert.throws(() => new PathChoice({ timings: { trustMs: 1000, heartbeatMs: 3000 } }), /trustMs/);
    assert.throws(() => new PathChoice({ timings: { reprobeMinMs: 10, reprobeMaxMs: 5 } }), /reprobe/);
    assert.throws(() => new PathChoice({ timings: { betterRttRatio: 1.5 } }), /betterRttRatio/);
    assert.throws(() => new PathChoice({ timings: { probeAttempts: 0 } }), { code: 'PATHS_OPTION_INVALID' });
  });

  test('property: any input sequence keeps state and path consistent, and a direct path always has a wake-up', () => {
    const ep = fc.constantFrom(A, B, C, RELAY, '[2001:db8::1]:9');
    const input = fc.oneof(
      fc.record({ k: fc.constant('cmm' as const), eps: fc.array(ep, { maxLength: 4 }) }),
      fc.record({ k: fc.constant('netmap' as const), eps: fc.array(ep, { maxLength: 4 }) }),
      fc.record({ k: fc.constant('local' as const), eps: fc.array(ep, { maxLength: 3 }) }),
      fc.record({ k: fc.constant('ping' as const), from: ep }),
      fc.record({ k: fc.constant('seen' as const), from: ep }),
      fc.record({ k: fc.constant('pong' as const), from: ep, rtt: fc.integer({ min: 0, max: 200 }) }),
      fc.record({ k: fc.constant('wait' as const), ms: fc.integer({ min: 0, max: 70_000 }) }),
    );
    fc.assert(
      fc.property(fc.array(input, { maxLength: 60 }), (steps) => {
        const h = harness();
        h.apply(h.pc.start(0));
        for (const s of steps) {
          const now = h.now();
          if (s.k === 'cmm') h.apply(h.pc.onCallMeMaybe(s.eps, now));
          else if (s.k === 'netmap') h.apply(h.pc.setRemoteCandidates(s.eps, now));
          else if (s.k === 'local') h.apply(h.pc.setLocalCandidates(s.eps, now));
          else if (s.k === 'ping') h.apply(h.pc.onPing(new Uint8Array(8), E(s.from), now));
          else if (s.k === 'seen') h.apply(h.pc.onSourceSeen(E(s.from), now));
          else if (s.k === 'pong') {
            const p = h.pings(s.from).at(-1);
            if (p) h.apply(h.pc.onPong(p.txid, E(s.from), O(ME), now + s.rtt));
          } else h.advance(s.ms);
          const st = h.pc.status();
          assert.equal(st.state === 'direct', st.path.kind === 'direct');
          if (st.state === 'direct') assert.ok(h.pc.nextWakeAt() !== undefined);
          if (st.path.kind === 'direct')
            assert.ok(
              h.now() -
                (st.candidates.find((c) => c.endpoint === (st.path as { endpoint: string }).endpoint)
                  ?.lastPongAt ?? -Infinity) <=
                T.trustMs + 200,
            );
          assert.ok(h.pc.outstandingPings <= MAX_OUTSTANDING_PINGS);
        }
        h.stop();
      }),
      { numRuns: 200 },
    );
  });
});
