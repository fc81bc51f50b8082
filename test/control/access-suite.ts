// The access API and store end to end on one database (SQLite or PostgreSQL): policy, requests,
// approvals (distinct people, no self-approval, customer co-approval), refusals (clear 4xx, nothing
// granted, the refusal audited), expiry by the scheduler, revocation, extensions, concurrent
// approvals (one grant), client certificates, and webhooks to a local receiver.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startFixture, type Fixture } from './fixture.ts';
import { routes, type ApiClient } from '../../src/control/index.ts';
import type { RequestState } from '../../src/access/index.ts';
import { createKeyAndCsr, parseCertificate } from '../../src/pki/index.ts';

const MIN = 60_000;

export const POLICY = {
  version: 1,
  policies: [
    {
      id: 'oncall-ops',
      requesters: ['oncall'],
      deployments: { names: ['acme-prod'] },
      services: { names: ['k8s', 'grafana'] },
      access: 'read-only',
      maxDuration: '2h',
      maxTotal: '3h',
      pendingFor: '30m',
      approval: { group: 'sre-leads', threshold: 1 },
    },
    {
      id: 'oncall-db',
      requesters: ['oncall'],
      deployments: '*',
      services: { labels: { kind: 'clickhouse' } },
      access: 'read-only',
      maxDuration: '1h',
      pendingFor: '30m',
      approval: { group: 'sre-leads', threshold: 2 },
      customer: { group: 'acme-admins', threshold: 1 },
    },
  ],
};

interface Hook {
  server: Server;
  url: string;
  bodies: { text: string; blocks?: unknown[] }[];
  /** Answer 500 to this many POSTs first (retry test). */
  failFirst: number;
}

function startReceiver(): Promise<Hook> {
  const hook: Hook = { server: undefined as unknown as Server, url: '', bodies: [], failFirst: 0 };
  hook.server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (hook.failFirst > 0) {
        hook.failFirst--;
        res.writeHead(500).end();
        return;
      }
      hook.bodies.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Hook['bodies'][number]);
      res.writeHead(200).end('ok');
    });
  });
  return new Promise((resolve) =>
    hook.server.listen(0, '127.0.0.1', () => {
      hook.url = `http://127.0.0.1:${(hook.server.address() as AddressInfo).port}/hook`;
      resolve(hook);
    }),
  );
}

const waitFor = async (pred: () => boolean, ms = 5000): Promise<void> => {
  const t0 = Date.now();
  while (!pred()) {
    if (Date.now() - t0 > ms) assert.fail('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
};

type Json = Record<string, unknown>;

export function accessSuite(name: string, db: () => Promise<{ url?: string; stop(): Promise<void> }>): void {
  describe(`access API on ${name}`, () => {
    let f: Fixture;
    let hook: Hook;
    let dbh: { url?: string; stop(): Promise<void> };
    const as: Record<string, ApiClient> = {};

    const open = async (who: string, body: Json) => as[who].raw('POST', '/api/v1/requests', body);
    const request = async (who: string, body: Json): Promise<RequestState> => {
      const r = await open(who, body);
      assert.equal(r.status, 201, r.text);
      return r.body as RequestState;
    };
    const act = (who: string, path: string, body?: unknown) => as[who].raw('POST', path, body);
    const grantRows = async () => (await f.coord.store.counts()).grants;
    const lastAudit = async () => {
      const rows = await f.admin.route(routes.auditList, { query: { limit: 10000 } });
      return rows[rows.length - 1];
    };
    /** Asserts a refusal: HTTP status and code, nothing granted, the refusal audited. */
    const refused = async (p: Promise<{ status: number; body: unknown }>, status: number, code: string) => {
      const before = await grantRows();
      const r = await p;
      assert.equal(r.status, status, JSON.stringify(r.body));
      assert.equal((r.body as { error: { code: string } }).error.code, code);
      assert.equal(await grantRows(), before, 'nothing granted');
      const a = await lastAudit();
      assert.equal(a.action, 'access.refuse');
      assert.equal(a.details.code, code);
      return r;
    };

    before(async () => {
      dbh = await db();
      hook = await startReceiver();
      // The suite's fake clock skips hours between sign-in and approval; the freshness an approval
      // needs (1 h by default) has its own tests (test/control/sso.test.ts).
      f = await startFixture({
        ...(dbh.url ? { db: dbh.url } : {}),
        webhooks: [hook.url],
        approvalMaxAgeMs: 30 * 86_400_000,
      });
      const a = f.admin;
      await a.route(routes.deploymentsCreate, {
        body: { name: 'acme-prod', region: 'us-east-1', cloud: 'aws' },
      });
      for (const [svc, kind] of [
        ['k8s', 'kubernetes'],
        ['grafana', 'http'],
        ['clickhouse', 'clickhouse'],
      ] as const)
        await a.route(routes.servicesPut, {
          params: { deployment: 'acme-prod', name: svc },
          body: {
            kind,
            address: '10.0.0.1:443',
          },
        });
      for (const g of ['oncall', 'sre-leads', 'acme-admins'])
        await a.route(routes.groupsCreate, { body: { name: g } });
      const members: Record<string, string[]> = {
        alice: ['oncall'],
        bob: ['sre-leads'],
        carol: ['sre-leads'],
        dave: ['sre-leads'],
        erin: ['acme-admins'],
        mallory: [],
      };
      // erin is the customer's person (customer acme owns acme-prod): only such a person co-approves.
      await a.route(routes.customersCreate, { body: { name: 'acme', deployments: ['acme-prod'] } });
      for (const [u, groups] of Object.entries(members)) {
        await a.route(routes.usersCreate, {
          body: {
            name: u,
            password: 'long password',
            ...(u === 'erin' ? { customer: 'acme' } : {}),
          },
        });
        for (const g of groups) await a.route(routes.groupMembersAdd, { params: { name: g, user: u } });
        as[u] = await f.anon.login(u, 'long password');
      }
    });
    after(async () => {
      await f?.stop();
      await new Promise((r) => hook?.server.close(r));
      await dbh?.stop();
    });

    test('policy: a bad document is refused with its issues and audited; a good one is stored', async () => {
      const bad = await f.admin.raw('PUT', '/api/v1/policy', {
        version: 1,
        policies: [{ id: 'x', treshold: 2 }],
      });
      assert.equal(bad.status, 400);
      const err = (bad.body as { error: { code: string; issues: unknown[] } }).error;
      assert.equal(err.code, 'POLICY_INVALID');
      assert.ok(err.issues.length > 0);
      assert.equal((await lastAudit()).action, 'policy.refuse');
      assert.equal((await f.admin.routeRaw(routes.policyGet, {})).status, 404);
      assert.equal((await as.alice.routeRaw(routes.policyPut, { body: POLICY })).status, 403);
      const ok = await f.admin.route(routes.policyPut, { body: POLICY });
      assert.equal(ok.version, 1);
      assert.equal((await lastAudit()).action, 'policy.update');
      assert.deepEqual((await f.admin.route(routes.policyGet)).document, POLICY);
    });

    test('bad input: each a clear 4xx, nothing granted, the refusal audited', async () => {
      const base = { deployment: 'acme-prod', services: ['k8s'], reason: 'INC-1', duration: '1h' };
      const r1 = await refused(open('alice', { ...base, duration: '3h' }), 400, 'DURATION_EXCEEDS_POLICY');
      assert.equal(
        (r1.body as { error: { details: { maxDurationMs: number } } }).error.details.maxDurationMs,
        2 * 60 * MIN,
      );
      await refused(open('alice', { ...base, services: ['nope'] }), 404, 'SERVICE_UNKNOWN');
      await refused(open('alice', { ...base, deployment: 'globex' }), 404, 'DEPLOYMENT_UNKNOWN');
      await refused(open('mallory', base), 403, 'NOT_ELIGIBLE');
      const bad = await open('alice', { ...base, duration: 'soon' });
      assert.equal(bad.status, 400);
      const req = await request('alice', base);
      await refused(act('mallory', `/api/v1/requests/${req.id}/approve`), 403, 'NOT_APPROVER');
      await refused(act('erin', `/api/v1/requests/${req.id}/approve`), 403, 'NOT_APPROVER');
      await refused(act('alice', `/api/v1/requests/${req.id}/approve`), 403, 'SELF_APPROVAL');
      // Past its deadline the request is expired-unanswered (the scheduler or the event finds it).
      f.clock.advance(31 * MIN);
      const late = await act('bob', `/api/v1/requests/${req.id}/approve`);
      assert.ok(late.status === 409 || late.status === 410, late.text);
      assert.equal(await grantRows(), 0);
      await f.coord.access.sweep();
      const got = await as.alice.route(routes.requestsGet, { params: { id: req.id } });
      assert.equal(got.status, 'expired-unanswered');
      const audit = await f.admin.route(routes.auditList, { query: { limit: 10000 } });
      assert.ok(audit.some((a) => a.action === 'request.expire' && a.subject === `request:${req.id}`));
    });

    test('request → approval by another person → grant; expiry ends it (scheduler)', async () => {
      const req = await request('alice', {
        deployment: 'acme-prod',
        services: ['k8s'],
        reason: 'INC-2',
        duration: '1h',
      });
      assert.equal(req.status, 'pending');
      // mallory cannot even see it; bob (approver) can.
      assert.equal((await as.mallory.routeRaw(routes.requestsGet, { params: { id: req.id } })).status, 404);
      assert.ok(
        (await as.bob.route(routes.requestsList, { query: { status: 'pending' } })).some(
          (r) => r.id === req.id,
        ),
      );
      const ok = await act('bob', `/api/v1/requests/${req.id}/approve`);
      assert.equal(ok.status, 200, ok.text);
      assert.equal((ok.body as Json).status, 'approved');
      const again = await act('carol', `/api/v1/requests/${req.id}/approve`);
      assert.equal(again.status, 409);
      const g = await as.alice.route(routes.accessGrantsGet, { params: { id: String(req.grantId) } });
      assert.equal(g.status, 'active');
      assert.equal(g.end - g.start, 60 * MIN);
      const row = await f.coord.store.getGrant(g.id);
      assert.equal(row?.expiresAt, g.end);
      // The standing-grant route may not touch it.
      assert.equal((await f.admin.routeRaw(routes.grantsRevoke, { params: { id: g.id } })).status, 409);
      f.clock.advance(60 * MIN);
      await f.coord.access.sweep();
      const after = await as.alice.route(routes.accessGrantsGet, { params: { id: g.id } });
      assert.equal(after.status, 'expired');
      await waitFor(() =>
        hook.bodies.some((b) => b.text.includes('expired') && b.text.includes('Access ended')),
      );
      for (const t of ['Access requested', 'Access decision', 'Access granted'])
        assert.ok(
          hook.bodies.some((b) => b.text.includes(t)),
          t,
        );
      assert.ok(Array.isArray(hook.bodies[0].blocks));
    });

    test('customer co-approval: two distinct approvers and a customer approver are needed', async () => {
      const req = await request('alice', {
        deployment: 'acme-prod',
        services: ['clickhouse'],
        reason: 'INC-3',
        duration: '30m',
      });
      assert.equal((await act('bob', `/api/v1/requests/${req.id}/approve`)).status, 200);
      await refused(act('bob', `/api/v1/requests/${req.id}/approve`), 409, 'DUPLICATE_APPROVAL');
      const two = await act('carol', `/api/v1/requests/${req.id}/approve`);
      assert.equal((two.body as Json).status, 'pending', 'customer approval still missing');
      assert.equal((await f.coord.store.getGrant(String(req.grantId))) ?? null, null);
      const three = await act('erin', `/api/v1/requests/${req.id}/approve`);
      assert.equal((three.body as Json).status, 'approved');
      assert.ok(await f.coord.store.getGrant(String(req.grantId)));
    });

    test('deny, cancel, revoke', async () => {
      const base = { deployment: 'acme-prod', services: ['grafana'], reason: 'INC-4', duration: '1h' };
      const r1 = await request('alice', base);
      assert.equal((await act('alice', `/api/v1/requests/${r1.id}/deny`, { reason: 'x' })).status, 403);
      const d = await act('bob', `/api/v1/requests/${r1.id}/deny`, { reason: 'not now' });
      assert.equal((d.body as Json).status, 'denied');
      const r2 = await request('alice', base);
      assert.equal((await act('bob', `/api/v1/requests/${r2.id}/cancel`)).status, 403);
      assert.equal(
        ((await act('alice', `/api/v1/requests/${r2.id}/cancel`)).body as Json).status,
        'cancelled',
      );
      const r3 = await request('alice', base);
      await act('dave', `/api/v1/requests/${r3.id}/approve`);
      await refused(act('mallory', `/api/v1/access-grants/${r3.grantId}/revoke`, {}), 403, 'NOT_ALLOWED');
      const rv = await act('alice', `/api/v1/access-grants/${r3.grantId}/revoke`, { reason: 'done' });
      assert.equal((rv.body as Json).status, 'revoked');
      assert.ok((await f.coord.store.getGrant(String(r3.grantId)))?.revokedAt);
    });

    test('extension: approved by another person, the grant end moves, within maxTotal', async () => {
      const r = await request('alice', {
        deployment: 'acme-prod',
        services: ['k8s'],
        reason: 'INC-5',
        duration: '2h',
      });
      await act('bob', `/api/v1/requests/${r.id}/approve`);
      const g0 = await as.alice.route(routes.accessGrantsGet, { params: { id: r.grantId } });
      await refused(
        act('alice', `/api/v1/access-grants/${r.grantId}/extensions`, { duration: '2h', reason: 'more' }),
        400,
        'EXTENSION_EXCEEDS_MAXIMUM',
      );
      const x = await act('alice', `/api/v1/access-grants/${r.grantId}/extensions`, {
        duration: '30m',
        reason: 'more',
      });
      assert.equal(x.status, 201, x.text);
      const xid = (x.body as Json).id as string;
      await refused(act('alice', `/api/v1/extensions/${xid}/approve`), 403, 'SELF_APPROVAL');
      const ok = await act('carol', `/api/v1/extensions/${xid}/approve`);
      assert.equal(ok.status, 200, ok.text);
      const g1 = await as.alice.route(routes.accessGrantsGet, { params: { id: r.grantId } });
      assert.equal(g1.end, g0.end + 30 * MIN);
      assert.equal((await f.coord.store.getGrant(String(r.grantId)))?.expiresAt, g1.end);
      await act('alice', `/api/v1/access-grants/${r.grantId}/revoke`, {});
    });

    test('two approvals at once create exactly one grant', async (t) => {
      for (let i = 0; i < 3; i++) {
        const r = await request('alice', {
          deployment: 'acme-prod',
          services: ['k8s'],
          reason: `RACE-${i}`,
          duration: '1h',
        });
        const before = await grantRows();
        const res = await Promise.all([
          act('bob', `/api/v1/requests/${r.id}/approve`),
          act('carol', `/api/v1/requests/${r.id}/approve`),
          act('dave', `/api/v1/requests/${r.id}/approve`),
        ]);
        const statuses = res.map((x) => x.status).sort();
        assert.deepEqual(statuses, [200, 409, 409], JSON.stringify(res.map((x) => x.body)));
        assert.equal(await grantRows(), before + 1);
        const audit = await f.admin.route(routes.auditList, { query: { limit: 10000 } });
        assert.equal(
          audit.filter((a) => a.action === 'grant.create' && a.subject === `grant:${r.grantId}`).length,
          1,
        );
        await act('alice', `/api/v1/access-grants/${r.grantId}/revoke`, {});
      }
      t.diagnostic(`${name}: transactions retried after a lost race: ${f.coord.store.retries}`);
    });

    test('client certificate for the holder: notAfter = grant end; bad CSRs refused and audited', async () => {
      const r = await request('alice', {
        deployment: 'acme-prod',
        services: ['k8s'],
        reason: 'INC-6',
        duration: '1h',
      });
      await act('bob', `/api/v1/requests/${r.id}/approve`);
      const g = await as.alice.route(routes.accessGrantsGet, { params: { id: r.grantId } });
      const { csrPem } = await createKeyAndCsr({ commonName: 'alice' });
      const c = await act('alice', `/api/v1/access-grants/${r.grantId}/certificate`, { csr: csrPem });
      assert.equal(c.status, 200, c.text);
      const cert = parseCertificate((c.body as { chainPem: string }).chainPem);
      assert.equal(Math.floor(cert.notAfter.getTime() / 1000), Math.floor(g.end / 1000));
      assert.match(cert.subject, /alice/);
      await refused(
        act('bob', `/api/v1/access-grants/${r.grantId}/certificate`, { csr: csrPem }),
        404,
        'NOT_FOUND',
      );
      await refused(
        act('alice', `/api/v1/access-grants/${r.grantId}/certificate`, {
          csr: '-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n',
        }),
        400,
        'BAD_CSR',
      );
      await act('alice', `/api/v1/access-grants/${r.grantId}/revoke`, {});
      await refused(
        act('alice', `/api/v1/access-grants/${r.grantId}/certificate`, { csr: csrPem }),
        409,
        'GRANT_NOT_ACTIVE',
      );
    });

    test('an unanswered extension lapses at its deadline (scheduler); the grant is unchanged', async () => {
      const r = await request('alice', {
        deployment: 'acme-prod',
        services: ['k8s'],
        reason: 'INC-8',
        duration: '2h',
      });
      await act('bob', `/api/v1/requests/${r.id}/approve`);
      const x = (await act('alice', `/api/v1/access-grants/${r.grantId}/extensions`, {
        duration: '30m',
        reason: 'more',
      })) as { body: Json };
      const g0 = await as.alice.route(routes.accessGrantsGet, { params: { id: r.grantId } });
      f.clock.advance(31 * MIN);
      await f.coord.access.sweep();
      const xs = await as.alice.route(routes.extensionsList, { query: { grant: String(r.grantId) } });
      assert.equal(xs.find((e) => e.id === x.body.id)?.status, 'expired-unanswered');
      const g1 = await as.alice.route(routes.accessGrantsGet, { params: { id: r.grantId } });
      assert.equal(g1.end, g0.end);
      assert.equal(g1.status, 'active');
      await act('alice', `/api/v1/access-grants/${r.grantId}/revoke`, {});
    });

    test('after a coordinator restart the scheduler still expires pending requests', async () => {
      const r = await request('alice', {
        deployment: 'acme-prod',
        services: ['k8s'],
        reason: 'INC-9',
        duration: '1h',
      });
      await f.restart();
      f.clock.advance(31 * MIN);
      await f.coord.access.sweep();
      const got = await as.alice.route(routes.requestsGet, { params: { id: r.id } });
      assert.equal(got.status, 'expired-unanswered');
    });

    test('webhooks retry a failing receiver; the API answers regardless', async () => {
      const n = hook.bodies.length;
      hook.failFirst = 1;
      const r = await request('alice', {
        deployment: 'acme-prod',
        services: ['k8s'],
        reason: 'HOOK-1',
        duration: '1h',
      });
      assert.equal(r.status, 'pending');
      await waitFor(() => hook.failFirst === 0);
      f.clock.advance(1000);
      await waitFor(() => hook.bodies.slice(n).some((b) => b.text.includes('HOOK-1')));
      await act('alice', `/api/v1/requests/${r.id}/cancel`);
    });
  });
}
