// A node revoked, or its user disabled, while the node is offline: the peers that list it lose it
// at once. (Before, the previous peers were read from the revoked node's own session, which an
// offline node does not have, so its peers kept it until some other change reached them.)
import { test, after, before } from 'node:test';
import { startFixture, netmapWhere, newKey, type Fixture } from './fixture.ts';
import { routes } from '../../src/control/index.ts';

let f: Fixture;
before(async () => {
  f = await startFixture();
  await f.admin.route(routes.deploymentsCreate, {
    body: { name: 'acme-prod', region: 'us-east-1', cloud: 'aws' },
  });
});
after(() => f.stop());

async function setup(user: string) {
  await f.admin.route(routes.usersCreate, { body: { name: user, password: 'long password' } });
  const ck = await f.admin.route(routes.preauthKeysCreate, {
    body: {
      deployment: 'acme-prod',
      reusable: true,
    },
  });
  const ek = await f.admin.route(routes.preauthKeysCreate, { body: { user } });
  const connKey = newKey();
  const conn = await f.connect(connKey, {
    version: 1,
    kind: 'connector',
    name: `conn-${user}`,
    preauthKey: ck.key,
    services: [{ name: `svc-${user}`, kind: 'tcp', address: '10.0.0.1:1' }],
  });
  const engKey = newKey();
  const eng = await f.connect(engKey, {
    version: 1,
    kind: 'engineer',
    name: `eng-${user}`,
    preauthKey: ek.key,
  });
  await f.admin.route(routes.grantsCreate, {
    body: {
      subject: { type: 'user', name: user },
      deployment: 'acme-prod',
      services: [`svc-${user}`],
    },
  });
  const engPub = engKey.publicKey.base64();
  await netmapWhere(conn, (m) => m.peers.some((p) => p.key === engPub));
  // The engineer goes offline; the connector still lists it.
  eng.close();
  await new Promise((r) => setTimeout(r, 200));
  await netmapWhere(conn, (m) => m.peers.some((p) => p.key === engPub));
  return { conn, engPub };
}

test('a node revoked while offline leaves its peers at once', async () => {
  const { conn, engPub } = await setup('dora');
  await f.admin.route(routes.nodesRevoke, { body: { key: engPub } });
  await netmapWhere(conn, (m) => !m.peers.some((p) => p.key === engPub), 1000);
});

test('a user disabled while their node is offline: the node leaves its peers at once', async () => {
  const { conn, engPub } = await setup('emil');
  await f.admin.route(routes.usersDisable, { params: { name: 'emil' } });
  await netmapWhere(conn, (m) => !m.peers.some((p) => p.key === engPub), 1000);
});
