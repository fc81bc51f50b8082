// Device login's unauthenticated start cannot be abused: a start must prove possession of the
// node key (a MAC over a fresh coordinator challenge, keyed by X25519 with the coordinator's
// channel key), and a flood of starts from one address cannot block another address's login.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startFixture, newKey, type Fixture } from './fixture.ts';
import { PublicKey, type PrivateKey } from '../../src/crypto/index.ts';
import { CHALLENGE_TTL_MS, deviceStartBody } from '../../src/control/index.ts';

let f: Fixture;
before(async () => {
  f = await startFixture();
});
after(async () => f?.stop());

const coordKey = () => PublicKey.fromBase64(f.coord.publicKey);
async function challenge(from = '127.0.0.1'): Promise<string> {
  const r = await f.coord.app.inject({ method: 'GET', url: '/api/v1/device/challenge', remoteAddress: from });
  assert.equal(r.statusCode, 200, r.body);
  return (JSON.parse(r.body) as { challenge: string }).challenge;
}
async function start(body: unknown, from = '127.0.0.1') {
  const r = await f.coord.app.inject({
    method: 'POST',
    url: '/api/v1/device/start',
    payload: body as Record<string, unknown>,
    remoteAddress: from,
  });
  return { status: r.statusCode, code: (JSON.parse(r.body) as { error?: { code: string } }).error?.code, r };
}
const signed = async (key: PrivateKey, name: string, from = '127.0.0.1') =>
  deviceStartBody(key, coordKey(), await challenge(from), name);

test('a start without a valid proof of the node key is refused, and nothing is stored', async () => {
  const victim = newKey();
  const mallory = newKey();
  const before = await f.coord.store.counts();
  // no proof at all (the old body)
  assert.equal((await start({ nodeKey: victim.publicKey.base64(), name: 'x' })).status, 400);
  // a proof made with another key, claimed for the victim's key
  const forged = { ...(await signed(mallory, 'x')), nodeKey: victim.publicKey.base64() };
  assert.deepEqual([(await start(forged)).status, (await start(forged)).code], [401, 'PROOF']);
  // a proof keyed for another coordinator
  const elsewhere = deviceStartBody(victim, newKey().publicKey, await challenge(), 'x');
  assert.equal((await start(elsewhere)).code, 'PROOF');
  // the name changed after the proof was made
  assert.equal((await start({ ...(await signed(victim, 'x')), name: 'y' })).code, 'PROOF');
  // a challenge the coordinator did not make
  const made = deviceStartBody(victim, coordKey(), Buffer.alloc(40, 7).toString('base64url'), 'x');
  assert.equal((await start(made)).code, 'CHALLENGE');
  // an expired challenge
  const old = await signed(victim, 'x');
  f.clock.advance(CHALLENGE_TTL_MS + 1);
  assert.equal((await start(old)).code, 'CHALLENGE');
  assert.deepEqual(await f.coord.store.counts(), before, 'nothing stored');
  // the real thing works once; the same challenge a second time is refused
  const good = await signed(victim, 'x');
  assert.equal((await start(good)).status, 200);
  assert.equal((await start(good)).code, 'CHALLENGE');
});

test("a flood of starts from one address cannot block another address's device login", async () => {
  const flooder = '203.0.113.7';
  let refused = 0;
  let first429: Awaited<ReturnType<typeof start>> | undefined;
  for (let i = 0; i < 1100; i++) {
    const r = await start(await signed(newKey(), `flood${i}`, flooder), flooder);
    if (r.status === 429) {
      refused++;
      first429 ??= r;
    } else assert.equal(r.status, 200);
  }
  assert.ok(refused > 1000, `${refused} of 1100 refused`);
  assert.equal(first429!.code, 'RATE_LIMITED');
  assert.ok(Number(first429!.r.headers['retry-after']) > 0, 'Retry-After');
  // Another address (here an IPv6 one; its /64 is one source) starts as usual.
  const other = '2001:db8:1:2::5';
  const r = await start(await signed(newKey(), 'alice-mbp', other), other);
  assert.equal(r.status, 200, r.r.body);
  // The flooder's other addresses in the same IPv6 /64 count as one source.
  for (let i = 0; i < 20; i++)
    await start(await signed(newKey(), `v6-${i}`, `2001:db8:1:2::${i + 100}`), `2001:db8:1:2::${i + 100}`);
  assert.equal(
    (await start(await signed(newKey(), 'v6-x', '2001:db8:1:2:ffff::1'), '2001:db8:1:2:ffff::1')).code,
    'RATE_LIMITED',
  );
});
