// The clickhouse target against Debian's real ClickHouse 18.16 (no overlay): the reconciler
// writes a grant user into users.d, the router-auth proxy serves an engineer through a plain TCP
// listener standing in for the router, and the query_log poller fills the local audit.
// Shown: system tables readable; another database → 291; INSERT → 164 (also for a read-write
// grant, which ClickHouse reports as readonly=2); another user's query text
// (an admin query holding a secret literal) refused through query_log and processes, the literal
// never in any answer — while the same SELECT sent straight to ClickHouse as the grant user does
// leak it (the gate is what closes the hole); the user exists within 2 s of reconcile and is gone
// at ClickHouse within 3 s of removal and of expiry; restart convergence; audit with grant id.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { realClock } from '../../src/clock/index.ts';
import {
  chQuery,
  createClickHouseTarget,
  type ClickHouseReconciler,
} from '../../src/targets/clickhouse/index.ts';
import type { GrantIdentity, GrantUsageSummary, Target } from '../../src/targets/index.ts';
import {
  clickhouseInstalled,
  startClickHouse,
  type ClickHouseServer,
} from '../../src/lab/servers/clickhouse.ts';
import { LogSink, waitFor } from '../../src/testing/harness.ts';
import { needs } from '../../src/testing/require.ts';

const missing = clickhouseInstalled()
  ? undefined
  : 'needs clickhouse-server (apt-get install clickhouse-server)';

let ch: ClickHouseServer;
let tmp: string;
let target: Target;
let router: net.Server;
let routerPort = 0;
const audit: { action: string; subject: string; details: Record<string, unknown> }[] = [];
const reports: GrantUsageSummary[] = [];
const logs = new LogSink('warn');
const SECRET = `SECRET_${randomBytes(6).toString('hex')}`;

const grant = (
  grantId: string,
  user: string,
  notAfter: number | null,
  access: GrantIdentity['access'] = 'read-only',
): GrantIdentity => ({
  grantId,
  user,
  service: 'clickhouse',
  deployment: 'acme-prod',
  notAfter,
  access,
});
let current: GrantIdentity = grant('g-alice-1', 'alice@example.com', null);
const ctl = new AbortController();

function makeTarget(stateDir: string): Target {
  writeFileSync(join(tmp, 'admin.pw'), ch.adminUser.password + '\n', { mode: 0o600 });
  return createClickHouseTarget(
    {
      service: 'clickhouse',
      deployment: 'acme-prod',
      address: `127.0.0.1:${ch.httpPort}`,
      options: {
        mode: 'router-auth',
        usersDir: ch.usersDir,
        admin: { user: ch.adminUser.user, passwordFile: join(tmp, 'admin.pw') },
        auditIntervalMs: 300,
      },
    },
    {
      clock: realClock,
      logger: logs.logger,
      stateDir,
      audit: { append: (action, subject, details) => audit.push({ action, subject, details }) },
      report: (s) => reports.push(s),
    },
  );
}

/** An engineer request through the proxy, on a fresh connection (the router serves one grant per connection). */
function engineer(
  sql: string,
  o: { params?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port: routerPort,
        method: 'POST',
        path: `/${o.params ?? ''}`,
        headers: o.headers,
        agent: false,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end(sql);
  });
}

const admin = (sql: string, params?: Record<string, string>) =>
  chQuery({ host: '127.0.0.1', port: ch.httpPort }, ch.adminUser, sql, { params });
const reconciler = () => target.reconciler as ClickHouseReconciler;

before(async () => {
  if (missing) return;
  tmp = mkdtempSync(join(tmpdir(), 'sallyport-ch-'));
  ch = await startClickHouse({ dir: join(tmp, 'server'), logger: logs.logger });
  await admin('CREATE TABLE default.customer_data (id UInt32, secret String) ENGINE = Memory');
  await admin(`INSERT INTO default.customer_data VALUES (1, '${SECRET}')`);
  target = makeTarget(join(tmp, 'state'));
  router = net.createServer((sock) => {
    target.proxy!.serve(sock, {
      ...current,
      address: `127.0.0.1:${ch.httpPort}`,
      clock: realClock,
      logger: logs.logger,
      signal: ctl.signal,
    });
  });
  await new Promise<void>((r) => router.listen(0, '127.0.0.1', r));
  routerPort = (router.address() as net.AddressInfo).port;
});

after(async () => {
  ctl.abort();
  router?.close();
  await target?.close();
  await ch?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

test('the grant user exists within 2 s of reconcile and reads system tables', async (t) => {
  if (!needs(t, missing)) return;
  const t0 = realClock.now();
  await target.reconciler!.reconcile([current]);
  await waitFor(async () => (await engineer('SELECT 1')).status === 200, 2000, 'grant user can log in');
  const ms = realClock.now() - t0;
  t.diagnostic(`user usable ${ms.toFixed(0)} ms after reconcile`);
  const r = await engineer('SELECT count() FROM system.tables');
  assert.equal(r.status, 200, r.body);
  assert.ok(Number(r.body) > 10, r.body);
  const qid = `who-${randomBytes(4).toString('hex')}`;
  const who = await engineer(`SELECT user FROM system.processes WHERE query_id = '${qid}'`, {
    params: `?query_id=${qid}&user=default&password=${encodeURIComponent(ch.adminUser.password)}&readonly=0&database=default`,
    headers: { 'X-ClickHouse-User': 'default', 'X-ClickHouse-Key': ch.adminUser.password },
  });
  assert.equal(who.status, 200, who.body);
  assert.match(
    who.body.trim(),
    /^sp_alice_example_com_g_alice_1_[0-9a-f]{8}$/,
    'client credentials are ignored',
  );
  const files = readdirSync(ch.usersDir);
  assert.deepEqual(files, [`sallyport-${who.body.trim()}.xml`]);
});

test('another database answers 291 and INSERT 164, from ClickHouse itself', async (t) => {
  if (!needs(t, missing)) return;
  const sel = await engineer('SELECT * FROM default.customer_data');
  assert.notEqual(sel.status, 200);
  assert.match(sel.body, /Code: 291/);
  assert.ok(!sel.body.includes(SECRET));
  const ins = await engineer("INSERT INTO default.customer_data VALUES (2, 'x')", { params: '?readonly=0' });
  assert.notEqual(ins.status, 200);
  assert.match(ins.body, /Code: 164/);
  const set = await engineer('SET readonly = 0');
  assert.match(set.body, /Code: 164/);
});

test('a read-write grant is readonly=2 at ClickHouse, yet INSERT is still 164 and other databases 291', async (t) => {
  if (!needs(t, missing)) return;
  const readonly = async () =>
    (await engineer("SELECT value FROM system.settings WHERE name = 'readonly'")).body.trim();
  const readOnly = current;
  assert.equal(await readonly(), '1', 'read-only grant');
  current = { ...readOnly, access: 'read-write' };
  try {
    await target.reconciler!.reconcile([current]);
    await waitFor(async () => (await readonly()) === '2', 3000, 'ClickHouse loads readonly=2');
    const ins = await engineer("INSERT INTO default.customer_data VALUES (3, 'x')");
    assert.notEqual(ins.status, 200);
    assert.match(ins.body, /Code: 164/, 'read-write: still no writes');
    const lift = await engineer('SELECT 1 SETTINGS readonly = 0');
    assert.doesNotMatch(lift.body, /^1\s*$/, 'readonly cannot be lifted');
    const sel = await engineer('SELECT * FROM default.customer_data');
    assert.match(sel.body, /Code: 291/, 'read-write: still only the system database');
    assert.ok(!sel.body.includes(SECRET));
  } finally {
    current = readOnly;
    await target.reconciler!.reconcile([current]);
    await waitFor(async () => (await readonly()) === '1', 3000, 'back to read-only');
  }
});

test("another user's query text is refused through query_log and processes", async (t) => {
  if (!needs(t, missing)) return;
  // The customer's admin: one logged query holding the secret, one still running.
  await admin(`SELECT '${SECRET}' AS s`, { log_queries: '1' });
  const running = admin(`SELECT sleep(3), '${SECRET}'`, { log_queries: '1' });
  await admin('SYSTEM FLUSH LOGS');
  await waitFor(
    async () =>
      (
        await admin(`SELECT count() FROM system.processes WHERE query LIKE '%sleep(3)%' AND user = 'default'`)
      ).body.trim() !== '0',
    2000,
    'admin query running',
  );

  // Control: sent straight to ClickHouse as the grant user, the text leaks (the hole is real).
  const cred = reconciler().credentials(current.grantId)!;
  const direct = await chQuery(
    { host: '127.0.0.1', port: ch.httpPort },
    cred,
    'SELECT query FROM system.processes',
  );
  assert.ok(direct.body.includes(SECRET), 'without the gate, system.processes shows the admin query');

  const attempts = [
    'SELECT query FROM system.processes',
    'SELECT * FROM system.processes',
    'SHOW PROCESSLIST',
    `SELECT query FROM system.query_log WHERE query LIKE '%SECRET%'`,
    'SELECT * FROM system.query_log',
    'SELECT q FROM (SELECT query AS q FROM system.query_log)',
    'SELECT `query` FROM system.query_log',
    'SELECT exception, stack_trace FROM system.query_log',
    "SELECT count() FROM system.query_log WHERE position(query, 'SECRET') > 0",
    'SELECT t.* FROM system.processes AS t',
    "SELECT * FROM merge('system', '^query_log$')",
    'SELECT query FROM system.query_log; SELECT 1',
    'SELECT query FROM system.query_log -- harmless',
  ];
  for (const sql of attempts) {
    const r = await engineer(sql);
    assert.equal(r.status, 403, `${sql} → ${r.status} ${r.body}`);
    assert.match(r.body, /^sallyport: refused: /);
    assert.ok(!r.body.includes(SECRET), sql);
  }
  // What remains readable carries no query text.
  for (const sql of [
    'SELECT query_id, user, elapsed FROM system.processes FORMAT TSV',
    'SELECT type, user, query_id, read_rows FROM system.query_log ORDER BY event_time DESC LIMIT 50 FORMAT TSV',
  ]) {
    const r = await engineer(sql);
    assert.equal(r.status, 200, `${sql}: ${r.body}`);
    assert.ok(!r.body.includes(SECRET), sql);
  }
  await running;
  const refusals = audit.filter((a) => a.action === 'clickhouse.query.refused');
  assert.ok(refusals.length >= attempts.length);
  assert.ok(refusals.every((a) => a.subject === `grant:${current.grantId}`));
});

test("the engineer's queries reach the local audit with the grant id, once each", async (t) => {
  if (!needs(t, missing)) return;
  const marker = `marker_${randomBytes(4).toString('hex')}`;
  const r = await engineer(`SELECT '${marker}' FROM system.one`);
  assert.equal(r.status, 200);
  await waitFor(
    () => audit.some((a) => a.action === 'clickhouse.query' && String(a.details.query).includes(marker)),
    5000,
    'query in the local audit',
  );
  await new Promise((res) => setTimeout(res, 800)); // two more polls must not repeat it
  const rows = audit.filter(
    (a) => a.action === 'clickhouse.query' && String(a.details.query).includes(marker),
  );
  assert.equal(rows.length, 1);
  assert.equal(rows[0]!.subject, `grant:${current.grantId}`);
  assert.equal(rows[0]!.details.status, 'ok');
  const failed = audit.filter(
    (a) =>
      a.action === 'clickhouse.query' &&
      a.details.status === 'failed' &&
      /customer_data/.test(String(a.details.query)),
  );
  assert.ok(failed.length >= 1, 'the 291 query is audited as failed');
});

test('removal: gone at ClickHouse within 3 s, refused at the proxy, usage reported', async (t) => {
  if (!needs(t, missing)) return;
  const cred = reconciler().credentials(current.grantId)!;
  const t0 = realClock.now();
  await target.reconciler!.reconcile([]);
  assert.equal(readdirSync(ch.usersDir).length, 0);
  const viaProxy = await engineer('SELECT 1');
  assert.equal(viaProxy.status, 403);
  await waitFor(
    async () =>
      /Code: 192|Code: 516|Unknown user/.test(
        (await chQuery({ host: '127.0.0.1', port: ch.httpPort }, cred, 'SELECT 1')).body,
      ),
    3000,
    'user gone at ClickHouse',
  );
  t.diagnostic(`user gone at ClickHouse ${(realClock.now() - t0).toFixed(0)} ms after removal`);
  await waitFor(() => reports.some((r) => r.grantId === current.grantId), 3000, 'usage reported');
  const rep = reports.find((r) => r.grantId === current.grantId)!;
  assert.equal(rep.service, 'clickhouse');
  assert.ok(rep.queries >= 20, JSON.stringify(rep));
  assert.ok(rep.failures >= 15, JSON.stringify(rep));
});

test('expiry removes the user by itself, within 3 s at ClickHouse', async (t) => {
  if (!needs(t, missing)) return;
  current = grant('g-bob-2', 'bob', realClock.wallMs() + 1500);
  await target.reconciler!.reconcile([current]);
  await waitFor(async () => (await engineer('SELECT 1')).status === 200, 2000, 'grant user can log in');
  const cred = reconciler().credentials(current.grantId)!;
  await waitFor(() => realClock.wallMs() >= current.notAfter!, 3000, 'grant end');
  const end = realClock.now();
  assert.equal((await engineer('SELECT 1')).status, 403);
  await waitFor(
    async () => (await chQuery({ host: '127.0.0.1', port: ch.httpPort }, cred, 'SELECT 1')).status !== 200,
    3000,
    'user gone at ClickHouse after expiry',
  );
  t.diagnostic(`user gone at ClickHouse ${(realClock.now() - end).toFixed(0)} ms after expiry`);
});

test('a restarted connector converges: stale users go, foreign files stay', async (t) => {
  if (!needs(t, missing)) return;
  await target.close();
  const stale = join(ch.usersDir, 'sallyport-sp_old_g_old_00000000.xml');
  writeFileSync(stale, '<?xml version="1.0"?>\n<yandex><users/></yandex>\n');
  const foreign = join(ch.usersDir, 'customer.xml');
  writeFileSync(foreign, '<?xml version="1.0"?>\n<yandex><users/></yandex>\n');
  target = makeTarget(join(tmp, 'state'));
  current = grant('g-carol-3', 'carol', null);
  await target.reconciler!.reconcile([current]);
  assert.ok(!existsSync(stale));
  assert.ok(existsSync(foreign));
  await waitFor(async () => (await engineer('SELECT 1')).status === 200, 2000, 'new grant user can log in');
  rmSync(foreign);
  await target.reconciler!.reconcile([]);
});
