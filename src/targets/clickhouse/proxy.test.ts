// The router-auth proxy against a recording stand-in for ClickHouse's HTTP interface (the real
// server is in test/targets/clickhouse.test.ts): what goes upstream, what never does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { pino } from 'pino';
import { realClock } from '../../clock/index.ts';
import { ClickHouseProxy } from './proxy.ts';

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

async function setup(cred: { user: string; password: string } | undefined, notAfter: number | null = null) {
  const seen: Seen[] = [];
  const upstream = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      res.writeHead(200, {
        'Content-Type': 'text/tab-separated-values',
        'X-ClickHouse-Query-Id': 'q1',
        'Set-Cookie': 'a=b',
      });
      res.end('42\n');
    });
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const audit: { action: string; details: Record<string, unknown> }[] = [];
  const refusedFor: string[] = [];
  const proxy = new ClickHouseProxy({
    upstream: { host: '127.0.0.1', port: (upstream.address() as net.AddressInfo).port },
    service: 'ch',
    credentials: () => cred,
    audit: { append: (action, _s, details) => audit.push({ action, details }) },
    onRefused: (id) => refusedFor.push(id),
  });
  const ctl = new AbortController();
  const front = net.createServer((sock) =>
    proxy.serve(sock, {
      grantId: 'g1',
      user: 'alice',
      service: 'ch',
      deployment: 'd',
      access: 'read-only',
      notAfter,
      address: 'x',
      clock: realClock,
      logger: pino({ level: 'silent' }),
      signal: ctl.signal,
    }),
  );
  await new Promise<void>((r) => front.listen(0, '127.0.0.1', r));
  const port = (front.address() as net.AddressInfo).port;
  const send = (method: string, path: string, body?: string, headers: Record<string, string> = {}) =>
    new Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, method, path, headers, agent: false }, (res) => {
        let b = '';
        res.on('data', (c: Buffer) => (b += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, body: b, headers: res.headers }));
      });
      req.on('error', reject);
      req.end(body);
    });
  const close = async () => {
    ctl.abort();
    await proxy.close();
    front.close();
    upstream.close();
  };
  return { seen, audit, refusedFor, send, close };
}

test('forwards as the grant user only; client credentials, settings and headers never go upstream', async () => {
  const s = await setup({ user: 'sp_alice', password: 'secret-pw' });
  try {
    const r = await s.send(
      'POST',
      '/?query=SELECT%20count()&user=default&password=x&readonly=0&allow_ddl=1&database=default&session_id=s&default_format=TSV&query_id=abc',
      'FROM system.tables',
      {
        'X-ClickHouse-User': 'default',
        'X-ClickHouse-Key': 'x',
        'X-ClickHouse-Database': 'default',
        Authorization: 'Basic ZGVmYXVsdDp4',
        Cookie: 'c=d',
      },
    );
    assert.equal(r.status, 200);
    assert.equal(r.body, '42\n');
    assert.equal(r.headers['x-clickhouse-query-id'], 'q1');
    assert.equal(r.headers['set-cookie'], undefined);
    assert.equal(s.seen.length, 1);
    const up = s.seen[0]!;
    assert.equal(up.method, 'POST');
    assert.equal(up.url, '/?default_format=TSV&query_id=abc');
    assert.equal(up.body, 'SELECT count()\nFROM system.tables');
    assert.equal(up.headers['x-clickhouse-user'], 'sp_alice');
    assert.equal(up.headers['x-clickhouse-key'], 'secret-pw');
    assert.equal(up.headers['x-clickhouse-database'], undefined);
    assert.equal(up.headers.authorization, undefined);
    assert.equal(up.headers.cookie, undefined);
    const g = await s.send('GET', '/?query=' + encodeURIComponent('SELECT 1 FROM system.one'));
    assert.equal(g.status, 200);
    assert.equal(s.seen[1]!.body, 'SELECT 1 FROM system.one');
  } finally {
    await s.close();
  }
});

test('refusals: 403 with the reason, audited and counted, nothing upstream', async () => {
  const s = await setup({ user: 'sp_alice', password: 'pw' });
  try {
    const r = await s.send('POST', '/', 'SELECT query FROM system.processes');
    assert.equal(r.status, 403);
    assert.match(r.body, /^sallyport: refused: column query is hidden/);
    const q = await s.send('POST', '/?query=' + encodeURIComponent('SELECT * FROM system.query_log'));
    assert.equal(q.status, 403);
    // The URL part and the body are judged together, as ClickHouse joins them.
    const split = await s.send('POST', '/?query=SELECT', 'query FROM system.query_log');
    assert.equal(split.status, 403);
    assert.equal((await s.send('POST', '/play', 'SELECT 1')).status, 404);
    assert.equal((await s.send('PUT', '/', 'SELECT 1')).status, 405);
    assert.equal((await s.send('POST', '/', 'x'.repeat(300 * 1024))).status, 413);
    assert.equal(s.seen.length, 0);
    assert.equal(s.audit.filter((a) => a.action === 'clickhouse.query.refused').length, 3);
    assert.deepEqual(s.refusedFor, ['g1', 'g1', 'g1']);
  } finally {
    await s.close();
  }
});

test('no ClickHouse user (ended or not yet reconciled) or a past notAfter: refused', async () => {
  const none = await setup(undefined);
  try {
    const r = await none.send('POST', '/', 'SELECT 1');
    assert.equal(r.status, 403);
    assert.match(r.body, /no ClickHouse user/);
  } finally {
    await none.close();
  }
  const ended = await setup({ user: 'u', password: 'p' }, realClock.wallMs() - 1);
  try {
    const r = await ended.send('POST', '/', 'SELECT 1');
    assert.equal(r.status, 403);
    assert.match(r.body, /grant has ended/);
    assert.equal(ended.seen.length, 0);
  } finally {
    await ended.close();
  }
});
