// Bad input into receive(): random, truncated, over-long, bit-flipped and replayed datagrams are
// dropped with a reason, nothing throws, and no state grows without bound.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { mac, hash } from '../crypto/index.ts';
import { decodeCookieReply, encodeInitiation } from '../proto/handshake/index.ts';
import type { SessionHost } from './host.ts';
import { CookieGenerator } from './cookie.ts';
import { directEndpoint } from '../proto/link/index.ts';
import { pair, text, unpad, type Datagram } from './testkit.ts';

const RUNS = 2000;
const total = (h: SessionHost): number => Object.values(h.drops).reduce((s, n) => s + n, 0);

/** An established pair and a corpus of real messages already delivered once. */
function world() {
  const p = pair({ jitter: 0 });
  const { clock, wire, a, b } = p;
  a.peer.send(text('one'));
  wire.flush();
  b.peer.send(text('two'));
  a.peer.send(text('three'));
  wire.flush();
  assert.equal(b.received.length, 2);
  const corpus = wire.sent.splice(0);
  // A cookie reply: B initiates towards A while A is under load. (That initiation, never
  // consumed, stays out of the corpus: with mac2 flipped it is a genuine initiation.)
  clock.advance(5_000);
  a.host.forceUnderLoad(true);
  b.peer.initiateHandshake();
  wire.flush();
  a.host.forceUnderLoad(false);
  corpus.push(...wire.sent.filter((g) => g.d[0] === 3));
  wire.sent.length = 0;
  return { ...p, corpus };
}

/** Delivers `d` to the host it was addressed to and checks it was dropped exactly once, quietly. */
function expectDropped(w: ReturnType<typeof world>, g: Datagram, d: Uint8Array, from = g.from): void {
  const host = w.wire.hosts.get(g.to.name)!;
  const before = total(host);
  const got = w.a.received.length + w.b.received.length;
  host.receive(d, from);
  w.wire.flush();
  assert.equal(w.a.received.length + w.b.received.length, got, 'nothing delivered');
  assert.equal(total(host), before + 1, `dropped once: ${JSON.stringify(host.drops)}`);
  assert.equal(host.drops.internal, undefined, 'nothing threw inside');
}

function stillWorks(w: ReturnType<typeof world>): void {
  const n = w.b.received.length;
  w.a.peer.send(text('still here'));
  w.wire.flush();
  w.clock.advance(6_000);
  w.wire.flush();
  assert.equal(unpad(w.b.received.at(-1)!.payload), 'still here');
  assert.equal(w.b.received.length, n + 1);
}

const endpoint = fc.oneof(
  fc.constant(directEndpoint('10.0.0.1', 51820)),
  fc.tuple(fc.nat(255), fc.nat(65535)).map(([x, p]) => directEndpoint(`192.0.2.${x}`, p)),
  fc.tuple(fc.string({ maxLength: 30 }), fc.nat(65535)).map(([a, p]) => directEndpoint(a, p)),
);

test('random datagrams (and random bodies behind valid headers) are dropped', () => {
  const w = world();
  const g = { d: new Uint8Array(0), from: directEndpoint('', 0), to: w.b.endpoint };
  const sized = fc
    .tuple(fc.constantFrom([1, 148], [2, 92], [3, 64], [4, 32], [4, 48], [4, 1500]), fc.nat())
    .chain(([[t, n]]) =>
      fc.uint8Array({ minLength: n - 4, maxLength: n - 4 }).map((rest) => Uint8Array.of(t, 0, 0, 0, ...rest)),
    );
  fc.assert(
    fc.property(fc.oneof(fc.uint8Array({ maxLength: 300 }), sized), endpoint, (d, from) => {
      expectDropped(w, g, d, from);
    }),
    { numRuns: RUNS },
  );
  assert.ok(total(w.b.host) >= RUNS);
  stillWorks(w);
});

test('truncated, over-long and bit-flipped real messages are dropped', () => {
  const w = world();
  const pick = fc.constantFrom(...w.corpus);
  const truncated = pick.chain((g) => fc.nat(g.d.length - 1).map((n) => ({ g, d: g.d.slice(0, n) })));
  const longer = pick.chain((g) =>
    fc
      .uint8Array({ minLength: 1, maxLength: 64 })
      .map((extra) => ({ g, d: Uint8Array.of(...g.d, ...extra) })),
  );
  const flipped = pick.chain((g) =>
    fc.array(fc.nat(g.d.length * 8 - 1), { minLength: 1, maxLength: 3 }).map((bits) => {
      const d = new Uint8Array(g.d);
      for (const bit of new Set(bits)) d[bit >> 3] ^= 1 << (bit & 7);
      return { g, d };
    }),
  );
  fc.assert(
    fc.property(fc.oneof(truncated, longer, flipped), ({ g, d }) => {
      expectDropped(w, g, d);
    }),
    { numRuns: RUNS * 2 },
  );
  stillWorks(w);
});

test('replayed initiations, responses and transport messages are refused', () => {
  const w = world();
  const replayable = w.corpus.filter((g) => g.d[0] !== 3); // a repeated cookie reply is harmless and taken
  assert.ok(replayable.some((g) => g.d[0] === 1) && replayable.some((g) => g.d[0] === 2));
  assert.ok(replayable.filter((g) => g.d[0] === 4).length >= 3);
  fc.assert(
    fc.property(fc.constantFrom(...replayable), endpoint, (g, from) => {
      w.clock.advance(25); // past the per-peer initiation flood limit: the timestamp must refuse it
      expectDropped(w, g, g.d, from);
    }),
    { numRuns: RUNS },
  );
  const b = w.b.host.drops;
  const a = w.a.host.drops;
  assert.ok(b['replayed-initiation']! > 0 && (b['replay']! > 0 || a['replay']! > 0));
  assert.equal(b['initiation-flood'], undefined);
});

test('floods do not grow state: index table, staged queue and rate-limiter table stay bounded', () => {
  const w = world();
  const { clock, wire, a, b } = w;
  const rlMax = 64;
  // 1. Many genuine handshakes from a real peer: B keeps at most 1 handshake + 3 keypairs per peer.
  for (let i = 0; i < 60; i++) {
    clock.advance(5_001);
    (i % 2 ? a : b).peer.initiateHandshake();
    wire.flush();
  }
  assert.ok(a.host.sizes().indexTable <= 4 && b.host.sizes().indexTable <= 4, JSON.stringify(b.host.sizes()));

  // 2. A flood of initiations with valid mac1 (anyone knowing B's public key can make them) from
  //    thousands of sources, with valid mac2 for each (the flooder reads its cookie replies), while
  //    B is under load: the rate limiter's table stays within its bound.
  const h = pair({ host: { rateLimit: { maxEntries: rlMax } } });
  h.b.host.forceUnderLoad(true);
  const gen = new CookieGenerator(h.clock, h.b.key.publicKey);
  for (let i = 0; i < 1000; i++) {
    const from = directEndpoint(`198.18.${i >> 8}.${i & 255}`, 9);
    const m = encodeInitiation({
      senderIndex: i,
      ephemeral: hash(Uint8Array.of(i & 255, i >> 8)),
      encryptedStatic: new Uint8Array(48),
      encryptedTimestamp: new Uint8Array(28),
    });
    gen.addMacs(m);
    h.b.host.receive(m, from);
    const reply = h.wire.queue.pop();
    h.wire.queue.length = 0;
    const r = decodeCookieReply(reply!.d);
    assert.ok(r.ok && gen.consumeReply(r.msg));
    gen.addMacs(m);
    h.b.host.receive(m, from);
  }
  assert.ok(h.b.host.sizes().rateLimiter <= rlMax);
  assert.equal(h.b.host.drops['bad-initiation'], rlMax, 'the rest were refused at the full table');
  assert.equal(h.b.host.drops['rate-limited'], 1000 - rlMax);
  assert.equal(h.b.host.sizes().indexTable, 0, 'no state for unauthenticated initiations');

  // 3. Sending into a peer that never answers: the staged queue stays at 128.
  const c = pair();
  c.wire.filter = () => false;
  for (let i = 0; i < 5000; i++) c.a.peer.send(text(String(i)));
  assert.equal(c.a.host.sizes().staged, 128);
  assert.equal(c.a.host.sizes().indexTable, 1, 'one handshake in flight');
  void mac;
});
