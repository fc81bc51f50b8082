// The route table: paths filled and queries encoded as the client sends them, and every
// declaration consistent with itself (its path parameters are its schema's) and present in `routes`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CUSTOMER_SWITCHES } from '../../store/index.ts';
import { ControlError } from '../errors.ts';
import { routes } from './index.ts';
import { paramNames, pathOf, queryOf, type Route } from './route.ts';
import { CUSTOMER_SWITCH_NAMES } from './customers.ts';
import * as access from './access.ts';
import * as alerts from './alerts.ts';
import * as audit from './audit.ts';
import * as catalog from './catalog.ts';
import * as consoleRoutes from './console.ts';
import * as customers from './customers.ts';
import * as enrollment from './enrollment.ts';
import * as grants from './grants.ts';
import * as identity from './identity.ts';
import * as session from './session.ts';

const all: [string, Route][] = Object.entries(routes);

test('pathOf fills each parameter, percent-encoded, and refuses a missing one', () => {
  assert.equal(pathOf('/api/v1/requests/:id', { id: 'r-1' }), '/api/v1/requests/r-1');
  assert.equal(
    pathOf('/api/v1/groups/:name/members/:user', { name: 'on call', user: 'a@b/../c' }),
    '/api/v1/groups/on%20call/members/a%40b%2F..%2Fc',
  );
  assert.equal(pathOf('/api/v1/info'), '/api/v1/info');
  assert.throws(
    () => pathOf('/api/v1/requests/:id/approve', {}),
    (e: unknown) => e instanceof ControlError && e.code === 'ROUTE_PARAMS',
  );
});

test('queryOf encodes the defined members only', () => {
  assert.equal(queryOf({}), '');
  assert.equal(queryOf({ status: undefined }), '');
  assert.equal(queryOf({ after: 10, limit: '5' }), '?after=10&limit=5');
  assert.equal(queryOf({ grant: 'a&b=c' }), '?grant=a%26b%3Dc');
});

test('every route is declared once: no two share a method and path', () => {
  const seen = new Map<string, string>();
  for (const [name, r] of all) {
    const key = `${r.method} ${r.path}`;
    assert.ok(!seen.has(key), `${name} and ${seen.get(key)} are both ${key}`);
    seen.set(key, name);
  }
});

test("a route's path parameters are exactly its schema's params, each required", () => {
  for (const [name, r] of all) {
    const names = paramNames(r.path);
    const p = r.schema.params as { properties?: Record<string, unknown>; required?: string[] } | undefined;
    if (names.length === 0) {
      assert.equal(p, undefined, `${name}: params schema without parameters in ${r.path}`);
      continue;
    }
    assert.ok(p, `${name}: ${r.path} has parameters but no params schema`);
    assert.deepEqual(Object.keys(p.properties ?? {}).sort(), [...names].sort(), name);
    assert.deepEqual([...(p.required ?? [])].sort(), [...names].sort(), name);
  }
});

test('every route declared in a module is in `routes` (and nothing else is)', () => {
  const modules = [
    access,
    alerts,
    audit,
    catalog,
    consoleRoutes,
    customers,
    enrollment,
    grants,
    identity,
    session,
  ];
  const isRoute = (v: unknown): v is Route =>
    typeof v === 'object' && v !== null && 'method' in v && 'path' in v && 'schema' in v;
  const declared = new Set(modules.flatMap((m) => Object.values(m).filter(isRoute)));
  const listed = new Set<Route>(Object.values(routes));
  assert.deepEqual(
    [...declared].filter((r) => !listed.has(r)).map((r) => `${r.method} ${r.path}`),
    [],
    'declared but not in routes',
  );
  assert.equal(listed.size, declared.size);
});

test("the table's customer switches are the store's", () => {
  assert.deepEqual([...CUSTOMER_SWITCH_NAMES], [...CUSTOMER_SWITCHES]);
});
