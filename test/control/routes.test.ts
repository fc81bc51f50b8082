// The route table against a real coordinator: every route it serves under /api/v1 is declared in
// src/control/routes/ (and every declared route is served), and the typed client calls them —
// parameters encoded, queries sent, answers as declared, refusals as ApiError like `call`'s.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startFixture, ADMIN, type Fixture } from './fixture.ts';
import { ApiError, routes, type Route } from '../../src/control/index.ts';

/**
 * `METHOD /path` of every route in Fastify's printRoutes tree (HEAD, added for each GET, left out),
 * with parameter names left out (`/deployments/:/services/:`): one tree node serves routes that
 * name a parameter differently (printed `:name|:deployment`).
 */
export function servedRoutes(tree: string): Set<string> {
  const out = new Set<string>();
  const stack: string[] = [];
  for (const line of tree.split('\n')) {
    const m = /^([│ ]*)[├└]── (.*?)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!m) continue;
    const depth = m[1].length / 4;
    const path = (depth > 0 ? stack[depth - 1] : '') + shape(m[2]);
    stack.length = depth;
    stack[depth] = path;
    for (const method of m[3]?.split(', ') ?? []) if (method !== 'HEAD') out.add(`${method} ${path}`);
  }
  return out;
}

/** A path without its parameters' names. */
const shape = (path: string) => path.replace(/:[A-Za-z0-9_]+(\|:[A-Za-z0-9_]+)*/g, ':');
const key = (r: Route) => `${r.method} ${shape(r.path)}`;

test('servedRoutes reads a nested printRoutes tree', () => {
  const tree = [
    '├── /api/v1/requests (GET, HEAD, POST)',
    '│   └── /:id (GET, HEAD)',
    '│       ├── /approve (POST)',
    '│       └── /wait (GET, HEAD)',
    '├── /api/v1/groups/:name/members/:user (PUT, DELETE)',
    '├── /api/v1/deployments/:name|:deployment (DELETE)',
    '│   └── /services/:name (PUT)',
    '└── /console/ (GET, HEAD)',
    '',
  ].join('\n');
  assert.deepEqual([...servedRoutes(tree)].sort(), [
    'DELETE /api/v1/deployments/:',
    'DELETE /api/v1/groups/:/members/:',
    'GET /api/v1/requests',
    'GET /api/v1/requests/:',
    'GET /api/v1/requests/:/wait',
    'GET /console/',
    'POST /api/v1/requests',
    'POST /api/v1/requests/:/approve',
    'PUT /api/v1/deployments/:/services/:',
    'PUT /api/v1/groups/:/members/:',
  ]);
});

describe('route table and typed client', () => {
  let f: Fixture;
  before(async () => {
    f = await startFixture();
  });
  after(() => f.stop());

  test('every route served under /api/v1 is declared in the table, and every declared route is served', () => {
    const served = servedRoutes(f.coord.app.printRoutes({ commonPrefix: false }));
    const declared = new Set(Object.values(routes).map(key));
    const api = [...served].filter((r) => r.split(' ')[1].startsWith('/api/v1/'));
    assert.ok(api.length > 60, `only ${api.length} API routes read from printRoutes`);
    assert.deepEqual(
      api.filter((r) => !declared.has(r)),
      [],
      'served but not declared in src/control/routes/',
    );
    assert.deepEqual(
      [...declared].filter((r) => !served.has(r)),
      [],
      'declared but not served',
    );
    for (const r of Object.values(routes))
      assert.ok(f.coord.app.hasRoute({ method: r.method, url: r.path }), key(r));
  });

  test('the typed client calls routes with a body, parameters and a query, typed as declared', async () => {
    const api = f.admin;
    const info = await f.anon.route(routes.info);
    assert.equal(info.suffix, 'byoc.example.com');
    const dep = await api.route(routes.deploymentsCreate, {
      body: { name: 'route-prod', region: 'eu-west-1', cloud: 'aws' },
    });
    assert.equal(dep.name, 'route-prod');
    const svc = await api.route(routes.servicesPut, {
      params: { deployment: 'route-prod', name: 'web' },
      body: { kind: 'http', address: '10.0.0.5:8080', labels: { team: 'a' } },
    });
    assert.equal(svc.tailnetName, 'web.route-prod.eu-west-1.aws.byoc.example.com');
    assert.equal(svc.connectorKey, null);
    const listed = await api.route(routes.servicesList, { query: { deployment: 'route-prod' } });
    assert.deepEqual(
      listed.map((s) => s.name),
      ['web'],
    );
    assert.equal((await api.route(routes.servicesList)).length >= 1, true);
    // Names with characters a path must escape: '@' and '.' are allowed in user and group names.
    await api.route(routes.usersCreate, { body: { name: 'ops@example.com', password: 'long enough pw' } });
    await api.route(routes.groupsCreate, { body: { name: 'on.call' } });
    await api.route(routes.groupMembersAdd, { params: { name: 'on.call', user: 'ops@example.com' } });
    const groups = await api.route(routes.groupsList);
    assert.deepEqual(groups.find((g) => g.name === 'on.call')?.members, ['ops@example.com']);
    const disabled = await api.route(routes.usersDisable, { params: { name: 'ops@example.com' } });
    assert.equal(disabled.disabled, true);
    const page = await api.route(routes.auditList, { query: { after: 0, limit: 2 } });
    assert.equal(page.length, 2);
    assert.equal(page[0].seq, 1);
    const me = await api.route(routes.whoami);
    assert.equal(me.name, ADMIN.name);
    assert.equal(me.isAdmin, true);
  });

  test('a refusal is an ApiError with the status and code `call` gives', async () => {
    const viaRoute = await api(() => f.admin.route(routes.requestsGet, { params: { id: 'no-such' } }));
    const viaCall = await api(() => f.admin.call('GET', '/api/v1/requests/no-such'));
    assert.equal(viaRoute.status, 404);
    assert.equal(viaRoute.code, 'NOT_FOUND');
    assert.deepEqual(
      [viaRoute.status, viaRoute.code, viaRoute.message],
      [viaCall.status, viaCall.code, viaCall.message],
    );
    const anon = await api(() => f.anon.route(routes.usersList));
    assert.deepEqual([anon.status, anon.code], [401, 'UNAUTHORIZED']);
    const bad = await api(() =>
      f.admin.route(routes.deploymentsCreate, { body: { name: 'Not A Label', region: 'x', cloud: 'y' } }),
    );
    assert.deepEqual([bad.status, bad.code], [400, 'BAD_REQUEST']);
  });

  test('a route whose body has no required field takes none (logout)', async () => {
    const other = await f.anon.login(ADMIN.name, ADMIN.password);
    assert.deepEqual(await other.route(routes.logout), { ok: true });
    const after = await api(() => other.route(routes.whoami));
    assert.equal(after.status, 401);
  });
});

async function api(fn: () => Promise<unknown>): Promise<ApiError> {
  try {
    await fn();
  } catch (e) {
    if (e instanceof ApiError) return e;
    throw e;
  }
  throw new Error('expected an ApiError');
}
