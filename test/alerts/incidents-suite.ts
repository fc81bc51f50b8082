// The coordinator's Alertmanager webhook and incidents: the receiver token (not a user session)
// is required and counted when missing; bodies are validated strictly (400, nothing written);
// firing opens an incident per deployment (unknown deployment → the global bucket), resolved
// closes it, each with an audit record; notifications go to the webhooks, escaped.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ADMIN, startFixture, type Fixture } from '../control/fixture.ts';
import { run as runAdmin } from '../../src/cli/admin.ts';
import { run as runIncidents } from '../../src/cli/incidents.ts';
import { amBody, startReceiver, waitFor, type Hook } from './helpers.ts';

const HOOK = '/api/v1/alerts/alertmanager';
type Incident = {
  id: string;
  fingerprint: string;
  startsAt: string;
  state: string;
  deployment: string | null;
  deploymentLabel: string | null;
  alertname: string;
  notifications: number;
  summary: string;
};
type Audit = { action: string; subject: string; actor: string; details: Record<string, unknown> };

export function incidentsSuite(
  name: string,
  db: () => Promise<{ url?: string; stop(): Promise<void> }>,
): void {
  describe(`alerts: Alertmanager webhook and incidents on ${name}`, () => {
    let f: Fixture;
    let dbh: { url?: string; stop(): Promise<void> };
    let hook: Hook;
    let token: string;
    const incidents = (q = '') => f.admin.call<Incident[]>('GET', `/api/v1/incidents${q}`);
    const audit = async () => f.admin.call<Audit[]>('GET', '/api/v1/audit?limit=10000');
    const post = (body: unknown, tok: string | undefined = token) =>
      f.anon.raw('POST', HOOK, body, tok ? { authorization: `Bearer ${tok}` } : {});
    const metric = async (name: string, labels: string) => {
      const text = await f.metricsText();
      const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
      return line ? Number(line.split(' ').pop()) : 0;
    };

    before(async () => {
      hook = await startReceiver();
      dbh = await db();
      f = await startFixture({ ...(dbh.url ? { db: dbh.url } : {}), webhooks: [hook.url] });
      await f.admin.call('POST', '/api/v1/deployments', {
        name: 'acme-prod',
        region: 'us-east-1',
        cloud: 'aws',
      });
      await f.admin.call('POST', '/api/v1/deployments', {
        name: 'beta-dev',
        region: 'eu-west-1',
        cloud: 'aws',
      });
      const r = await f.admin.call<{ token: string; name: string; deployment: null }>(
        'POST',
        '/api/v1/alert-tokens',
        {
          name: 'alertmanager',
        },
      );
      assert.equal(r.deployment, null);
      token = r.token;
    });
    after(async () => {
      await f?.stop();
      await new Promise((r) => hook?.server.close(r));
      await dbh?.stop();
    });

    test('no receiver token, a user session token or a wrong token: 401, counted, nothing written', async () => {
      const body = amBody([{ status: 'firing', fingerprint: 'aa01', labels: { alertname: 'X' } }]);
      const before = await metric('sallyport_coordinator_alert_deliveries_total', 'result="unauthorized"');
      const login = await f.anon.raw('POST', '/api/v1/login', { user: ADMIN.name, password: ADMIN.password });
      const session = (login.body as { token: string }).token;
      assert.ok(session);
      for (const tok of ['', 'spa_not-a-real-token-at-all', session]) {
        const r = await post(body, tok);
        assert.equal(r.status, 401, JSON.stringify(r.body));
        assert.equal((r.body as { error: { code: string } }).error.code, 'UNAUTHORIZED');
      }
      assert.equal(
        await metric('sallyport_coordinator_alert_deliveries_total', 'result="unauthorized"'),
        before + 3,
      );
      assert.deepEqual(await incidents('?state=all'), []);
    });

    test('malformed bodies: 400, never a crash, nothing written', async () => {
      const ok = amBody([{ status: 'firing', fingerprint: 'aa02', labels: { alertname: 'X' } }]);
      const alert0 = (ok.alerts as Record<string, unknown>[])[0];
      const bad: unknown[] = [
        '{not json',
        [],
        { ...ok, version: '3' },
        { ...ok, surprise: 1 },
        { ...ok, alerts: [{ ...alert0, fingerprint: undefined }] },
        { ...ok, alerts: [{ ...alert0, status: 'pending' }] },
        { ...ok, alerts: [{ ...alert0, labels: { alertname: 7 } }] },
        { ...ok, alerts: [{ ...alert0, extra: true }] },
        { ...ok, alerts: Array.from({ length: 501 }, () => alert0) },
      ];
      for (const b of bad) {
        const r = await post(b);
        assert.equal(r.status, 400, `${JSON.stringify(b).slice(0, 80)} → ${r.status} ${r.text}`);
      }
      const big = await post({ ...ok, groupKey: 'x'.repeat(600 * 1024) });
      assert.equal(big.status, 413);
      assert.ok((await metric('sallyport_coordinator_alert_deliveries_total', 'result="bad-request"')) >= 8);
      assert.deepEqual(await incidents('?state=all'), []);
      assert.equal((await f.anon.raw('GET', '/health')).status, 200);
    });

    test('firing opens an incident in its deployment, audited and notified (escaped); repeats update it', async () => {
      const labels = {
        alertname: 'ClickHouseDown',
        severity: 'critical',
        deployment: 'acme-prod',
        job: 'clickhouse',
      };
      const firing = amBody([
        { status: 'firing', fingerprint: 'c0ffee01', labels, summary: 'ClickHouse down <!channel> @here' },
      ]);
      const r = await post(firing);
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(r.body, { opened: 1, closed: 0 });
      const open = await incidents('?state=open');
      assert.equal(open.length, 1);
      assert.equal(open[0].deployment, 'acme-prod');
      assert.equal(open[0].alertname, 'ClickHouseDown');
      assert.equal(open[0].notifications, 1);
      assert.deepEqual(await incidents('?deployment=beta-dev'), []);
      assert.equal((await incidents('?deployment=acme-prod')).length, 1);
      const opened = (await audit()).filter((a) => a.action === 'incident.open');
      assert.equal(opened.length, 1);
      assert.equal(opened[0].actor, 'alert-token:alertmanager');
      assert.equal(opened[0].subject, `incident:${open[0].id}`);
      await waitFor(() => hook.bodies.some((b) => b.text.includes('Incident opened')), 5000, 'notification');
      const note = hook.bodies.find((b) => b.text.includes('Incident opened'))!;
      assert.match(note.text, /ClickHouseDown \[critical\] firing in acme-prod/);
      assert.ok(!note.text.includes('<!channel>'), note.text);
      assert.ok(note.text.includes('&lt;!channel&gt;'), note.text);

      assert.equal((await post(firing)).status, 200);
      const again = await incidents('?state=open');
      assert.equal(again.length, 1);
      assert.equal(again[0].notifications, 2);
      assert.equal(
        (await audit()).filter((a) => a.action === 'incident.open').length,
        1,
        'an update is not an open',
      );
    });

    test('resolved closes the incident, audited and notified; a late firing of that episode stays closed', async () => {
      const labels = {
        alertname: 'ClickHouseDown',
        severity: 'critical',
        deployment: 'acme-prod',
        job: 'clickhouse',
      };
      const r = await post(
        amBody([{ status: 'resolved', fingerprint: 'c0ffee01', labels, summary: 'ClickHouse down' }]),
      );
      assert.deepEqual(r.body, { opened: 0, closed: 1 });
      assert.deepEqual(await incidents('?state=open'), []);
      const closed = await incidents('?state=closed');
      assert.equal(closed.length, 1);
      assert.equal(closed[0].state, 'closed');
      assert.equal((await audit()).filter((a) => a.action === 'incident.close').length, 1);
      await waitFor(
        () => hook.bodies.some((b) => b.text.includes('Incident resolved')),
        5000,
        'notification',
      );
      // Resolved again, and a late firing of the same episode: nothing changes.
      assert.deepEqual((await post(amBody([{ status: 'resolved', fingerprint: 'c0ffee01', labels }]))).body, {
        opened: 0,
        closed: 0,
      });
      assert.deepEqual((await post(amBody([{ status: 'firing', fingerprint: 'c0ffee01', labels }]))).body, {
        opened: 0,
        closed: 0,
      });
      // A new episode (new startsAt) of the same alert is a new incident.
      const next = amBody([
        { status: 'firing', fingerprint: 'c0ffee01', labels, startsAt: '2026-12-06T04:00:00.000Z' },
      ]);
      assert.deepEqual((await post(next)).body, { opened: 1, closed: 0 });
      assert.equal((await incidents('?state=all')).length, 2);
    });

    test('an unknown or missing deployment label goes to the global bucket', async () => {
      await post(
        amBody([
          { status: 'firing', fingerprint: 'dd01', labels: { alertname: 'A', deployment: 'nope' } },
          { status: 'firing', fingerprint: 'dd02', labels: { alertname: 'B' } },
        ]),
      );
      const global = await incidents('?deployment=global');
      assert.deepEqual(global.map((i) => [i.alertname, i.deployment, i.deploymentLabel]).sort(), [
        ['A', null, 'nope'],
        ['B', null, null],
      ]);
    });

    test('a token bound to a deployment: other deployments refused (403), unlabelled alerts take its deployment; revoked → 401', async () => {
      const t = await f.admin.call<{ token: string; deployment: string }>('POST', '/api/v1/alert-tokens', {
        name: 'beta-am',
        deployment: 'beta-dev',
      });
      assert.equal(t.deployment, 'beta-dev');
      const other = await post(
        amBody([
          { status: 'firing', fingerprint: 'ee01', labels: { alertname: 'A', deployment: 'acme-prod' } },
        ]),
        t.token,
      );
      assert.equal(other.status, 403, other.text);
      const mine = await post(
        amBody([{ status: 'firing', fingerprint: 'ee02', labels: { alertname: 'Mine' } }]),
        t.token,
      );
      assert.equal(mine.status, 200, mine.text);
      assert.deepEqual(
        (await incidents('?deployment=beta-dev')).map((i) => i.alertname),
        ['Mine'],
      );
      await f.admin.call('POST', '/api/v1/alert-tokens/beta-am/revoke');
      const revoked = await post(
        amBody([{ status: 'firing', fingerprint: 'ee03', labels: { alertname: 'M' } }]),
        t.token,
      );
      assert.equal(revoked.status, 401);
      const list = await f.admin.call<{ name: string; revokedAt: number | null }[]>(
        'GET',
        '/api/v1/alert-tokens',
      );
      assert.deepEqual(
        list.map((x) => [x.name, x.revokedAt !== null]),
        [
          ['alertmanager', false],
          ['beta-am', true],
        ],
      );
    });

    test('CLI: sallyport admin alert-tokens create/list and sallyport incidents [--json]', async () => {
      const login = await f.anon.raw('POST', '/api/v1/login', { user: ADMIN.name, password: ADMIN.password });
      const env: Record<string, string> = {
        SALLYPORT_SERVER: f.coord.url,
        SALLYPORT_TOKEN: (login.body as { token: string }).token,
        SALLYPORT_FINGERPRINT: f.coord.tls.fingerprint,
      };
      const cap = async (fn: typeof runAdmin, ...args: string[]) => {
        let out = '';
        let err = '';
        const code = await fn(args, {
          env,
          stdout: (x) => (out += x),
          stderr: (x) => (err += x),
          stdinLine: () => '',
        });
        return { code, out, err };
      };
      const made = await cap(runAdmin, 'alert-tokens', 'create', 'cli-am', '--deployment', 'acme-prod');
      assert.equal(made.code, 0, made.err);
      const tok = made.out.trim();
      assert.match(tok, /^spa_[A-Za-z0-9_-]{20,}$/);
      const listed = await cap(runAdmin, 'alert-tokens', 'list');
      assert.match(listed.out, /cli-am\s+acme-prod/);
      assert.ok(!listed.out.includes(tok), 'the token is shown once, never listed');
      assert.equal(
        (
          await post(
            amBody([{ status: 'firing', fingerprint: 'ff01', labels: { alertname: 'CliAlert' } }]),
            tok,
          )
        ).status,
        200,
      );
      const table = await cap(runIncidents, '--deployment', 'acme-prod');
      assert.equal(table.code, 0, table.err);
      assert.match(table.out, /^ID\s+STATE\s+DEPLOYMENT\s+ALERT/);
      assert.match(table.out, /open\s+acme-prod\s+CliAlert/);
      const json = await cap(runIncidents, '--state', 'all', '--json');
      assert.equal(json.code, 0, json.err);
      const rows = JSON.parse(json.out) as Incident[];
      assert.ok(rows.some((r) => r.alertname === 'CliAlert' && r.state === 'open'));
      assert.ok(rows.some((r) => r.state === 'closed'));
      const bad = await cap(runIncidents, '--state', 'sideways');
      assert.equal(bad.code, 2);
    });

    test('tokens are an administrator’s; incidents need a signed-in user', async () => {
      assert.equal((await f.anon.raw('GET', '/api/v1/incidents')).status, 401);
      assert.equal((await f.anon.raw('POST', '/api/v1/alert-tokens', { name: 'x' })).status, 401);
    });

    test('random and mutated bodies: only 200 or 400, never a crash (500)', async () => {
      const valid = amBody([
        { status: 'firing', fingerprint: 'fa01', labels: { alertname: 'Fuzz' }, summary: 's' },
      ]);
      const mutate = fc
        .tuple(
          fc.constantFrom(
            'receiver',
            'status',
            'alerts',
            'version',
            'groupLabels',
            'truncatedAlerts',
            'extra',
          ),
          fc.jsonValue(),
        )
        .map(([k, v]) => ({ ...valid, [k]: v }));
      const mutateAlert = fc
        .tuple(
          fc.constantFrom(
            'status',
            'labels',
            'annotations',
            'startsAt',
            'endsAt',
            'fingerprint',
            'generatorURL',
            'x',
          ),
          fc.jsonValue(),
        )
        .map(([k, v]) => ({ ...valid, alerts: [{ ...(valid.alerts as object[])[0], [k]: v }] }));
      await fc.assert(
        fc.asyncProperty(fc.oneof(fc.jsonValue(), mutate, mutateAlert), async (body) => {
          const r = await post(JSON.stringify(body));
          assert.ok(
            r.status === 200 || r.status === 400,
            `${r.status} ${r.text} for ${JSON.stringify(body).slice(0, 200)}`,
          );
        }),
        { numRuns: 150 },
      );
      // Whatever was accepted was an Alertmanager alert; close what the fuzzing opened.
      for (const i of await incidents('?state=open'))
        await post(
          amBody([{ status: 'resolved', fingerprint: i.fingerprint, labels: {}, startsAt: i.startsAt }]),
        );
      assert.deepEqual(await incidents('?state=open'), []);
      assert.equal((await f.anon.raw('GET', '/health')).status, 200);
    });
  });
}
