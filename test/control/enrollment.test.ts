// Enrollment over the agent channel: pre-auth keys (single-use, reusable, expiring, bound to a
// deployment or a user), device login, refusals, and malformed channel input.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocket } from 'ws';
import { startFixture, newKey, netmapWhere, sleep, ADMIN, type Fixture } from './fixture.ts';
import { ChannelRefusedError, ControlClient, deviceStartBody, routes } from '../../src/control/index.ts';
import { PublicKey } from '../../src/crypto/index.ts';

async function refusal(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof ChannelRefusedError, String(e));
    return e.refusal;
  }
  assert.fail('expected a refusal');
}

describe('enrollment', () => {
  let f: Fixture;
  const key = async (body: Record<string, unknown>) =>
    (await f.admin.route(routes.preauthKeysCreate, { body })).key;
  before(async () => {
    f = await startFixture();
    await f.admin.route(routes.deploymentsCreate, {
      body: {
        name: 'acme-prod',
        region: 'us-east-1',
        cloud: 'aws',
      },
    });
    await f.admin.route(routes.deploymentsCreate, {
      body: { name: 'globex', region: 'eu-west-1', cloud: 'gcp' },
    });
    await f.admin.route(routes.usersCreate, { body: { name: 'bob', password: 'battery staple' } });
  });
  after(() => f.stop());

  test('a single-use key enrolls once and is refused the second time', async () => {
    const k = await key({ deployment: 'acme-prod' });
    const c = await f.connect(newKey(), { version: 1, kind: 'connector', name: 'c1', preauthKey: k });
    assert.equal(c.welcome.kind, 'connector');
    const before = await f.coord.store.counts();
    assert.equal(
      await refusal(f.connect(newKey(), { version: 1, kind: 'connector', name: 'c2', preauthKey: k })),
      'PREAUTH_USED',
    );
    assert.deepEqual(await f.coord.store.counts(), before);
  });

  test('a reusable key enrolls many; an expired key is refused', async () => {
    const k = await key({ deployment: 'globex', reusable: true, expiresInSeconds: 60 });
    await f.connect(newKey(), { version: 1, kind: 'connector', name: 'g1', preauthKey: k });
    await f.connect(newKey(), { version: 1, kind: 'connector', name: 'g2', preauthKey: k });
    f.clock.advance(60_001);
    assert.equal(
      await refusal(f.connect(newKey(), { version: 1, kind: 'connector', name: 'g3', preauthKey: k })),
      'PREAUTH_EXPIRED',
    );
  });

  test('a key bound to a deployment enrolls a connector there; a user key enrolls an engineer', async () => {
    const k = await key({ deployment: 'globex' });
    const c = await f.connect(newKey(), { version: 1, kind: 'connector', name: 'g4', preauthKey: k });
    const m = await netmapWhere(c, () => true);
    assert.equal(m.self.deployment, 'globex');
    assert.equal(m.self.kind, 'connector');
    const nodes = await f.admin.route(routes.nodesList);
    assert.deepEqual(
      nodes.filter((n) => n.name === 'g4').map((n) => [n.deployment, n.user, n.online]),
      [['globex', null, true]],
    );
    const u = await key({ user: 'bob' });
    assert.equal(
      await refusal(f.connect(newKey(), { version: 1, kind: 'connector', name: 'x', preauthKey: u })),
      'WRONG_KIND',
    );
    const e = await f.connect(newKey(), { version: 1, kind: 'engineer', name: 'bob-laptop', preauthKey: u });
    const em = await netmapWhere(e, () => true);
    assert.equal(em.self.user, 'bob');
    assert.equal(em.self.expiresAt - e.welcome.serverTime, 7 * 86_400_000);
  });

  test('unknown keys, bad pre-auth keys, revoked keys', async () => {
    assert.equal(
      await refusal(f.connect(newKey(), { version: 1, kind: 'engineer', name: 'x' })),
      'UNKNOWN_NODE',
    );
    assert.equal(
      await refusal(
        f.connect(newKey(), { version: 1, kind: 'engineer', name: 'x', preauthKey: 'sppk_wrong' }),
      ),
      'PREAUTH_INVALID',
    );
    const nk = newKey();
    const k = await key({ deployment: 'acme-prod' });
    const c = await f.connect(nk, { version: 1, kind: 'connector', name: 'rev', preauthKey: k });
    const closed = new Promise((r) => c.once('close', r));
    await f.admin.route(routes.nodesRevoke, { body: { key: nk.publicKey.base64() } });
    await closed;
    assert.equal(
      await refusal(f.connect(nk, { version: 1, kind: 'connector', name: 'rev' })),
      'NODE_REVOKED',
    );
  });

  test('node key expiry: the channel closes, peers drop it, and the key is refused afterwards', async () => {
    await f.admin.route(routes.deploymentsCreate, {
      body: { name: 'expiry', region: 'us-east-2', cloud: 'aws' },
    });
    await f.admin.route(routes.usersCreate, { body: { name: 'dave', password: 'long password' } });
    await f.admin.route(routes.grantsCreate, {
      body: {
        subject: { type: 'user', name: 'dave' },
        deployment: 'expiry',
        services: [],
      },
    });
    const c = await f.connect(newKey(), {
      version: 1,
      kind: 'connector',
      name: 'x1',
      preauthKey: await key({ deployment: 'expiry' }),
      services: [{ name: 'web', kind: 'http', address: '10.0.0.9:80' }],
    });
    const ek = newKey();
    const e = await f.connect(ek, {
      version: 1,
      kind: 'engineer',
      name: 'dave-pc',
      preauthKey: await key({ user: 'dave' }),
    });
    await netmapWhere(c, (m) => m.peers.length === 1);
    const closed = new Promise((r) => e.once('close', r));
    f.clock.advance(7 * 86_400_000 + 1);
    await closed;
    await netmapWhere(c, (m) => m.peers.length === 0);
    assert.equal(
      await refusal(f.connect(ek, { version: 1, kind: 'engineer', name: 'dave-pc' })),
      'NODE_EXPIRED',
    );
    // bearer tokens expire too (12 h): the admin signs in again
    assert.equal((await f.admin.routeRaw(routes.deploymentsList, {})).status, 401);
    f.admin = await f.anon.login(ADMIN.name, ADMIN.password);
  });

  test('device login: start, approve by a signed-in user, poll, then the node connects', async () => {
    const nk = newKey();
    const { challenge } = await f.anon.route(routes.deviceChallenge);
    const start = await f.anon.route(routes.deviceStart, {
      body: deviceStartBody(nk, PublicKey.fromBase64(f.coord.publicKey), challenge, 'bob-mac'),
    });
    assert.equal(
      (await f.anon.route(routes.devicePoll, { body: { deviceCode: start.deviceCode } })).status,
      'pending',
    );
    assert.equal(
      (await f.anon.routeRaw(routes.deviceApprove, { body: { userCode: start.userCode } })).status,
      401,
    );
    const bob = await f.anon.login('bob', 'battery staple');
    await bob.route(routes.deviceApprove, { body: { userCode: start.userCode.toLowerCase() } });
    const p = await f.anon.route(routes.devicePoll, { body: { deviceCode: start.deviceCode } });
    assert.equal(p.status, 'approved');
    assert.equal(p.node!.user, 'bob');
    const c = await f.connect(nk, { version: 1, kind: 'engineer', name: 'bob-mac' });
    assert.equal(c.welcome.name, 'bob-mac');
  });

  test('a wrong pinned coordinator key, junk handshakes and malformed messages close only that channel, counted', async () => {
    const k = await key({ deployment: 'acme-prod', reusable: true });
    const good = await f.connect(newKey(), { version: 1, kind: 'connector', name: 'steady', preauthKey: k });
    await netmapWhere(good, () => true);
    // wrong pinned key: the coordinator cannot read message 1 and drops the channel
    await assert.rejects(
      ControlClient.connect({
        url: f.coord.url,
        coordinatorKey: newKey().publicKey,
        nodeKey: newKey(),
        hello: { version: 1, kind: 'engineer', name: 'x' },
        ca: f.coord.tls.cert,
      }),
      /closed/,
    );
    // junk first message, and a text message
    for (const payload of [Buffer.from('junk'), 'text']) {
      const ws = new WebSocket(`${f.coord.url.replace('https', 'wss')}/agent/v1`, { ca: f.coord.tls.cert });
      await new Promise((r) => ws.once('open', r));
      ws.send(payload);
      await new Promise((r) => ws.once('close', r));
    }
    // a malformed hello (authenticated, bad JSON schema) is refused with BAD_HELLO
    assert.equal(
      await refusal(f.connect(newKey(), { version: 1, kind: 'connector', name: 'has space' } as never)),
      'BAD_HELLO',
    );
    // after admission: garbage bytes, a replayed message, and well-sealed junk JSON
    const bad = await f.connect(newKey(), { version: 1, kind: 'connector', name: 'bad1', preauthKey: k });
    let closed = new Promise((r) => bad.once('close', r));
    bad.sendRaw(new Uint8Array(40));
    await closed;
    const bad2 = await f.connect(newKey(), { version: 1, kind: 'connector', name: 'bad2', preauthKey: k });
    closed = new Promise((r) => bad2.once('close', r));
    bad2.sendRaw(bad2.sealRaw(new TextEncoder().encode('{"type":"nope"}')));
    await closed;
    // the steady client is unaffected and still answers
    const pong = new Promise((r) => good.once('message', r));
    good.send({ type: 'ping', id: 7 });
    assert.deepEqual(await pong, { type: 'pong', id: 7 });
    assert.ok(good.open);
    const metrics = await f.metricsText();
    for (const reason of ['bad-handshake', 'text-message', 'control_bad_auth', 'control_bad_message'])
      assert.match(
        metrics,
        new RegExp(`sallyport_coordinator_channel_drops_total\\{reason="${reason}"\\} [1-9]`),
        reason,
      );
    assert.match(metrics, /sallyport_coordinator_channel_refusals_total\{reason="BAD_HELLO"\} 1/);
    await sleep(10);
    void PublicKey;
  });
});
