// The coordinator's audit API: the store writes the chain src/audit defines, refuses what has no
// canonical form (nothing written), and signs checkpoints with its own audit key.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { checkpointSignatureValid, verifyChain } from '../../src/audit/index.ts';
import { VerifyKey } from '../../src/crypto/index.ts';
import { startFixture, type Fixture } from './fixture.ts';
import { routes } from '../../src/control/index.ts';

describe('audit API', () => {
  let f: Fixture;
  before(async () => {
    f = await startFixture({ auditCheckpointEvery: 5 });
    await f.admin.route(routes.deploymentsCreate, {
      body: {
        name: 'acme-prod',
        region: 'us-east-1',
        cloud: 'aws',
      },
    });
  });
  after(async () => {
    await f?.stop();
  });

  const all = () => f.admin.route(routes.auditList, { query: { limit: 10000 } });

  test('a lone surrogate in a service label is refused with 400 and nothing is written', async () => {
    const before = await f.coord.store.counts();
    const log = await all();
    const r = await f.admin.raw(
      'PUT',
      '/api/v1/deployments/acme-prod/services/web',
      '{"kind":"http","address":"10.0.0.1:80","labels":{"team":"a\\ud800"}}',
      { 'content-type': 'application/json' },
    );
    assert.ok(r.status >= 400 && r.status < 500, `status ${r.status}: ${r.text}`);
    const e = (r.body as { error: { code: string; message: string } }).error;
    assert.equal(e.code, 'BAD_REQUEST');
    assert.match(e.message, /labels\.team holds a lone surrogate/);
    assert.deepEqual(await f.coord.store.counts(), before);
    assert.deepEqual(await all(), log);
    assert.equal(verifyChain(await all()).ok, true);
    // a well-formed pair (an emoji) is fine and hashes as RFC 8785 says
    const ok = await f.admin.routeRaw(routes.servicesPut, {
      params: { deployment: 'acme-prod', name: 'web' },
      body: {
        kind: 'http',
        address: '10.0.0.1:80',
        labels: { team: 'a\u{1F600}' },
      },
    });
    assert.equal(ok.status, 200, ok.text);
    const rep = verifyChain(await all());
    assert.equal(rep.ok, true, JSON.stringify(rep.failure));
    assert.equal(rep.lastSeq, log.length + 1);
  });

  test('the audit key: 0600 under --data, published in /api/v1/info', async () => {
    const info = await f.anon.route(routes.info);
    assert.match(info.auditKey, /^[A-Za-z0-9+/]{43}=$/);
    assert.equal(statSync(join(f.dir, 'audit.key')).mode & 0o777, 0o600);
    const cps = await f.admin.route(routes.auditCheckpoints);
    assert.deepEqual(cps.keys, [info.auditKey]);
  });

  test('a checkpoint every N records, signed by the audit key, and one at the head on export', async () => {
    for (let i = 0; i < 6; i++) await f.admin.route(routes.groupsCreate, { body: { name: `g-${i}` } });
    const key = VerifyKey.fromBase64((await f.anon.route(routes.info)).auditKey);
    const periodic = await f.coord.store.listAuditCheckpoints();
    const head = await f.coord.store.auditHead();
    // every multiple of 5, plus the head as it was when the previous test asked for checkpoints
    assert.deepEqual(
      periodic.map((c) => c.seq).filter((s) => s % 5 === 0),
      Array.from({ length: Math.floor(head.seq / 5) }, (_, i) => 5 * (i + 1)),
    );
    const r = await f.admin.route(routes.auditCheckpoints);
    const log = await all();
    const bySeq = new Map(log.map((x) => [x.seq, x.hash]));
    assert.equal(r.checkpoints.at(-1)?.seq, head.seq, 'the head is signed at export');
    for (const cp of r.checkpoints) {
      assert.deepEqual(Object.keys(cp).sort(), ['hash', 'keyId', 'seq', 'signature', 'time']);
      assert.ok(checkpointSignatureValid(cp, key), `checkpoint ${cp.seq}`);
      assert.equal(cp.hash, bySeq.get(cp.seq));
    }
    // non-admins may not read it
    await f.admin.route(routes.usersCreate, { body: { name: 'eve', password: 'eve password 1' } });
    const eve = await f.anon.login('eve', 'eve password 1');
    assert.equal((await eve.routeRaw(routes.auditCheckpoints, {})).status, 403);
    const doc = await f.anon.call<{ paths: Record<string, unknown> }>('GET', '/openapi.json');
    assert.ok(doc.paths['/api/v1/audit/checkpoints'], 'the route is in the OpenAPI document');
  });

  test('the audit key survives a restart; old checkpoints still verify', async () => {
    const before = (await f.anon.route(routes.info)).auditKey;
    const cps = await f.coord.store.listAuditCheckpoints();
    await f.restart();
    f.admin = await f.anon.login('root', 'correct horse battery');
    const info = await f.anon.route(routes.info);
    assert.equal(info.auditKey, before);
    const r = await f.admin.route(routes.auditCheckpoints);
    assert.deepEqual(r.keys, [before]);
    assert.ok(r.checkpoints.length >= cps.length);
  });
});
