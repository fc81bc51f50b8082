// Debian's ClickHouse through the overlay with a just-in-time grant: coordinator, relay, a
// connector serving the clickhouse target (router-auth) and an engineer agent with SOCKS5, all in
// this process. The engineer's curl speaks TLS with the grant certificate to the service's
// tailnet name through SOCKS5; the connector's router terminates it and hands the request to the
// target's proxy, which queries ClickHouse as the grant's own read-only user.
//
// Shows: the grant user exists within 2 s of the grant; system tables readable; another database
// 291, INSERT 164; another user's query text refused through query_log and processes with the
// secret never reaching the engineer; queries in the connector's local audit under the grant id;
// within 3 s of the grant's end the user is gone at ClickHouse and the router refuses the query.
//
// Fail closed (issue 13): the connector reads its services from a config file, as in production,
// and the adversarial checks run against every clickhouse configuration it accepts, each on its
// own ClickHouse: `clickhouse` (explicit router-auth target, tls=terminate, admin) and
// `ch-defaults` (tls omitted, target with only usersDir). The configurations that used to give a
// raw pipe are refused at start (test/targets/clickhouse-failclosed.test.ts).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { realClock } from '../../src/clock/index.ts';
import { LocalAudit } from '../../src/agent/local-audit.ts';
import { readConfigFile } from '../../src/agent/index.ts';
import { targetKinds } from '../../src/targets/index.ts';
import { chQuery, type ClickHouseReconciler } from '../../src/targets/clickhouse/index.ts';
import {
  clickhouseInstalled,
  startClickHouse,
  type ClickHouseServer,
} from '../../src/lab/servers/clickhouse.ts';
import { Harness, waitFor, type AgentHandle } from '../../src/testing/harness.ts';
import { needs } from '../../src/testing/require.ts';

const missing = !clickhouseInstalled()
  ? 'needs clickhouse-server (apt-get install clickhouse-server)'
  : !existsSync('/usr/bin/curl')
    ? 'needs curl'
    : !targetKinds().includes('clickhouse')
      ? 'the clickhouse target is not registered in src/targets/registry.ts (lead wiring)'
      : undefined;

// Long enough for every check below on a loaded 2-core machine; the last test waits for its end.
const GRANT_MS = 90_000;
const SECRET = `SECRET_${randomBytes(6).toString('hex')}`;
let tmp: string;
let ch: ClickHouseServer;
/** The second ClickHouse, behind `ch-defaults`. */
let ch2: ClickHouseServer;
let h: Harness;
let conn: AgentHandle;
let eng: AgentHandle;
let grantId: string;
let grantEnd = 0;
let url: string;
let certDir: string;
let url2: string;
let grantUser: { user: string; password: string } | undefined;
let createdMs = 0;

const admin = (sql: string, params?: Record<string, string>, server = ch) =>
  chQuery({ host: '127.0.0.1', port: server.httpPort }, server.adminUser, sql, { params });

/** The engineer's curl: TLS with the grant certificate, through the agent's SOCKS5. */
function curl(
  sql: string,
  to = url,
  extra: string[] = [],
): Promise<{ code: number; status: number; body: string; err: string }> {
  const socks = eng.agent.socksAddress!;
  return new Promise((resolve, reject) => {
    const p = spawn(
      'curl',
      [
        '-sS',
        '--max-time',
        '10',
        '--socks5-hostname',
        `${socks.host}:${socks.port}`,
        '--cacert',
        join(certDir, 'ca.pem'),
        '--cert',
        join(certDir, 'cert.pem'),
        '--key',
        join(certDir, 'key.pem'),
        '-w',
        '\n%{http_code}',
        ...extra,
        '--data-binary',
        sql,
        to,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    p.stdout.on('data', (b: Buffer) => (out += b.toString()));
    p.stderr.on('data', (b: Buffer) => (err += b.toString()));
    p.on('error', reject);
    p.on('close', (code) => {
      const i = out.lastIndexOf('\n');
      resolve({
        code: code ?? -1,
        status: Number(out.slice(i + 1)) || 0,
        body: out.slice(0, Math.max(0, i)),
        err,
      });
    });
  });
}

before(async () => {
  if (missing) return;
  tmp = mkdtempSync(join(tmpdir(), 'sallyport-ch-overlay-'));
  ch = await startClickHouse({ dir: join(tmp, 'clickhouse') });
  ch2 = await startClickHouse({ dir: join(tmp, 'clickhouse2') });
  for (const server of [ch, ch2]) {
    await admin('CREATE TABLE default.customer_data (id UInt32, email String) ENGINE = Memory', {}, server);
    await admin(`INSERT INTO default.customer_data VALUES (1, '${SECRET}@customer.example')`, {}, server);
  }
  const pw = join(tmp, 'admin-password');
  writeFileSync(pw, ch.adminUser.password + '\n', { mode: 0o600 });
  const config = join(tmp, 'connector.json');
  writeFileSync(
    config,
    JSON.stringify({
      services: [
        {
          name: 'clickhouse',
          kind: 'clickhouse',
          address: `127.0.0.1:${ch.httpPort}`,
          tls: 'terminate',
          target: {
            mode: 'router-auth',
            usersDir: ch.usersDir,
            admin: { user: ch.adminUser.user, passwordFile: pw },
            auditIntervalMs: 300,
          },
        },
        // tls omitted, no mode, no admin: the least a user writes.
        {
          name: 'ch-defaults',
          kind: 'clickhouse',
          address: `127.0.0.1:${ch2.httpPort}`,
          target: { usersDir: ch2.usersDir },
        },
      ],
    }),
  );
  h = await Harness.start();
  await h.deployment('acme-prod');
  await h.user('alice');
  conn = await h.connector({ deployment: 'acme-prod', services: readConfigFile(config) });
  const rootPem = await h.serviceCertRoot(conn.agent, ['clickhouse', 'ch-defaults']);
  eng = await h.engineer({ user: 'alice', socks5: true });

  const t0 = realClock.now();
  grantId = await h.grantFor(
    { type: 'user', name: 'alice' },
    'acme-prod',
    ['clickhouse', 'ch-defaults'],
    GRANT_MS,
  );
  grantEnd = realClock.wallMs() + GRANT_MS;
  const rec = conn.agent.targets!.get('clickhouse')!.reconciler as ClickHouseReconciler;
  await waitFor(
    async () => {
      grantUser ??= rec.credentials(grantId);
      if (!grantUser) return false;
      return (await chQuery({ host: '127.0.0.1', port: ch.httpPort }, grantUser, 'SELECT 1')).status === 200;
    },
    5000,
    'grant user at ClickHouse',
  );
  createdMs = realClock.now() - t0;
  // ch-defaults has no admin: its user waits for ClickHouse's own users.d poll (≤ ~2 s).
  const rec2 = conn.agent.targets!.get('ch-defaults')!.reconciler as ClickHouseReconciler;
  await waitFor(
    async () => {
      const c = rec2.credentials(grantId);
      return !!c && (await chQuery({ host: '127.0.0.1', port: ch2.httpPort }, c, 'SELECT 1')).status === 200;
    },
    5000,
    'ch-defaults grant user at ClickHouse',
  );

  await waitFor(
    () => (eng.agent.netmap?.peers.length ?? 0) === 1,
    15_000,
    'connector in the engineer netmap',
  );
  const c = await eng.agent.grantCertificate(grantId);
  certDir = join(tmp, 'cert');
  mkdirSync(certDir, { mode: 0o700 });
  writeFileSync(join(certDir, 'key.pem'), c.keyPem, { mode: 0o600 });
  writeFileSync(join(certDir, 'cert.pem'), c.chainPem);
  writeFileSync(join(certDir, 'ca.pem'), rootPem);
  const svc = eng.agent.netmap!.services.find((s) => s.name === 'clickhouse')!;
  url = `https://${svc.tailnetName}/`;
  url2 = `https://${eng.agent.netmap!.services.find((s) => s.name === 'ch-defaults')!.tailnetName}/`;
});

after(async () => {
  await h?.stop();
  await ch?.stop();
  await ch2?.stop();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

test('the grant user exists at ClickHouse within 2 s of the grant', (t) => {
  if (!needs(t, missing)) return;
  t.diagnostic(`grant → user usable at ClickHouse: ${createdMs.toFixed(0)} ms`);
  assert.ok(createdMs < 2000, `${createdMs} ms`);
});

test('through the overlay: system tables, 291 for customer data, 164 for INSERT', async (t) => {
  if (!needs(t, missing)) return;
  const ok = await curl('SELECT count() FROM system.tables');
  assert.equal(ok.status, 200, `${ok.err} ${ok.body}`);
  assert.ok(Number(ok.body) > 10, ok.body);
  const sel = await curl('SELECT * FROM default.customer_data');
  assert.match(sel.body, /Code: 291/);
  assert.ok(!sel.body.includes(SECRET));
  const ins = await curl("INSERT INTO default.customer_data VALUES (2, 'x')");
  assert.match(ins.body, /Code: 164/);
});

test("through the overlay: another user's query text is refused and never reaches the engineer", async (t) => {
  if (!needs(t, missing)) return;
  await admin(`SELECT 'admin ${SECRET}'`, { log_queries: '1' });
  const running = admin(`SELECT sleep(3), '${SECRET}'`, { log_queries: '1' });
  await admin('SYSTEM FLUSH LOGS');
  for (const sql of [
    `SELECT query FROM system.query_log WHERE query LIKE '%SECRET%'`,
    'SELECT * FROM system.query_log',
    'SELECT query FROM system.processes',
    'SELECT * FROM system.processes',
    'SHOW PROCESSLIST',
  ]) {
    const r = await curl(sql);
    assert.equal(r.status, 403, `${sql}: ${r.status} ${r.body}`);
    assert.match(r.body, /sallyport: refused/);
    assert.ok(!r.body.includes(SECRET), sql);
  }
  const meta = await curl('SELECT user, query_id FROM system.processes FORMAT TSV');
  assert.equal(meta.status, 200, meta.body);
  assert.ok(!meta.body.includes(SECRET));
  await running;
});

// Attempts to read other users' query text or customer rows, or to change anything. Each must
// fail (not HTTP 200) and never carry the secret. Run against every accepted configuration.
const ATTEMPTS: [string, string[]?][] = [
  ['SELECT query FROM system.query_log'],
  ['SELECT * FROM system.query_log'],
  ['SELECT formatted_query FROM system.query_log'],
  ['SELECT any(query) FROM system.query_log'],
  ['SELECT q FROM (SELECT query AS q FROM system.query_log)'],
  ["SELECT count() FROM system.query_log WHERE query LIKE '%SECRET%'"],
  ['SELECT `query` FROM system.query_log'],
  ['SELECT "QUERY" FROM system.query_log'],
  ['SELECT query FROM system.processes'],
  ['SELECT * FROM system.processes'],
  ['SELECT query FROM system.query_thread_log'],
  ['SHOW PROCESSLIST'],
  ['SELECT create_table_query FROM system.tables'],
  ['SELECT * FROM default.customer_data'],
  ['SELECT email FROM customer_data'],
  ["SELECT * FROM merge('default', '.*')"],
  ["SELECT * FROM remote('127.0.0.1', default.customer_data)"],
  ["SELECT * FROM url('http://127.0.0.1/', CSV, 'a String')"],
  ["SELECT * FROM file('/etc/passwd', CSV, 'a String')"],
  ["SELECT dictGetString('d', 'a', toUInt64(1))"],
  ['CREATE TABLE default.evil (a UInt8) ENGINE = Memory'],
  ['CREATE TABLE system.evil (a UInt8) ENGINE = Memory'],
  ['CREATE DATABASE evil'],
  ['DROP TABLE default.customer_data'],
  ['TRUNCATE TABLE default.customer_data'],
  ['ALTER TABLE default.customer_data DELETE WHERE 1'],
  ["INSERT INTO default.customer_data VALUES (2, 'x')"],
  ['RENAME TABLE default.customer_data TO default.gone'],
  ['SET readonly = 0'],
  ['SELECT 1; DROP TABLE default.customer_data'],
  ['SYSTEM FLUSH LOGS'],
  ['KILL QUERY WHERE 1'],
  // Credentials or settings smuggled next to the query: the proxy drops them.
  ['SELECT * FROM default.customer_data', ['-H', 'X-ClickHouse-User: default']],
  ['SELECT * FROM default.customer_data', ['-u', 'default:']],
  ['SELECT * FROM default.customer_data', ['--url-query', 'user=default']],
  ['SELECT * FROM default.customer_data', ['--url-query', 'readonly=0']],
  ['SELECT * FROM default.customer_data', ['--url-query', 'database=default']],
];

for (const name of ['clickhouse', 'ch-defaults'])
  test(`${name}: no other user's query text, no customer rows, no DDL — ${ATTEMPTS.length} attempts`, async (t) => {
    if (!needs(t, missing)) return;
    const server = name === 'clickhouse' ? ch : ch2;
    const to = name === 'clickhouse' ? url : url2;
    await admin(`SELECT 'admin ${SECRET}'`, { log_queries: '1' }, server);
    const running = admin(`SELECT sleep(2), '${SECRET}'`, { log_queries: '1' }, server);
    await admin('SYSTEM FLUSH LOGS', {}, server);
    // The grant user itself works: the refusals below are not a broken connection.
    const ok = await curl('SELECT count() FROM system.tables', to);
    assert.equal(ok.status, 200, `${ok.err} ${ok.body}`);
    const leaked: string[] = [];
    for (const [sql, extra] of ATTEMPTS) {
      const r = await curl(sql, to, extra);
      if (r.status === 200 || r.body.includes(SECRET))
        leaked.push(`${sql} ${extra?.join(' ') ?? ''}: ${r.status} ${r.body.slice(0, 80)}`);
    }
    await running;
    assert.deepEqual(leaked, []);
    // Nothing changed at ClickHouse.
    const check = await admin(
      "SELECT count() FROM default.customer_data UNION ALL SELECT count() FROM system.tables WHERE name IN ('evil', 'gone') UNION ALL SELECT count() FROM system.databases WHERE name = 'evil'",
      {},
      server,
    );
    assert.deepEqual(check.body.trim().split('\n').map(Number).sort(), [0, 0, 1]);
  });

test('sallyport clickhouse: a system-table query with no certificate flags; a refused one exits 1', async (t) => {
  if (!needs(t, missing)) return;
  const { run } = await import('../../src/cli/clickhouse.ts');
  const ask = async (...args: string[]) => {
    let out = '';
    let err = '';
    const code = await run(['acme-prod', '--service', 'clickhouse', '--state', eng.stateDir, ...args], {
      env: {},
      stdout: (s) => (out += s),
      stderr: (s) => (err += s),
    });
    return { code, out, err };
  };
  // docs/targets/clickhouse.md's example, word for word after the deployment.
  const doc = readFileSync(new URL('../../docs/targets/clickhouse.md', import.meta.url), 'utf8');
  const line = /^sallyport clickhouse acme-prod -- (.+)$/m.exec(doc)![1];
  const ok = await ask('--', ...line.split(' '));
  assert.equal(ok.code, 0, ok.err);
  const rows = ok.out.trim().split('\n');
  assert.equal(rows.length, 5, ok.out);
  assert.ok(
    rows.every((r) => r.split('\t').length === 2),
    ok.out,
  );
  // The certificate the agent made is kept for the next query (key 0600).
  assert.ok(existsSync(join(eng.stateDir, 'certs', grantId, 'key.pem')));
  const again = await ask('--format', 'JSONEachRow', '--', 'SELECT 1 AS one');
  assert.equal(again.code, 0, again.err);
  assert.equal(again.out.trim(), '{"one":1}');
  const refused = await ask('--', 'SELECT * FROM default.customer_data');
  assert.equal(refused.code, 1);
  assert.match(refused.err, /Code: 291/);
  assert.ok(!refused.out.includes(SECRET) && !refused.err.includes(SECRET));
  // Two clickhouse services in the grant: the command asks which.
  let err = '';
  const code = await run(['acme-prod', '--state', eng.stateDir, '--', 'SELECT 1'], {
    env: {},
    stdout: () => {},
    stderr: (s) => (err += s),
  });
  assert.equal(code, 2);
  assert.match(
    err,
    /has 2 clickhouse services in your grants: pick one with --service \(ch-defaults, clickhouse\)/,
  );
});

test('connect --tunnel: plain HTTP on loopback, TLS with the grant certificate to the tailnet name', async (t) => {
  if (!needs(t, missing)) return;
  const { run } = await import('../../src/cli/connect.ts');
  const stop = new AbortController();
  let local = '';
  const done = run(['acme-prod/clickhouse', '--local', '127.0.0.1:0', '--tunnel', '--state', eng.stateDir], {
    signal: stop.signal,
    onReady: (l) => (local = l),
  });
  await waitFor(() => local !== '', 10_000, 'the tunnel listening');
  const r = await new Promise<{ code: number | null; out: string }>((resolve) => {
    const p = spawn('curl', [
      '-sS',
      '--max-time',
      '10',
      '--data-binary',
      'SELECT 40 + 2',
      `http://${local}/`,
    ]);
    let out = '';
    p.stdout.on('data', (b: Buffer) => (out += b.toString()));
    p.on('close', (code) => resolve({ code, out }));
  });
  assert.equal(r.code, 0);
  assert.equal(r.out.trim(), '42');
  // Plain text never leaves loopback: a tunnel on another address is refused.
  assert.equal(
    await run(['acme-prod/clickhouse', '--local', '0.0.0.0:0', '--tunnel', '--state', eng.stateDir]),
    2,
  );
  stop.abort();
  assert.equal(await done, 0);
});

test("the engineer's queries are in the connector's local audit under the grant id", async (t) => {
  if (!needs(t, missing)) return;
  const marker = `m_${randomBytes(4).toString('hex')}`;
  assert.equal((await curl(`SELECT '${marker}'`)).status, 200);
  const file = conn.agent.targets!.audit.file;
  await waitFor(
    () =>
      LocalAudit.read(file).some(
        (a) => a.action === 'clickhouse.query' && String(a.details.query).includes(marker),
      ),
    5000,
    'query in the local audit',
  );
  const recs = LocalAudit.read(file).filter((a) => a.action === 'clickhouse.query');
  assert.ok(recs.length >= 4);
  assert.ok(recs.every((a) => a.subject === `grant:${grantId}`));
  const refused = LocalAudit.read(file).filter((a) => a.action === 'clickhouse.query.refused');
  assert.ok(refused.length >= 5 && refused.every((a) => a.subject === `grant:${grantId}`));
  // And mirrored to the coordinator (the customer portal's history), query text included.
  await waitFor(
    async () =>
      (await h.api.call<{ kind: string; grant: string; query?: string }[]>('GET', '/api/v1/activity')).some(
        (r) => r.kind === 'query' && r.grant === grantId && /system\.tables/.test(r.query ?? ''),
      ),
    10_000,
    'queries mirrored to the coordinator',
  );
});

test('within 3 s of the grant end: gone at ClickHouse, refused at the router', async (t) => {
  if (!needs(t, missing)) return;
  await waitFor(() => realClock.wallMs() >= grantEnd, GRANT_MS + 2000, 'grant end');
  const end = realClock.now();
  await waitFor(
    async () =>
      (await chQuery({ host: '127.0.0.1', port: ch.httpPort }, grantUser!, 'SELECT 1')).status !== 200,
    3000,
    'user gone at ClickHouse',
  );
  t.diagnostic(`grant end → user gone at ClickHouse: ${(realClock.now() - end).toFixed(0)} ms`);
  const r = await curl('SELECT count() FROM system.tables');
  assert.notEqual(r.status, 200, `${r.status} ${r.body}`);
  assert.ok(!existsSync(join(ch.usersDir, `sallyport-${grantUser!.user}.xml`)));
  // The connector's summary of the grant (count, failures) lands in the coordinator's audit.
  let usage: { details: { queries: number; failures: number; service: string } } | undefined;
  await waitFor(
    async () => {
      const audit = await h.api.call<
        { action: string; subject: string; details: { queries: number; failures: number; service: string } }[]
      >('GET', '/api/v1/audit?limit=10000');
      usage = audit.find((a) => a.action === 'grant.usage' && a.subject === `grant:${grantId}`);
      return usage !== undefined;
    },
    15_000,
    'grant.usage in the coordinator audit',
  );
  assert.equal(usage!.details.service, 'clickhouse');
  assert.ok(usage!.details.queries >= 4, JSON.stringify(usage));
  assert.ok(usage!.details.failures >= 5, JSON.stringify(usage));
});
