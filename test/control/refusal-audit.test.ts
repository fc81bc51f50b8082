// Refused actions of a signed-in user are audited — an admin call by a non-admin (`api.refuse`),
// a self-approval or other refused access event (`access.refuse`) — but at most
// REFUSALS_PER_WINDOW per user per window: the rest are counted and summed up in one
// `audit.refusals-suppressed` record, so one user cannot flood the audit log.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startFixture, type Fixture } from './fixture.ts';
import { routes, type ApiClient } from '../../src/control/index.ts';
import { REFUSALS_PER_WINDOW, REFUSAL_WINDOW_MS } from '../../src/control/refusal-audit.ts';
import { POLICY } from './access-suite.ts';

type Rec = { actor: string; action: string; subject: string; details: Record<string, unknown> };
let f: Fixture;
const as: Record<string, ApiClient> = {};
const audit = async (): Promise<Rec[]> => f.admin.route(routes.auditList, { query: { limit: 10000 } });
const by = (rows: Rec[], actor: string, action: string) =>
  rows.filter((r) => r.action === action && (r.actor === actor || r.subject === actor));

before(async () => {
  f = await startFixture();
  const a = f.admin;
  await a.route(routes.deploymentsCreate, { body: { name: 'acme-prod', region: 'us-east-1', cloud: 'aws' } });
  await a.route(routes.servicesPut, {
    params: { deployment: 'acme-prod', name: 'k8s' },
    body: { kind: 'tcp', address: '10.0.0.1:443' },
  });
  for (const g of ['oncall', 'sre-leads']) await a.route(routes.groupsCreate, { body: { name: g } });
  await a.route(routes.policyPut, { body: POLICY });
  for (const [u, g] of [
    ['alice', 'oncall'],
    ['mallory', undefined],
    ['trent', undefined],
  ] as const) {
    await a.route(routes.usersCreate, { body: { name: u, password: 'long password' } });
    if (g) await a.route(routes.groupMembersAdd, { params: { name: g, user: u } });
    as[u] = await f.anon.login(u, 'long password');
  }
});
after(async () => f?.stop());

test('a non-admin calling an admin route is refused (403) and audited with actor, route and reason', async () => {
  const r = await as.mallory.routeRaw(routes.usersList, {});
  assert.equal(r.status, 403);
  const rec = by(await audit(), 'user:mallory', 'api.refuse').at(-1);
  assert.ok(rec, 'an api.refuse record');
  assert.equal(rec.actor, 'user:mallory');
  assert.equal(rec.details.method, 'GET');
  assert.equal(rec.details.route, '/api/v1/users');
  assert.equal(rec.details.code, 'FORBIDDEN');
  assert.match(String(rec.details.reason), /administrator/);
  f.clock.advance(REFUSAL_WINDOW_MS);
});

test("one user's flood of refusals is bounded per window, summed up after it; others are still audited", async () => {
  const before = (await audit()).length;
  const flood = REFUSALS_PER_WINDOW * 4;
  for (let i = 0; i < flood; i++)
    assert.equal((await as.mallory.routeRaw(routes.groupsCreate, { body: { name: `x${i}` } })).status, 403);
  // Self-approval: refused by the access model, audited by the store, bounded the same way.
  const req = await as.alice.route(routes.requestsCreate, {
    body: {
      deployment: 'acme-prod',
      services: ['k8s'],
      reason: 'INC-1',
      duration: '1h',
    },
  });
  for (let i = 0; i < flood; i++)
    assert.equal((await as.alice.routeRaw(routes.requestsApprove, { params: { id: req.id } })).status, 403);
  // Another user's refusal in the same window is audited all the same.
  assert.equal((await as.trent.routeRaw(routes.groupsDelete, { params: { name: 'oncall' } })).status, 403);
  let rows = (await audit()).slice(before);
  assert.equal(by(rows, 'user:mallory', 'api.refuse').length, REFUSALS_PER_WINDOW);
  const selfApprovals = by(rows, 'user:alice', 'access.refuse').filter(
    (r) => r.details.code === 'SELF_APPROVAL',
  );
  assert.equal(selfApprovals.length, REFUSALS_PER_WINDOW);
  assert.equal(by(rows, 'user:trent', 'api.refuse').length, 1);
  assert.ok(rows.length < 4 * REFUSALS_PER_WINDOW, `${rows.length} records for ${2 * flood + 1} refusals`);

  // When the window has passed, each flooding user gets one summary record of what was left out.
  f.clock.advance(REFUSAL_WINDOW_MS);
  for (let i = 0; i < 200; i++) {
    rows = (await audit()).slice(before);
    if (by(rows, 'user:alice', 'audit.refusals-suppressed').length) break;
    await new Promise((r) => setTimeout(r, 10));
  }
  const sum = (u: string) => by(rows, `user:${u}`, 'audit.refusals-suppressed');
  assert.equal(sum('mallory').length, 1);
  assert.equal(sum('mallory')[0].details.count, flood - REFUSALS_PER_WINDOW);
  assert.equal(sum('alice')[0].details.count, flood - REFUSALS_PER_WINDOW);
  assert.equal(sum('trent').length, 0);
  // A new window audits again.
  assert.equal((await as.mallory.routeRaw(routes.usersList, {})).status, 403);
  assert.equal(
    by((await audit()).slice(before), 'user:mallory', 'api.refuse').length,
    REFUSALS_PER_WINDOW + 1,
  );
  const metrics = await f.metricsText();
  assert.match(metrics, /sallyport_coordinator_audit_refusals_suppressed_total \d+/);
});
