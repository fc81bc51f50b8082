// The admin API: schemas on every route, refusals of bad input with nothing written, auth, metrics, logs.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startFixture, ADMIN, type Fixture } from './fixture.ts';
import fc from 'fast-check';
import { ApiClient, ApiError, routes } from '../../src/control/index.ts';

describe('admin API', () => {
  let f: Fixture;
  before(async () => {
    f = await startFixture();
    await f.admin.route(routes.deploymentsCreate, {
      body: {
        name: 'acme-prod',
        region: 'us-east-1',
        cloud: 'aws',
      },
    });
    await f.admin.route(routes.usersCreate, { body: { name: 'bob', password: 'battery staple' } });
    await f.admin.route(routes.groupsCreate, { body: { name: 'oncall' } });
  });
  after(() => f.stop());

  test('/openapi.json documents every API route, each with a schema', async () => {
    const doc = await f.anon.call<{
      openapi: string;
      paths: Record<
        string,
        Record<string, { requestBody?: unknown; parameters?: unknown[]; responses?: Record<string, unknown> }>
      >;
    }>('GET', '/openapi.json');
    assert.match(doc.openapi, /^3\./);
    const paths = Object.keys(doc.paths);
    for (const p of [
      '/api/v1/login',
      '/api/v1/deployments',
      '/api/v1/grants',
      '/api/v1/preauth-keys',
      '/api/v1/device/start',
      '/api/v1/groups/{name}/members/{user}',
    ])
      assert.ok(paths.includes(p), `${p} missing from ${paths.join(' ')}`);
    for (const [p, ops] of Object.entries(doc.paths))
      for (const [method, op] of Object.entries(ops)) {
        assert.ok(
          op.responses && Object.keys(op.responses).length > 0,
          `${method} ${p} has no response schema`,
        );
        if (method === 'post' && !p.includes('/users/'))
          assert.ok(op.requestBody, `${method} ${p} has no body schema`);
      }
  });

  test('malformed bodies get a 4xx with an error code, and nothing is written', async () => {
    const before = await f.coord.store.counts();
    const cases: [string, string, unknown, number][] = [
      ['POST', '/api/v1/deployments', { name: 'Bad Name', region: 'us-east-1', cloud: 'aws' }, 400],
      ['POST', '/api/v1/deployments', { name: 'ok', region: 'us-east-1' }, 400],
      ['POST', '/api/v1/deployments', { name: 'ok', region: 'us-east-1', cloud: 'aws', extra: 1 }, 400],
      ['POST', '/api/v1/deployments', { name: 5, region: 'us-east-1', cloud: 'aws' }, 400],
      ['POST', '/api/v1/deployments', '{"name": "ok", ', 400],
      ['POST', '/api/v1/deployments', [], 400],
      ['POST', '/api/v1/deployments', { name: 'x'.repeat(100_000), region: 'r', cloud: 'c' }, 413],
      ['PUT', '/api/v1/deployments/acme-prod/services/k8s', { kind: 'ftp', address: '10.0.0.1:21' }, 400],
      ['PUT', '/api/v1/deployments/acme-prod/services/k8s', { kind: 'tcp', address: 'no port' }, 400],
      ['PUT', '/api/v1/deployments/acme-prod/services/K8S', { kind: 'tcp', address: 'a:1' }, 400],
      ['POST', '/api/v1/preauth-keys', { deployment: 'acme-prod', user: 'bob' }, 400],
      ['POST', '/api/v1/preauth-keys', { reusable: true }, 400],
      ['POST', '/api/v1/preauth-keys', { deployment: 'acme-prod', expiresInSeconds: '60' }, 400],
      ['POST', '/api/v1/preauth-keys', { deployment: 'acme-prod', expiresInSeconds: 1 }, 400],
      ['POST', '/api/v1/users', { name: 'eve', password: 'short' }, 400],
      ['POST', '/api/v1/users', { name: 'eve', password: 'long enough', admin: 'yes' }, 400],
      [
        'POST',
        '/api/v1/grants',
        { subject: { type: 'robot', name: 'x' }, deployment: 'acme-prod', services: [] },
        400,
      ],
      [
        'POST',
        '/api/v1/grants',
        { subject: { type: 'user', name: 'bob' }, deployment: 'acme-prod', services: ['k8s', 'k8s'] },
        400,
      ],
      ['POST', '/api/v1/grants', { subject: { type: 'user', name: 'bob' }, deployment: 'acme-prod' }, 400],
      ['POST', '/api/v1/device/start', { nodeKey: 'not a key' }, 400],
      ['POST', '/api/v1/nodes/revoke', { key: 'AAAA' }, 400],
      // well-formed but refused by the store
      ['POST', '/api/v1/deployments', { name: 'acme-prod', region: 'us-east-1', cloud: 'aws' }, 409],
      [
        'POST',
        '/api/v1/grants',
        { subject: { type: 'user', name: 'nobody' }, deployment: 'acme-prod', services: [] },
        404,
      ],
      [
        'POST',
        '/api/v1/grants',
        { subject: { type: 'user', name: 'bob' }, deployment: 'nowhere', services: [] },
        404,
      ],
      ['PUT', '/api/v1/groups/oncall/members/nobody', undefined, 404],
      ['DELETE', '/api/v1/grants/nope', undefined, 404],
    ];
    for (const [method, path, body, status] of cases) {
      const r = await f.admin.raw(method, path, body);
      assert.equal(
        r.status,
        status,
        `${method} ${path} ${JSON.stringify(body)?.slice(0, 80)} → ${r.status} ${r.text.slice(0, 200)}`,
      );
      const e = (r.body as { error: { code: string; message: string } }).error;
      assert.ok(typeof e.code === 'string' && e.code.length > 0 && typeof e.message === 'string', r.text);
    }
    const bad = await f.admin.raw('POST', '/api/v1/deployments', 'name=x', {
      'content-type': 'application/x-www-form-urlencoded',
    });
    assert.equal(bad.status, 415);
    assert.deepEqual(await f.coord.store.counts(), before);
    const metrics = await f.metricsText();
    assert.match(metrics, /sallyport_coordinator_api_refusals_total\{code="BAD_REQUEST"\} \d+/);
  });

  test('auth: no token 401, wrong token 401, non-admin 403, login refusals', async () => {
    assert.equal((await f.anon.routeRaw(routes.deploymentsList, {})).status, 401);
    assert.equal(
      (await f.anon.withToken('spt_nope_nope_nope').routeRaw(routes.deploymentsList, {})).status,
      401,
    );
    const bob = await f.anon.login('bob', 'battery staple');
    const r = await bob.routeRaw(routes.deploymentsList, {});
    assert.equal(r.status, 403);
    assert.equal((r.body as { error: { code: string } }).error.code, 'FORBIDDEN');
    assert.equal((await bob.route(routes.whoami)).name, 'bob');
    await assert.rejects(
      f.anon.login('bob', 'wrong'),
      (e: unknown) => e instanceof ApiError && e.status === 401 && e.code === 'UNAUTHORIZED',
    );
  });

  test('the TLS certificate can be pinned by fingerprint; a wrong pin is refused', async () => {
    const pinned = new ApiClient({ server: f.coord.url, fingerprint: f.coord.tls.fingerprint });
    assert.equal((await pinned.route(routes.info)).publicKey, f.coord.publicKey);
    const wrong = new ApiClient({ server: f.coord.url, fingerprint: 'ab'.repeat(32) });
    await assert.rejects(wrong.route(routes.info), /fingerprint/);
    await assert.rejects(new ApiClient({ server: f.coord.url }).route(routes.info));
  });

  test('admin lists: deployments, services with tailnet names, users, groups, grants, keys, audit', async () => {
    await f.admin.route(routes.servicesPut, {
      params: { deployment: 'acme-prod', name: 'ch' },
      body: {
        kind: 'clickhouse',
        address: '10.1.0.5:8443',
        labels: { tier: 'db' },
      },
    });
    const svcs = await f.admin.route(routes.servicesList, { query: { deployment: 'acme-prod' } });
    assert.deepEqual(
      svcs.map((s) => s.tailnetName),
      ['ch.acme-prod.us-east-1.aws.byoc.example.com'],
    );
    await f.admin.route(routes.groupMembersAdd, { params: { name: 'oncall', user: 'bob' } });
    const groups = await f.admin.route(routes.groupsList);
    assert.deepEqual(groups, [{ ...groups[0], name: 'oncall', members: ['bob'] }]);
    const g = await f.admin.route(routes.grantsCreate, {
      body: {
        subject: { type: 'group', name: 'oncall' },
        deployment: 'acme-prod',
        services: ['ch'],
        expiresInSeconds: 3600,
      },
    });
    assert.deepEqual(g.subject, { type: 'group', name: 'oncall' });
    const key = await f.admin.route(routes.preauthKeysCreate, {
      body: { deployment: 'acme-prod', reusable: true },
    });
    assert.equal(key.deployment, 'acme-prod');
    const keys = await f.admin.route(routes.preauthKeysList);
    assert.ok(
      keys.every((k) => (k as { key?: string }).key === undefined),
      'secrets are never listed',
    );
    const audit = await f.admin.route(routes.auditList, { query: { after: 0, limit: 1000 } });
    for (const a of [
      'deployment.create',
      'user.create',
      'group.add-member',
      'grant.create',
      'preauth-key.create',
    ])
      assert.ok(
        audit.some((r) => r.action === a),
        a,
      );
    await f.admin.route(routes.grantsRevoke, { params: { id: g.id } });
    assert.equal((await f.admin.route(routes.grantsList)).length, 0);
  });

  test('logs never carry passwords, tokens or pre-auth keys', async () => {
    const bob = await f.anon.login('bob', 'battery staple');
    const k = await f.admin.route(routes.preauthKeysCreate, { body: { user: 'bob' } });
    await bob.route(routes.whoami);
    const all = f.logs.join('');
    assert.ok(all.length > 0);
    for (const secret of [
      ADMIN.password,
      'battery staple',
      k.key,
      (bob as unknown as { token?: string }).token ?? 'x-no-token',
    ])
      assert.ok(!all.includes(secret), `log contains a secret`);
  });

  test('fuzz: random JSON bodies never cause a 5xx, and every refusal has an error code', async () => {
    const routes: [string, string][] = [
      ['POST', '/api/v1/deployments'],
      ['PUT', '/api/v1/deployments/acme-prod/services/fz'],
      ['POST', '/api/v1/preauth-keys'],
      ['POST', '/api/v1/users'],
      ['POST', '/api/v1/grants'],
      ['POST', '/api/v1/device/start'],
      ['POST', '/api/v1/device/poll'],
      ['POST', '/api/v1/login'],
      ['POST', '/api/v1/nodes/revoke'],
    ];
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...routes),
        fc.oneof(fc.json(), fc.string()),
        async ([method, path], body) => {
          const r = await f.admin.raw(method, path, body);
          assert.ok(r.status < 500, `${method} ${path} ${body} → ${r.status} ${r.text}`);
          if (r.status >= 400)
            assert.equal(typeof (r.body as { error: { code: string } }).error.code, 'string');
        },
      ),
      { numRuns: 150 },
    );
  });
});
