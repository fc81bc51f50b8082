// A connector cannot take over a service that another live connector of its deployment serves:
// the registration is refused, audited (service.takeover_refused) and reported back to the
// connector; the service becomes free when its connector's key is revoked or expires, or when an
// administrator binds it to another connector (audited service.bind).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startFixture, newKey, netmapWhere, ADMIN, type Fixture } from './fixture.ts';
import { routes, type ControlClient } from '../../src/control/index.ts';
import type { ServerMessage, ServiceRegistration } from '../../src/proto/control/index.ts';
import type { PrivateKey } from '../../src/crypto/index.ts';

const K8S: ServiceRegistration = { name: 'k8s', kind: 'kubernetes', address: '10.0.0.3:6443' };
const EVIL: ServiceRegistration = { name: 'k8s', kind: 'kubernetes', address: '10.9.9.9:6443' };

/** The next error message the client receives. */
function nextError(c: ControlClient, ms = 5000): Promise<Extract<ServerMessage, { type: 'error' }>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      c.off('message', on);
      reject(new Error(`no error message in ${ms} ms`));
    }, ms);
    const on = (m: ServerMessage) => {
      if (m.type !== 'error') return;
      clearTimeout(timer);
      c.off('message', on);
      resolve(m);
    };
    c.on('message', on);
  });
}

describe('service takeover between connectors of one deployment', () => {
  let f: Fixture;
  let preauth: string;
  const services = () => f.admin.route(routes.servicesList, { query: { deployment: 'acme-prod' } });
  const audit = async (action: string) =>
    (await f.admin.route(routes.auditList, { query: { limit: 10000 } })).filter((r) => r.action === action);
  const connector = (key: PrivateKey, name: string, svcs: ServiceRegistration[]) =>
    f.connect(key, { version: 1, kind: 'connector', name, preauthKey: preauth, services: svcs });

  before(async () => {
    f = await startFixture();
    await f.admin.route(routes.deploymentsCreate, {
      body: {
        name: 'acme-prod',
        region: 'us-east-1',
        cloud: 'aws',
      },
    });
    preauth = (
      await f.admin.route(routes.preauthKeysCreate, {
        body: {
          deployment: 'acme-prod',
          reusable: true,
        },
      })
    ).key;
  });
  after(() => f.stop());

  test('B cannot take a live A service, by hello or by a services message; A keeps it', async () => {
    const aKey = newKey();
    const a = await connector(aKey, 'conn-a', [K8S]);
    await netmapWhere(a, (m) => m.services.some((s) => s.name === 'k8s'));
    const bKey = newKey();
    const b = await connector(bKey, 'conn-b', [EVIL]);
    await netmapWhere(b, () => true);
    let svc = (await services()).find((s) => s.name === 'k8s')!;
    assert.equal(svc.connectorKey, aKey.publicKey.base64(), 'hello registration must not rebind');
    assert.equal(svc.address, K8S.address);

    const err = nextError(b);
    b.send({ type: 'services', services: [EVIL] });
    const e = await err;
    assert.equal(e.code, 'SERVICE_TAKEN');
    assert.match(e.message, /k8s/);
    svc = (await services()).find((s) => s.name === 'k8s')!;
    assert.equal(svc.connectorKey, aKey.publicKey.base64());
    assert.equal(svc.address, K8S.address);
    const refused = await audit('service.takeover_refused');
    assert.equal(refused.length, 2, 'hello and services message each audited');
    assert.equal(refused[0].subject, 'service:acme-prod/k8s');
    assert.equal(refused[0].details.holder, aKey.publicKey.base64());
    // B's netmap does not carry the service as its own.
    assert.ok(
      !b.netmap!.services.some((s) => s.name === 'k8s' && s.connectorKey === bKey.publicKey.base64()),
    );
    // A re-registering (e.g. after a restart) keeps it.
    a.send({ type: 'services', services: [K8S] });
    await netmapWhere(a, (m) => m.services.some((s) => s.name === 'k8s'));
    assert.equal((await services()).find((s) => s.name === 'k8s')!.connectorKey, aKey.publicKey.base64());
    a.close();
    b.close();
  });

  test('once A is revoked the service is free and B takes it', async () => {
    const aKey = newKey();
    const a = await connector(aKey, 'conn-a2', [{ ...K8S, name: 'ch', kind: 'clickhouse' }]);
    await netmapWhere(a, (m) => m.services.some((s) => s.name === 'ch'));
    const bKey = newKey();
    const b = await connector(bKey, 'conn-b2', []);
    await netmapWhere(b, () => true);
    await f.admin.route(routes.nodesRevoke, { body: { key: aKey.publicKey.base64() } });
    b.send({ type: 'services', services: [{ ...EVIL, name: 'ch', kind: 'clickhouse' }] });
    await netmapWhere(b, (m) =>
      m.services.some((s) => s.name === 'ch' && s.connectorKey === bKey.publicKey.base64()),
    );
    b.close();
  });

  test('an administrator binds a service to another connector, audited', async () => {
    const aKey = newKey();
    const a = await connector(aKey, 'conn-a3', [{ ...K8S, name: 'prom', kind: 'prometheus' }]);
    await netmapWhere(a, (m) => m.services.some((s) => s.name === 'prom'));
    const bKey = newKey();
    const b = await connector(bKey, 'conn-b3', []);
    await netmapWhere(b, () => true);
    const v = await f.admin.route(routes.servicesBind, {
      params: { deployment: 'acme-prod', name: 'prom' },
      body: { key: bKey.publicKey.base64() },
    });
    assert.equal(v.connectorKey, bKey.publicKey.base64());
    await netmapWhere(b, (m) =>
      m.services.some((s) => s.name === 'prom' && s.connectorKey === bKey.publicKey.base64()),
    );
    const binds = await audit('service.bind');
    assert.equal(binds.at(-1)!.details.from, aKey.publicKey.base64());
    assert.equal(binds.at(-1)!.details.to, bKey.publicKey.base64());
    // A's re-registration is now the refused one.
    const err = nextError(a);
    a.send({ type: 'services', services: [{ ...K8S, name: 'prom', kind: 'prometheus' }] });
    assert.equal((await err).code, 'SERVICE_TAKEN');
    // A connector of another deployment, or an unknown key, cannot be bound.
    await assert.rejects(
      f.admin.route(routes.servicesBind, {
        params: { deployment: 'acme-prod', name: 'prom' },
        body: {
          key: newKey().publicKey.base64(),
        },
      }),
      /no live connector of acme-prod/,
    );
    // Release: the service is free for the next registration.
    const r = await f.admin.route(routes.servicesBind, {
      params: { deployment: 'acme-prod', name: 'prom' },
      body: { key: null },
    });
    assert.equal(r.connectorKey, null);
    a.close();
    b.close();
  });

  // Last: it moves the fixture's clock by months.
  test('once A’s key has expired the service is free and B takes it', async () => {
    const svc = { ...K8S, name: 'grafana', kind: 'http' as const };
    const aKey = newKey();
    const a = await connector(aKey, 'conn-a4', [svc]);
    await netmapWhere(a, (m) => m.services.some((s) => s.name === 'grafana'));
    a.close();
    f.clock.advance(89 * 86_400_000); // A (90-day key) still live for a day
    f.admin = await f.anon.login(ADMIN.name, ADMIN.password);
    const fresh = (await f.admin.route(routes.preauthKeysCreate, { body: { deployment: 'acme-prod' } })).key;
    const bKey = newKey();
    const b = await f.connect(bKey, {
      version: 1,
      kind: 'connector',
      name: 'conn-b4',
      preauthKey: fresh,
      services: [{ ...svc, address: '10.9.9.9:80' }],
    });
    await netmapWhere(b, () => true);
    const views = async () => (await services()).find((s) => s.name === 'grafana')!;
    assert.equal((await views()).connectorKey, aKey.publicKey.base64());
    f.clock.advance(86_400_000 + 1); // A's key expires
    f.admin = await f.anon.login(ADMIN.name, ADMIN.password);
    b.send({ type: 'services', services: [{ ...svc, address: '10.9.9.9:80' }] });
    await netmapWhere(b, (m) =>
      m.services.some((s) => s.name === 'grafana' && s.connectorKey === bKey.publicKey.base64()),
    );
    assert.equal((await views()).address, '10.9.9.9:80');
    b.close();
  });
});
