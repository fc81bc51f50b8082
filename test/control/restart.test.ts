// Coordinator restarted (the coordinator's side): the same data directory gives the same keys and
// listener certificate, the server accepts the same node keys again without a pre-auth key, and
// sends each reconnecting node a full netmap with the same content.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startFixture, newKey, netmapWhere } from './fixture.ts';
import { ChannelRefusedError, routes } from '../../src/control/index.ts';

test('after a restart the same node keys reconnect and get a full netmap again', async () => {
  const f = await startFixture();
  try {
    const a = f.admin;
    await a.route(routes.deploymentsCreate, {
      body: { name: 'acme-prod', region: 'us-east-1', cloud: 'aws' },
    });
    await a.route(routes.usersCreate, { body: { name: 'bob', password: 'long password' } });
    await a.route(routes.grantsCreate, {
      body: {
        subject: { type: 'user', name: 'bob' },
        deployment: 'acme-prod',
        services: ['k8s'],
      },
    });
    const ck = newKey();
    const ek = newKey();
    const cKey = (await a.route(routes.preauthKeysCreate, { body: { deployment: 'acme-prod' } })).key;
    const eKey = (await a.route(routes.preauthKeysCreate, { body: { user: 'bob' } })).key;
    const services = [{ name: 'k8s', kind: 'kubernetes' as const, address: '10.0.0.1:6443' }];
    const c = await f.connect(ck, { version: 1, kind: 'connector', name: 'c1', preauthKey: cKey, services });
    const e = await f.connect(ek, { version: 1, kind: 'engineer', name: 'bob-laptop', preauthKey: eKey });
    const before = await netmapWhere(e, (m) => m.peers.length === 1);
    await netmapWhere(c, (m) => m.peers.length === 1);
    const pub = f.coord.publicKey;
    const fp = f.coord.tls.fingerprint;
    const closed = Promise.all([
      new Promise((r) => c.once('close', r)),
      new Promise((r) => e.once('close', r)),
    ]);

    await f.restart();
    await closed;
    assert.equal(f.coord.publicKey, pub, 'same static key after restart');
    assert.equal(f.coord.tls.fingerprint, fp, 'same listener certificate after restart');

    // Reconnect with the same keys; the single-use pre-auth keys are spent, and not needed.
    const c2 = await f.connect(ck, { version: 1, kind: 'connector', name: 'c1', services });
    const e2 = await f.connect(ek, { version: 1, kind: 'engineer', name: 'bob-laptop' });
    assert.equal(c2.welcome.nodeId, c.welcome.nodeId);
    assert.equal(e2.welcome.nodeId, e.welcome.nodeId);
    const after = await netmapWhere(e2, (m) => m.peers.length === 1);
    assert.equal(e2.version, 1, 'a full netmap first');
    assert.deepEqual({ ...after, serverTime: 0, relays: [] }, { ...before, serverTime: 0, relays: [] });
    await netmapWhere(c2, (m) => m.peers.length === 1 && m.peers[0].key === ek.publicKey.base64());
    // and a stranger's key is still refused
    await assert.rejects(
      f.connect(newKey(), { version: 1, kind: 'engineer', name: 'x' }),
      (err: unknown) => err instanceof ChannelRefusedError && err.refusal === 'UNKNOWN_NODE',
    );
  } finally {
    await f.stop();
  }
});
