// The coordinator on PostgreSQL (--db postgres://…): enrollment, grants and netmaps work the same,
// and a restart against the same database keeps every node.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startFixture, newKey, netmapWhere } from './fixture.ts';
import { needs } from '../../src/testing/require.ts';
import { postgresMissing, startPostgres } from '../../src/testing/postgres.ts';
import { routes } from '../../src/control/index.ts';

test('coordinator on PostgreSQL', { timeout: 60_000 }, async (t) => {
  if (!needs(t, postgresMissing())) return;
  const pg = await startPostgres();
  try {
    const f = await startFixture({ db: pg.url });
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
          services: [],
        },
      });
      const ck = newKey();
      const c = await f.connect(ck, {
        version: 1,
        kind: 'connector',
        name: 'c1',
        preauthKey: (await a.route(routes.preauthKeysCreate, { body: { deployment: 'acme-prod' } })).key,
        services: [{ name: 'k8s', kind: 'kubernetes', address: '10.0.0.1:6443' }],
      });
      const e = await f.connect(newKey(), {
        version: 1,
        kind: 'engineer',
        name: 'bob-pc',
        preauthKey: (await a.route(routes.preauthKeysCreate, { body: { user: 'bob' } })).key,
      });
      await netmapWhere(c, (m) => m.peers.length === 1);
      const m = await netmapWhere(e, (x) => x.peers.length === 1);
      assert.equal(m.services[0].tailnetName, 'k8s.acme-prod.us-east-1.aws.byoc.example.com');
      const before = await f.coord.store.counts();
      assert.equal(
        (await a.routeRaw(routes.deploymentsCreate, { body: { name: 'acme-prod', region: 'x', cloud: 'y' } }))
          .status,
        409,
      );
      assert.deepEqual(await f.coord.store.counts(), before);
      await f.restart();
      const c2 = await f.connect(ck, { version: 1, kind: 'connector', name: 'c1' });
      assert.equal(c2.welcome.nodeId, c.welcome.nodeId);
      await netmapWhere(c2, (x) => x.peers.length === 1);
    } finally {
      await f.stop();
    }
  } finally {
    await pg.stop();
  }
});
