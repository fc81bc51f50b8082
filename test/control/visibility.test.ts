// Netmap contents per node end to end (I3): visibility follows standing grants, a connector sees
// only engineers with grants on its services, and deltas reach only the nodes a change concerns.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startFixture, newKey, netmapWhere, countUpdates, sleep, type Fixture } from './fixture.ts';
import { routes, type ControlClient } from '../../src/control/index.ts';
import { PublicKey, VerifyKey } from '../../src/crypto/index.ts';
import { verifyRelayToken } from '../../src/proto/relay/index.ts';

describe('netmap visibility by grants', () => {
  let f: Fixture;
  let c1: ControlClient; // acme-prod connector: k8s, ch
  let c2: ControlClient; // globex connector: k8s
  let e1: ControlClient; // bob (group oncall)
  let e2: ControlClient; // carol (no group)
  const keyOf = (c: ControlClient) => c.netmap!.self.key;
  const peers = (c: ControlClient) => c.netmap!.peers.map((p) => p.key);

  before(async () => {
    f = await startFixture();
    const a = f.admin;
    await a.route(routes.deploymentsCreate, {
      body: { name: 'acme-prod', region: 'us-east-1', cloud: 'aws' },
    });
    await a.route(routes.deploymentsCreate, { body: { name: 'globex', region: 'eu-west-1', cloud: 'gcp' } });
    for (const u of ['bob', 'carol'])
      await a.route(routes.usersCreate, { body: { name: u, password: 'long password' } });
    await a.route(routes.groupsCreate, { body: { name: 'oncall' } });
    await a.route(routes.groupMembersAdd, { params: { name: 'oncall', user: 'bob' } });
    const pk = async (b: object) => (await a.route(routes.preauthKeysCreate, { body: b })).key;
    c1 = await f.connect(newKey(), {
      version: 1,
      kind: 'connector',
      name: 'c1',
      preauthKey: await pk({ deployment: 'acme-prod' }),
      services: [
        { name: 'k8s', kind: 'kubernetes', address: '10.0.0.1:6443' },
        { name: 'ch', kind: 'clickhouse', address: '10.0.0.2:8443', tlsMode: 'passthrough' },
      ],
    });
    c2 = await f.connect(newKey(), {
      version: 1,
      kind: 'connector',
      name: 'c2',
      preauthKey: await pk({ deployment: 'globex' }),
      services: [{ name: 'k8s', kind: 'kubernetes', address: '10.9.0.1:6443' }],
    });
    e1 = await f.connect(newKey(), {
      version: 1,
      kind: 'engineer',
      name: 'bob-laptop',
      preauthKey: await pk({ user: 'bob' }),
    });
    e2 = await f.connect(newKey(), {
      version: 1,
      kind: 'engineer',
      name: 'carol-laptop',
      preauthKey: await pk({ user: 'carol' }),
    });
    for (const c of [c1, c2, e1, e2]) await netmapWhere(c, () => true);
  });
  after(() => f.stop());

  test('without grants nobody sees anybody', () => {
    for (const c of [c1, c2, e1, e2]) assert.deepEqual(peers(c), []);
    assert.deepEqual(e1.netmap!.services, []);
    assert.deepEqual(
      c1.netmap!.services.map((s) => s.tailnetName),
      ['ch.acme-prod.us-east-1.aws.byoc.example.com', 'k8s.acme-prod.us-east-1.aws.byoc.example.com'],
    );
  });

  test('relay map with coordinator-signed tokens for this node', async () => {
    const info = await f.anon.route(routes.info);
    const r = e1.netmap!.relays[0];
    assert.equal(r.region, 'eu');
    assert.equal(r.stunPort, 3478);
    const v = verifyRelayToken(Buffer.from(r.token, 'base64'), {
      trusted: [VerifyKey.fromBase64(info.signingKey)],
      nowMs: f.clock.wallMs(),
      nodeKey: PublicKey.fromBase64(keyOf(e1)),
      region: 'eu',
    });
    assert.ok(v.ok, JSON.stringify(v));
    assert.equal(r.tokenExpiresAt - e1.netmap!.serverTime, 3600_000);
    const other = verifyRelayToken(Buffer.from(r.token, 'base64'), {
      trusted: [VerifyKey.fromBase64(info.signingKey)],
      nowMs: f.clock.wallMs(),
      nodeKey: PublicKey.fromBase64(keyOf(e2)),
    });
    assert.deepEqual(other, { ok: false, code: 'TOKEN_WRONG_NODE' });
  });

  let grantId = '';
  test('a group grant on one service: both sides see each other, the others get no update', async () => {
    const n2 = countUpdates(c2);
    const ne2 = countUpdates(e2);
    const computed = f.coord.hub.computations;
    const g = await f.admin.route(routes.grantsCreate, {
      body: {
        subject: { type: 'group', name: 'oncall' },
        deployment: 'acme-prod',
        services: ['k8s'],
      },
    });
    grantId = g.id;
    const em = await netmapWhere(e1, (m) => m.peers.length === 1);
    assert.equal(em.peers[0].key, keyOf(c1));
    assert.equal(em.peers[0].deployment, 'acme-prod');
    assert.deepEqual(
      em.services.map((s) => [s.tailnetName, s.connectorKey, s.address]),
      [['k8s.acme-prod.us-east-1.aws.byoc.example.com', keyOf(c1), undefined]],
    );
    assert.deepEqual(
      em.grants.map((x) => [x.id, x.peerKey, x.services]),
      [[g.id, keyOf(c1), ['k8s']]],
    );
    const cm = await netmapWhere(c1, (m) => m.peers.length === 1);
    assert.equal(cm.peers[0].key, keyOf(e1));
    assert.equal(cm.peers[0].user, 'bob');
    assert.deepEqual(
      cm.grants.map((x) => [x.id, x.peerKey, x.user, x.services, x.notAfter]),
      [[g.id, keyOf(e1), 'bob', ['k8s'], null]],
    );
    await sleep(100);
    assert.equal(n2.n, 0, 'globex connector got an update');
    assert.equal(ne2.n, 0, 'carol got an update');
    assert.deepEqual(peers(e2), []);
    assert.deepEqual(peers(c2), []);
    assert.equal(f.coord.hub.computations - computed, 2, 'only e1 and c1 are recomputed');
  });

  test('endpoints an engineer reports reach the connector that sees it, and nobody else', async () => {
    const n2 = countUpdates(c2);
    const ne2 = countUpdates(e2);
    const computed = f.coord.hub.computations;
    e1.send({ type: 'endpoints', endpoints: ['192.0.2.7:41641'], homeRelay: 'eu' });
    const cm = await netmapWhere(c1, (m) => m.peers[0]?.endpoints[0] === '192.0.2.7:41641');
    assert.equal(cm.peers[0].homeRelay, 'eu');
    await sleep(100);
    assert.equal(n2.n + ne2.n, 0);
    assert.equal(f.coord.hub.computations - computed, 2, 'only e1 and its peer c1 are recomputed');
  });

  test('a user grant on the other service adds carol to c1 only', async () => {
    const n2 = countUpdates(c2);
    const ne1 = countUpdates(e1);
    await f.admin.route(routes.grantsCreate, {
      body: {
        subject: { type: 'user', name: 'carol' },
        deployment: 'acme-prod',
        services: ['ch'],
        expiresInSeconds: 600,
      },
    });
    const em = await netmapWhere(e2, (m) => m.peers.length === 1);
    assert.deepEqual(
      em.services.map((s) => [s.name, s.tlsMode]),
      // registered as passthrough, but a clickhouse service is always terminated (fail closed)
      [['ch', 'terminate']],
    );
    const cm = await netmapWhere(c1, (m) => m.peers.length === 2);
    assert.deepEqual(new Set(cm.peers.map((p) => p.user)), new Set(['bob', 'carol']));
    await sleep(100);
    assert.equal(n2.n, 0);
    assert.equal(ne1.n, 0, 'bob saw a change that does not concern him');
  });

  test('the user grant expires on time: both sides lose each other', async () => {
    f.clock.advance(600_001);
    await netmapWhere(e2, (m) => m.peers.length === 0);
    await netmapWhere(c1, (m) => m.peers.length === 1 && m.peers[0].key === keyOf(e1));
  });

  test('leaving the group removes the visibility; a revoked grant too', async () => {
    await f.admin.route(routes.groupMembersRemove, { params: { name: 'oncall', user: 'bob' } });
    await netmapWhere(e1, (m) => m.peers.length === 0 && m.services.length === 0);
    await netmapWhere(c1, (m) => m.peers.length === 0 && m.grants.length === 0);
    await f.admin.route(routes.groupMembersAdd, { params: { name: 'oncall', user: 'bob' } });
    await netmapWhere(c1, (m) => m.peers.length === 1);
    await f.admin.route(routes.grantsRevoke, { params: { id: grantId } });
    await netmapWhere(c1, (m) => m.peers.length === 0);
    await netmapWhere(e1, (m) => m.peers.length === 0);
  });

  test('a grant on a node key and on all services (empty list)', async () => {
    await f.admin.route(routes.grantsCreate, {
      body: {
        subject: { type: 'node', name: keyOf(e2) },
        deployment: 'globex',
        services: [],
      },
    });
    const em = await netmapWhere(e2, (m) => m.peers.length === 1);
    assert.equal(em.peers[0].key, keyOf(c2));
    await netmapWhere(c2, (m) => m.peers.length === 1 && m.peers[0].key === keyOf(e2));
  });

  test('relay tokens are refreshed before they expire', async () => {
    const before = e1.netmap!.relays[0].tokenExpiresAt;
    f.clock.advance(46 * 60_000);
    const m = await netmapWhere(e1, (x) => x.relays[0].tokenExpiresAt > before);
    assert.ok(m.relays[0].tokenExpiresAt - f.clock.wallMs() > 50 * 60_000);
  });
});
