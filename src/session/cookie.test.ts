import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../clock/index.ts';
import { PrivateKey } from '../crypto/index.ts';
import { decodeCookieReply, encodeInitiation, INITIATION_SIZE } from '../proto/handshake/index.ts';
import { CookieChecker, CookieGenerator } from './cookie.ts';
import { directEndpoint } from '../proto/link/index.ts';
import { LoadMeter } from './load.ts';
import { RateLimiter, sourceKey } from './ratelimiter.ts';
import { pair, text, unpad } from './testkit.ts';

function initiationLike(): Uint8Array {
  return encodeInitiation({
    senderIndex: 7,
    ephemeral: new Uint8Array(32).fill(1),
    encryptedStatic: new Uint8Array(48).fill(2),
    encryptedTimestamp: new Uint8Array(28).fill(3),
  });
}

test('under load: an initiation without mac2 gets a cookie reply; the retry with mac2 succeeds', () => {
  const { clock, wire, a, b } = pair({ jitter: 0 });
  b.host.forceUnderLoad(true);
  a.peer.send(text('through the cookie'));
  wire.flush();
  assert.deepEqual(wire.typesFrom(b.endpoint), [3], 'a cookie reply, no response');
  assert.equal(wire.sent.find((g) => g.d[0] === 3)!.d.length, 64);
  assert.equal(b.host.drops['cookie-sent'], 1);
  assert.ok(a.events.some((e) => e.type === 'cookie-received'));
  assert.equal(b.received.length, 0);
  clock.advance(5_000); // the retransmission carries mac2
  const retry = wire.sent.filter((g) => g.d[0] === 1)[1].d;
  assert.notDeepEqual(retry.subarray(132), new Uint8Array(16), 'mac2 set');
  assert.deepEqual(wire.typesFrom(b.endpoint), [3, 2], 'then the response');
  assert.deepEqual(
    b.received.map((r) => unpad(r.payload)),
    ['through the cookie'],
  );
  assert.equal(b.host.drops['cookie-sent'], 1);
});

test('not under load, mac2 is not needed; mac1 always is', () => {
  const { wire, a, b } = pair();
  const c = PrivateKey.generate();
  // An initiation for someone else (mac1 keyed with another public key) is refused before any DH.
  const stranger = a.host.addPeer(c.publicKey, { endpoint: b.endpoint });
  stranger.initiateHandshake();
  wire.flush();
  assert.equal(b.host.drops['bad-mac1'], 1);
  a.peer.send(text('ok'));
  wire.flush();
  assert.equal(b.received.length, 1);
});

test('the cookie secret rotates after 120 s: a cookie made under the old secret no longer passes', () => {
  const clock = new FakeClock();
  const responder = PrivateKey.generate();
  const checker = new CookieChecker(clock, responder.publicKey);
  const gen = new CookieGenerator(clock, responder.publicKey);
  const from = '192.0.2.1:1000';
  const m = initiationLike();
  gen.addMacs(m);
  assert.ok(checker.checkMac1(m));
  assert.equal(checker.checkMac2(m, from), false, 'no cookie yet');
  const reply = decodeCookieReply(checker.createReply(m, 7, from));
  assert.ok(reply.ok);
  clock.advance(1_000);
  assert.ok(gen.consumeReply(reply.msg));
  const m2 = initiationLike();
  gen.addMacs(m2);
  assert.ok(checker.checkMac2(m2, from), 'mac2 with the cookie passes');
  assert.equal(checker.checkMac2(m2, '192.0.2.2:1000'), false, 'the cookie is bound to the source');
  clock.advance(119_000); // 120 s after the secret was made; the generator's cookie is 119 s old
  const m3 = initiationLike();
  gen.addMacs(m3);
  assert.ok(checker.checkMac2(m3, from), 'still the same secret at 120 s');
  clock.advance(1);
  const m4 = initiationLike();
  gen.addMacs(m4);
  assert.ok(gen.hasCookie, 'the initiator still holds its cookie (119.001 s old)');
  assert.equal(checker.checkMac2(m4, from), false, 'but the secret has rotated out');
  // A new reply (under a new secret) makes mac2 valid again.
  const reply2 = decodeCookieReply(checker.createReply(m4, 7, from));
  assert.ok(reply2.ok && gen.consumeReply(reply2.msg));
  const m5 = initiationLike();
  gen.addMacs(m5);
  assert.ok(checker.checkMac2(m5, from));
  // The initiator stops using a cookie 120 s after it got it.
  clock.advance(120_001);
  const m6 = initiationLike();
  gen.addMacs(m6);
  assert.deepEqual(m6.subarray(INITIATION_SIZE - 16), new Uint8Array(16));
});

test('a cookie reply opens only for the message it answers', () => {
  const clock = new FakeClock();
  const responder = PrivateKey.generate();
  const checker = new CookieChecker(clock, responder.publicKey);
  const gen = new CookieGenerator(clock, responder.publicKey);
  const m = initiationLike();
  gen.addMacs(m);
  const other = initiationLike();
  other[4] = 99;
  new CookieGenerator(clock, responder.publicKey).addMacs(other);
  const forOther = decodeCookieReply(checker.createReply(other, 7, 'x:1'));
  assert.ok(forOther.ok);
  assert.equal(gen.consumeReply(forOther.msg), false, 'AD is the mac1 of our own last message');
  assert.equal(
    new CookieGenerator(clock, responder.publicKey).consumeReply(forOther.msg),
    false,
    'nothing sent yet',
  );
});

test('under load with a valid mac2: rate limited per source, 5 at once then 20 per second', () => {
  const { clock, wire, a, b } = pair({ jitter: 0 });
  b.host.forceUnderLoad(true);
  a.peer.initiateHandshake();
  wire.flush(); // cookie reply
  clock.advance(5_000); // retry with mac2: accepted (token 1 of 5)
  const retry = wire.sent.filter((g) => g.d[0] === 1)[1];
  assert.ok(a.peer.keypairInfo().current);
  for (let i = 0; i < 4; i++) b.host.receive(retry.d, retry.from); // tokens 2..5: replays, refused later
  assert.equal(b.host.drops['replayed-initiation'], 4);
  b.host.receive(retry.d, retry.from);
  assert.equal(b.host.drops['rate-limited'], 1);
  clock.advance(50); // one token back (1 s / 20)
  b.host.receive(retry.d, retry.from);
  assert.equal(b.host.drops['replayed-initiation'], 5);
  b.host.receive(retry.d, retry.from);
  assert.equal(b.host.drops['rate-limited'], 2);
  b.host.receive(retry.d, directEndpoint('10.0.0.1', 9999)); // the cookie is bound to the source address and port
  assert.equal(b.host.drops['cookie-sent'], 2);
});

test('load meter: more than the threshold of handshake messages in a second means under load, for a second more', () => {
  const clock = new FakeClock();
  const load = new LoadMeter(clock, 10);
  for (let i = 0; i < 10; i++) assert.equal(load.record(), false);
  assert.equal(load.record(), true, 'the 11th within the window');
  clock.advance(999);
  assert.equal(load.underLoad, true);
  clock.advance(1);
  assert.equal(load.underLoad, false, 'one second after the excess');
  load.force(true);
  assert.equal(load.underLoad, true);
  load.force(undefined);
  assert.equal(load.underLoad, false);
});

test('a host becomes under load by itself when flooded with handshake messages', () => {
  const { wire, a, b } = pair({ host: { underLoadPerSecond: 3 } });
  const init = (() => {
    a.peer.initiateHandshake();
    const g = wire.queue.shift()!;
    wire.queue.length = 0;
    return g;
  })();
  for (let i = 0; i < 3; i++) b.host.receive(init.d, init.from);
  assert.equal(b.host.underLoad, false);
  b.host.receive(init.d, init.from);
  assert.equal(b.host.underLoad, true);
  assert.equal(b.host.drops['cookie-sent'], 1);
});

test('rate limiter: source keys, refill, idle sweep and a bounded table', () => {
  assert.equal(sourceKey('198.18.0.1:51820'), '198.18.0.1');
  assert.equal(sourceKey('[::1]:4000'), '::1');
  assert.equal(sourceKey('relay:us-east'), 'relay:us-east');
  const clock = new FakeClock();
  const rl = new RateLimiter(clock, { maxEntries: 100 });
  for (let i = 0; i < 5; i++) assert.ok(rl.allow('1.1.1.1:1'));
  assert.equal(rl.allow('1.1.1.1:2'), false);
  clock.advance(49);
  assert.equal(rl.allow('1.1.1.1:1'), false);
  clock.advance(1);
  assert.ok(rl.allow('1.1.1.1:1'));
  for (let i = 0; i < 1000; i++) rl.allow(`10.0.${i >> 8}.${i & 255}:1`);
  assert.equal(rl.size, 100, 'bounded');
  assert.equal(rl.allow('9.9.9.9:1'), false, 'a new source at a full table is refused');
  clock.advance(1_001);
  assert.ok(rl.allow('9.9.9.9:1'), 'idle sources were swept');
  assert.equal(rl.size, 1);
});
