// Service certificates: a connector sends a CSR for one of its services and gets a certificate for
// that service's tailnet name from the service CA, chaining to the root in /api/v1/info. The key
// stays on the connector; a service it does not serve, or an engineer, is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { startFixture, newKey, netmapWhere } from './fixture.ts';
import { createKeyAndCsr } from '../../src/pki/index.ts';
import type { ServerMessage } from '../../src/proto/control/index.ts';
import { routes, type ControlClient } from '../../src/control/index.ts';

function answer(c: ControlClient, id: string): Promise<ServerMessage> {
  return new Promise((resolve) => {
    const on = (m: ServerMessage) => {
      if ((m.type === 'certificate' || m.type === 'error') && m.id === id) {
        c.off('message', on);
        resolve(m);
      }
    };
    c.on('message', on);
  });
}

test('a connector gets a service certificate for its tailnet name', { timeout: 30_000 }, async () => {
  const f = await startFixture();
  try {
    await f.admin.route(routes.deploymentsCreate, {
      body: {
        name: 'acme-prod',
        region: 'us-east-1',
        cloud: 'aws',
      },
    });
    await f.admin.route(routes.usersCreate, { body: { name: 'bob', password: 'long password' } });
    const k = await f.admin.route(routes.preauthKeysCreate, {
      body: {
        deployment: 'acme-prod',
      },
    });
    const c = await f.connect(newKey(), {
      version: 1,
      kind: 'connector',
      name: 'c1',
      preauthKey: k.key,
      services: [{ name: 'k8s', kind: 'kubernetes', address: '10.0.0.1:6443' }],
    });
    await netmapWhere(c, (m) => m.services.length === 1);
    const name = 'k8s.acme-prod.us-east-1.aws.byoc.example.com';
    const { csrPem } = await createKeyAndCsr({ commonName: name, dnsNames: [name] });
    const reply = answer(c, 'r1');
    c.send({ type: 'csr', id: 'r1', service: 'k8s', csr: csrPem });
    const m = await reply;
    assert.equal(m.type, 'certificate', JSON.stringify(m));
    if (m.type !== 'certificate') return;
    const leaf = new X509Certificate(m.chainPem);
    assert.match(leaf.subjectAltName ?? '', new RegExp(`DNS:${name.replace(/\./g, '\\.')}`));
    const info = await f.anon.route(routes.info);
    assert.equal(info.rootCaPem, m.rootPem);
    // leaf ← service CA ← root
    const pems = m.chainPem.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g)!;
    const service = new X509Certificate(pems[1]);
    assert.ok(leaf.verify(service.publicKey));
    assert.ok(service.verify(new X509Certificate(info.rootCaPem).publicKey));
    assert.ok(m.notAfter - f.clock.wallMs() <= 30 * 86_400_000);
    // refusals
    const other = answer(c, 'r2');
    c.send({ type: 'csr', id: 'r2', service: 'ch', csr: csrPem });
    assert.deepEqual(await other, {
      type: 'error',
      code: 'UNKNOWN_SERVICE',
      message: 'this connector does not serve ch',
      id: 'r2',
    });
    const bad = answer(c, 'r3');
    c.send({
      type: 'csr',
      id: 'r3',
      service: 'k8s',
      csr: '-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----',
    });
    assert.equal(((await bad) as { code: string }).code, 'BAD_CSR');
    const ek = await f.admin.route(routes.preauthKeysCreate, { body: { user: 'bob' } });
    const e = await f.connect(newKey(), { version: 1, kind: 'engineer', name: 'bob-pc', preauthKey: ek.key });
    const refused = answer(e, 'r4');
    e.send({ type: 'csr', id: 'r4', service: 'k8s', csr: csrPem });
    assert.equal(((await refused) as { code: string }).code, 'NOT_A_CONNECTOR');

    // an engineer's client certificate for an active grant: CN = user, SAN URI = the grant, notAfter = grant end
    const noGrant = answer(e, 'r5');
    e.send({ type: 'csr', id: 'r5', grant: 'nope', csr: csrPem });
    assert.equal(((await noGrant) as { code: string }).code, 'UNKNOWN_GRANT');
    const g = await f.admin.route(routes.grantsCreate, {
      body: {
        subject: { type: 'user', name: 'bob' },
        deployment: 'acme-prod',
        services: ['k8s'],
        expiresInSeconds: 3600,
      },
    });
    await netmapWhere(e, (x) => x.grants.some((y) => y.id === g.id));
    const ecsr = await createKeyAndCsr({ commonName: 'bob' });
    const client = answer(e, 'r6');
    e.send({ type: 'csr', id: 'r6', grant: g.id, csr: ecsr.csrPem });
    const cm = await client;
    assert.equal(cm.type, 'certificate', JSON.stringify(cm));
    if (cm.type !== 'certificate') return;
    const cc = new X509Certificate(cm.chainPem);
    assert.match(cc.subject, /CN=bob/);
    assert.equal(cc.subjectAltName, `URI:sallyport:grant:${g.id}`);
    assert.equal(new Date(cc.validTo).getTime(), Math.floor(g.expiresAt! / 1000) * 1000);
    assert.equal(cm.grant, g.id);
    const audit = await f.admin.route(routes.auditList);
    assert.ok(audit.some((r) => r.action === 'certificate.service' && r.subject === name));
    assert.ok(
      audit.some((r) => r.action === 'certificate.client' && r.subject === `sallyport:grant:${g.id}`),
    );
    assert.ok(c.open && e.open);
  } finally {
    await f.stop();
  }
});
