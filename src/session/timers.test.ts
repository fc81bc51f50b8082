// Every WireGuard timer on the fake clock: it fires when wireguard-go's does, and not before.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pair, text } from './testkit.ts';
import type { SessionEvent } from './events.ts';

const count = (types: number[], t: number): number => types.filter((x) => x === t).length;
const has = (evs: SessionEvent[], type: SessionEvent['type']): boolean => evs.some((e) => e.type === type);

/** A pair after a completed handshake (A initiated, B confirmed by A's keepalive), at t = 0 of `clock`. */
function established(o: Parameters<typeof pair>[0] = {}) {
  const p = pair(o);
  p.a.peer.initiateHandshake();
  p.wire.flush();
  assert.ok(p.b.peer.keypairInfo().current, 'handshake complete');
  p.wire.sent.length = 0;
  return p;
}

test('retransmit: a lost initiation is resent after REKEY_TIMEOUT + jitter (5 s + 200 ms), not at 5.199 s', () => {
  const { clock, wire, a } = pair({ jitter: 200 });
  wire.filter = () => false; // the network loses everything
  a.peer.send(text('x'));
  wire.flush();
  assert.equal(count(wire.typesFrom(a.endpoint), 1), 1);
  clock.advance(5199);
  wire.flush();
  assert.equal(count(wire.typesFrom(a.endpoint), 1), 1, 'not yet at 5.199 s');
  clock.advance(1);
  wire.flush();
  assert.equal(count(wire.typesFrom(a.endpoint), 1), 2, 'retried at 5.2 s');
  clock.advance(5199);
  assert.equal(count(wire.typesFrom(a.endpoint), 1), 2);
  clock.advance(1);
  assert.equal(count(wire.typesFrom(a.endpoint), 1), 3, 'and again 5.2 s later');
});

test('retransmit jitter is drawn per retry from the injected source, below 334 ms', () => {
  const draws = [0, 333, 17];
  let i = 0;
  const { clock, wire, a } = pair({ host: { jitterMs: () => draws[i++ % draws.length] } });
  wire.filter = () => false;
  a.peer.initiateHandshake(); // retransmit armed at 5000 + 0
  clock.advance(5000);
  assert.equal(count(wire.typesFrom(a.endpoint), 1), 2);
  clock.advance(5332); // next at +5333
  assert.equal(count(wire.typesFrom(a.endpoint), 1), 2);
  clock.advance(1);
  assert.equal(count(wire.typesFrom(a.endpoint), 1), 3);
});

test('give-up: after 20 initiations (18 retries beyond REKEY_ATTEMPT_TIME / REKEY_TIMEOUT + 1), staged packets are dropped', () => {
  // wireguard-go: the retransmit expiry that finds handshakeAttempts > MaxTimerHandshakes (18) gives
  // up; by then 1 + 19 initiations were sent, and with zero jitter the expiry is at 20 × 5 s = 100 s.
  const { clock, wire, a } = pair({ jitter: 0 });
  wire.filter = () => false;
  a.peer.send(text('lost'));
  clock.advance(99_999);
  assert.equal(count(wire.typesFrom(a.endpoint), 1), 20);
  assert.equal(a.peer.stagedCount, 1, 'still waiting at 99.999 s');
  assert.ok(!has(a.events, 'handshake-give-up'));
  clock.advance(1);
  const ev = a.events.find((e) => e.type === 'handshake-give-up');
  assert.ok(ev && ev.type === 'handshake-give-up' && ev.attempts === 20);
  assert.equal(a.peer.stagedCount, 0, 'staged packets dropped');
  assert.equal(a.host.drops['staged-flushed'], 1);
  clock.advance(500_000);
  assert.equal(count(wire.typesFrom(a.endpoint), 1), 20, 'no more initiations after giving up');
  // The residue of the partial exchange is zeroed 540 s after giving up.
  assert.ok(!has(a.events, 'keys-zeroed'));
  clock.advance(40_000);
  assert.ok(has(a.events, 'keys-zeroed'));
});

test('give-up: the count restarts when new data asks for a handshake (as wireguard-go: SendHandshakeInitiation(false))', () => {
  const { clock, wire, a } = pair({ jitter: 0 });
  wire.filter = () => false;
  a.peer.send(text('1'));
  clock.advance(50_000);
  a.peer.send(text('2')); // resets handshakeAttempts (the initiation itself is rate limited)
  clock.advance(99_999);
  assert.ok(!has(a.events, 'handshake-give-up'));
  clock.advance(5_001);
  assert.ok(has(a.events, 'handshake-give-up'));
});

test('passive keepalive: 10 s after receiving data, only if nothing was sent', () => {
  const { clock, wire, a, b } = established();
  b.peer.send(text('ping'));
  wire.flush();
  assert.equal(a.received.length, 1);
  clock.advance(9_999);
  wire.flush();
  assert.deepEqual(wire.typesFrom(a.endpoint), [], 'nothing at 9.999 s');
  clock.advance(1);
  const sent = wire.sent.filter((g) => g.from === a.endpoint);
  assert.equal(sent.length, 1);
  assert.equal(sent[0].d[0], 4);
  assert.equal(sent[0].d.length, 32, 'an empty transport message: a keepalive');
  wire.flush();
  clock.advance(60_000);
  wire.flush();
  assert.equal(wire.sent.filter((g) => g.from === a.endpoint).length, 1, 'only one');

  // When A answers within 10 s, no keepalive follows.
  wire.sent.length = 0;
  b.peer.send(text('ping'));
  wire.flush();
  clock.advance(3_000);
  a.peer.send(text('pong'));
  wire.flush();
  clock.advance(20_000);
  wire.flush();
  const fromA = wire.sent.filter((g) => g.from === a.endpoint);
  assert.deepEqual(
    fromA.map((g) => g.d.length),
    [48],
    'the data message only',
  );
});

test('new handshake: sent data with no reply for KEEPALIVE + REKEY_TIMEOUT (15 s + jitter)', () => {
  const { clock, wire, a } = established({ jitter: 100 });
  clock.advance(1_000);
  wire.filter = (g) => g.from.name !== '10.0.0.2:51820'; // B's replies (its keepalive) are lost
  a.peer.send(text('anyone?'));
  wire.flush();
  clock.advance(15_099);
  wire.flush();
  assert.equal(count(wire.typesFrom(a.endpoint), 1), 0, 'not at 15.099 s');
  clock.advance(1);
  assert.equal(count(wire.typesFrom(a.endpoint), 1), 1, 'initiation at 15.1 s');
  assert.ok(has(a.events, 'handshake-stale'));
});

test('new handshake: not when any authenticated reply arrives within 15 s', () => {
  const { clock, wire, a, b } = established({ jitter: 100 });
  a.peer.send(text('anyone?'));
  wire.flush();
  clock.advance(10_000); // B's passive keepalive reaches A
  wire.flush();
  assert.equal(b.received.length, 1);
  clock.advance(60_000);
  wire.flush();
  assert.equal(count(wire.typesFrom(a.endpoint), 1), 0);
  assert.ok(!has(a.events, 'handshake-stale'));
});

test('zero keys: 540 s after the last keypair was derived, all keys go', () => {
  const { clock, wire, a, b } = established();
  clock.advance(539_999);
  assert.ok(a.peer.keypairInfo().current);
  assert.ok(!has(a.events, 'keys-zeroed'));
  clock.advance(1);
  assert.ok(has(a.events, 'keys-zeroed') && has(b.events, 'keys-zeroed'));
  assert.deepEqual(a.peer.keypairInfo(), { previous: undefined, current: undefined, next: undefined });
  assert.equal(a.host.sizes().indexTable, 0);
  assert.equal(b.host.sizes().indexTable, 0);
  // Sending again starts a fresh handshake.
  a.peer.send(text('again'));
  wire.flush();
  assert.equal(b.received.length, 1);
});

test('rekey after 120 s: the initiator rekeys when it sends, the responder does not', () => {
  const { clock, wire, a, b } = established();
  clock.advance(120_000);
  a.peer.send(text('at 120 s'));
  b.peer.send(text('at 120 s'));
  assert.equal(count(wire.typesFrom(a.endpoint), 1), 0, 'not at exactly 120 s');
  wire.flush();
  clock.advance(1);
  b.peer.send(text('responder at 120.001 s'));
  assert.equal(count(wire.typesFrom(b.endpoint), 1), 0, 'never the responder');
  a.peer.send(text('initiator at 120.001 s'));
  assert.equal(count(wire.typesFrom(a.endpoint), 1), 1, 'the initiator, after 120 s');
  wire.flush();
  const before = a.peer.keypairInfo();
  assert.ok(before.previous && before.current);
  assert.notEqual(before.current.createdAt, 0, 'a new current keypair');
});

test('rekey after REKEY_AFTER_MESSAGES (2^60) sent, on either side', () => {
  const { clock, wire, b } = established();
  clock.advance(5_000); // past the initiation rate limit of B's response
  b.peer.keypairs.current!.sendNonce = (1n << 60n) + 1n;
  b.peer.send(text('x'));
  assert.equal(count(wire.typesFrom(b.endpoint), 1), 1);
});

test('reject after 180 s: current is not used for sending at 180 s, and not accepted after it', () => {
  const { clock, wire, a, b } = established();
  clock.advance(179_999);
  b.peer.send(text('just in time'));
  assert.deepEqual(wire.typesFrom(b.endpoint), [4]);
  const held = wire.queue.splice(0); // delivered late
  wire.filter = () => false; // and nothing else gets through
  const kp = b.peer.keypairs.current!;
  clock.advance(1);
  b.peer.send(text('too late'));
  assert.deepEqual(wire.typesFrom(b.endpoint), [4, 1], 'staged and a new handshake instead');
  assert.equal(b.peer.stagedCount, 1);
  wire.queue.length = 0;
  a.host.receive(held[0].d, held[0].from); // at exactly 180 s: still accepted
  assert.equal(a.received.length, 1);
  kp.sendNonce--; // resend the same counter, to test age rather than replay
  clock.advance(1);
  const late = kp.seal(text('late'), true);
  a.host.receive(late, b.endpoint);
  assert.equal(a.host.drops['expired-keypair'], 1);
});

test('reject after REJECT_AFTER_MESSAGES: no message with counter ≥ 2^64 − 2^13 − 1 is sent or accepted', () => {
  const { clock, wire, a, b } = established();
  clock.advance(5_000);
  const kp = b.peer.keypairs.current!;
  kp.sendNonce = 0xffff_ffff_ffff_dffen; // the last usable counter
  wire.filter = (g) => g.d[0] !== 1; // B's rekey (past 2^60 messages) is lost
  b.peer.send(text('last'));
  wire.flush();
  assert.equal(a.received.length, 1);
  assert.equal(count(wire.typesFrom(b.endpoint), 1), 1, 'rekey after 2^60 messages');
  b.peer.send(text('one too many'));
  assert.equal(b.peer.stagedCount, 1, 'staged, waiting for a new keypair');
  assert.deepEqual(wire.typesFrom(b.endpoint), [4, 1], 'nothing sent under the exhausted keypair');
  wire.queue.length = 0;
  // A message at the limit is refused before decryption.
  const forged = kp.seal(text('x'), true);
  assert.equal(a.host.drops['counter-limit'], undefined);
  a.host.receive(forged, b.endpoint);
  assert.equal(a.host.drops['counter-limit'], 1);
});

test('rekey on receive: the initiator starts a handshake once when current is older than 165 s', () => {
  const { clock, wire, a, b } = established();
  clock.advance(165_000);
  b.peer.send(text('at 165 s'));
  wire.flush();
  assert.equal(count(wire.typesFrom(a.endpoint), 1), 0, 'not at exactly 165 s');
  clock.advance(1);
  wire.filter = (g) => g.d[0] !== 1; // hold A's initiation back, to see it is sent once
  b.peer.send(text('at 165.001 s'));
  b.peer.send(text('again'));
  wire.flush();
  assert.equal(count(wire.typesFrom(a.endpoint), 1), 1);
  assert.equal(count(wire.typesFrom(b.endpoint), 1), 0, 'the responder never does');
});

test('persistent keepalive: every interval of silence, from either side that sets it', () => {
  const { clock, wire, a } = established({ peerA: { persistentKeepaliveMs: 25_000 } });
  clock.advance(24_999);
  assert.equal(wire.typesFrom(a.endpoint).length, 0);
  clock.advance(1);
  assert.deepEqual(wire.typesFrom(a.endpoint), [4]);
  wire.flush();
  clock.advance(25_000);
  assert.deepEqual(wire.typesFrom(a.endpoint), [4, 4]);
});

test('persistent keepalive: configuring it sends a keepalive at once, starting a handshake (as wireguard-go)', () => {
  const { clock, wire, a, b } = pair();
  a.peer.setPersistentKeepalive(10_000);
  assert.deepEqual(wire.typesFrom(a.endpoint), [1]);
  wire.flush();
  assert.deepEqual(wire.typesFrom(a.endpoint), [1, 4], 'the staged keepalive follows the handshake');
  assert.ok(b.peer.keypairInfo().current);
  a.peer.setPersistentKeepalive(20_000); // a change of interval sends nothing by itself
  assert.equal(wire.typesFrom(a.endpoint).length, 2);
  a.peer.setPersistentKeepalive(0);
  clock.advance(100_000);
  assert.equal(wire.typesFrom(a.endpoint).length, 2, 'off');
});

test('initiations are rate limited to one per REKEY_TIMEOUT', () => {
  const { clock, wire, a } = pair();
  wire.filter = () => false;
  a.peer.initiateHandshake();
  clock.advance(4_999);
  a.peer.initiateHandshake();
  assert.equal(count(wire.typesFrom(a.endpoint), 1), 1);
  clock.advance(1);
  assert.equal(count(wire.typesFrom(a.endpoint), 1), 2);
});

test('stop() leaves no timer behind', () => {
  const { clock, wire, a, b } = established({ peerA: { persistentKeepaliveMs: 25_000 } });
  a.peer.send(text('x'));
  wire.flush();
  assert.ok(clock.pending() > 0);
  wire.flush();
  a.host.stop();
  b.host.stop();
  assert.equal(clock.pending(), 0);
  assert.equal(a.host.sizes().indexTable, 0);
});
