// Debian's Prometheus (2.42) behind the prometheus target, with the admin API switched on so that
// only the proxy stands between the engineer and it. A TLS listener with the engineer's client
// certificate stands where the router terminates mTLS.
//
// Shows: a query (Prometheus scraping itself) returns data through the proxy, as do query_range,
// series, labels, label values, metadata, POST queries and /federate;
// /api/v1/admin/tsdb/delete_series is refused by the proxy (and Prometheus never counted a
// request to it) while a direct call works; other admin, write and lifecycle paths are refused.
// Per level: a read-write grant is refused delete_series too; an admin grant, behind a connector
// whose maxAccess is admin, reaches it. A literal '#' in a request target is a 400.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import http from 'node:http';
import tls from 'node:tls';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { needs } from '../../src/testing/require.ts';
import {
  prometheusInstalled,
  startPrometheus,
  type PrometheusServer,
} from '../../src/lab/servers/prometheus.ts';
import { createPrometheusTarget } from '../../src/targets/prometheus/index.ts';
import type { Target } from '../../src/targets/index.ts';
import {
  clientCert,
  startFront,
  tempDir,
  testDeps,
  testPki,
  type Deps,
  type Front,
  type Pki,
} from './http-target-fixture.ts';

const NAME = 'prometheus.acme-prod.us-east-1.aws.byoc.test';
const missing = prometheusInstalled() ? undefined : 'needs prometheus on PATH (Debian package prometheus)';

let tmp: ReturnType<typeof tempDir>;
let prom: PrometheusServer;
let target: Target;
let front: Front;
let pki: Pki;
let d: Deps;
let cert: { certPem: string; keyPem: string };

function viaProxy(
  path: string,
  o: { method?: string; body?: string } = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request({
      host: '127.0.0.1',
      port: front.port,
      servername: NAME,
      path,
      method: o.method ?? 'GET',
      headers: o.body !== undefined ? { 'content-type': 'application/x-www-form-urlencoded' } : {},
      key: cert.keyPem,
      cert: cert.certPem,
      ca: pki.root.certPem,
      agent: false,
    });
    req.on('response', async (res) => {
      let s = '';
      for await (const c of res) s += String(c);
      resolve({ status: res.statusCode ?? 0, body: s });
    });
    req.on('error', reject);
    req.end(o.body);
  });
}

function direct(path: string, method = 'GET'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${prom.url}${path}`, { method }, async (res) => {
      let s = '';
      for await (const c of res) s += String(c);
      resolve({ status: res.statusCode ?? 0, body: s });
    });
    req.on('error', reject);
    req.end();
  });
}

before(async () => {
  if (missing) return;
  tmp = tempDir('sallyport-prometheus-');
  prom = await startPrometheus({ dir: join(tmp.dir, 'prom'), adminApi: true, lifecycle: true });
  d = testDeps(tmp.dir);
  const address = `127.0.0.1:${prom.port}`;
  target = createPrometheusTarget(
    { service: 'prometheus', deployment: 'acme-prod', address, options: {} },
    d.deps,
  );
  pki = await testPki();
  front = await startFront(pki, target, {
    service: 'prometheus',
    deployment: 'acme-prod',
    address,
    name: NAME,
  });
  mkdirSync(join(tmp.dir, 'cert'));
  cert = await clientCert(pki, join(tmp.dir, 'cert'), 'engineer', 'g-prom-1');
});

after(async () => {
  await front?.close();
  await target?.close();
  await prom?.stop();
  tmp?.remove();
});

test('a query through the proxy returns data (Prometheus scraping itself)', async (t) => {
  if (!needs(t, missing)) return;
  type Vector = {
    status: string;
    data: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] };
  };
  let r: Vector | undefined;
  const t0 = performance.now();
  // The first scrape lands about a second after start.
  while (performance.now() - t0 < 15_000) {
    const res = await viaProxy('/api/v1/query?query=up');
    assert.equal(res.status, 200, res.body);
    r = JSON.parse(res.body) as Vector;
    if (r.data.result.length > 0) break;
    await new Promise((ok) => setTimeout(ok, 200));
  }
  assert.equal(r!.status, 'success');
  assert.equal(r!.data.resultType, 'vector');
  assert.equal(r!.data.result[0].metric.job, 'prometheus');
  assert.equal(r!.data.result[0].value[1], '1');
  t.diagnostic(
    `up after ${(performance.now() - t0).toFixed(0)} ms: ${JSON.stringify(r!.data.result[0].metric)}`,
  );

  const now = Math.floor(Date.now() / 1000);
  const reads: [string, { method?: string; body?: string }?][] = [
    [`/api/v1/query_range?query=up&start=${now - 60}&end=${now}&step=1`],
    ['/api/v1/series?match[]=up'],
    ['/api/v1/labels'],
    ['/api/v1/label/job/values'],
    ['/api/v1/metadata?limit=5'],
    ['/api/v1/query', { method: 'POST', body: 'query=count(up)' }],
  ];
  for (const [path, o] of reads) {
    const res = await viaProxy(path, o);
    assert.equal(res.status, 200, `${path}: ${res.body}`);
    assert.equal((JSON.parse(res.body) as { status: string }).status, 'success', path);
  }
  const values = JSON.parse((await viaProxy('/api/v1/label/job/values')).body) as { data: string[] };
  assert.deepEqual(values.data, ['prometheus']);
  const fed = await viaProxy('/federate?match[]=up');
  assert.equal(fed.status, 200);
  assert.match(fed.body, /^up\{.*job="prometheus".*\} 1 /m);
});

test('delete_series and the other admin, write and lifecycle paths are refused by the proxy', async (t) => {
  if (!needs(t, missing)) return;
  const counted = async () =>
    /prometheus_http_requests_total\{code="\d+",handler="\/api\/v1\/admin\/tsdb\/delete_series"\} [1-9]/.test(
      (await direct('/metrics')).body,
    );
  const del = await viaProxy('/api/v1/admin/tsdb/delete_series?match[]=up', { method: 'POST' });
  assert.equal(del.status, 403);
  const e = JSON.parse(del.body) as { status: string; errorType: string; error: string };
  assert.equal(e.status, 'error');
  assert.equal(e.errorType, 'forbidden');
  for (const [method, path] of [
    ['PUT', '/api/v1/admin/tsdb/delete_series?match[]=up'],
    ['GET', '/api/v1/admin/tsdb/delete_series?match[]=up'],
    ['POST', '/api/v1/admin/tsdb/snapshot'],
    ['POST', '/api/v1/admin/tsdb/clean_tombstones'],
    ['POST', '/api/v1/write'],
    ['POST', '/-/reload'],
    ['POST', '/-/quit'],
    ['PUT', '/-/quit'],
    ['GET', '/api/v1/status/config'],
    ['GET', '/graph'],
    ['GET', '/api/v1/query/../admin/tsdb/delete_series'],
    ['GET', '/api/v1//admin/tsdb/delete_series'],
    ['GET', '/api/v1/%61dmin/tsdb/delete_series'],
    ['POST', '/federate'],
  ]) {
    const r = await viaProxy(path, { method });
    assert.ok(r.status === 403 || r.status === 405, `${method} ${path}: ${r.status}`);
  }
  assert.equal(await counted(), false, 'Prometheus never saw a delete_series request');
  // Prometheus itself would have done it: the admin API is on.
  const ok = await direct('/api/v1/admin/tsdb/delete_series?match[]={job="nothing"}', 'POST');
  assert.equal(ok.status, 204);
  assert.equal(await counted(), true);
  // Still up and answering after all that.
  assert.equal((await direct('/-/healthy')).status, 200);

  const refused = d.audit.filter((a) => a.details.refused !== undefined);
  assert.ok(refused.length >= 15);
  assert.ok(d.audit.every((a) => a.action === 'prometheus.request' && a.details.grantId === 'g-prom-1'));
});

/** Writes `head` as is over mTLS to `port` (clients strip a '#' fragment; this does not). */
function raw(port: number, head: string, c = cert): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const s = tls.connect({
      host: '127.0.0.1',
      port,
      servername: NAME,
      key: c.keyPem,
      cert: c.certPem,
      ca: pki.root.certPem,
    });
    let out = '';
    s.on('secureConnect', () => s.write(head));
    s.on('data', (x: Buffer) => (out += x.toString()));
    s.on('close', () => resolve(out));
    s.on('error', reject);
  });
}

test("a literal '#' in the request target is a 400; an encoded %23 in the query passes", async (t) => {
  if (!needs(t, missing)) return;
  for (const target of [
    '/api/v1/query?query=up#x',
    '/api/v1/query#/../admin/tsdb/delete_series',
    '/federate#',
  ])
    assert.match(
      await raw(front.port, `GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`),
      /^HTTP\/1.1 400 /,
      target,
    );
  const ok = await raw(
    front.port,
    'GET /api/v1/query?query=up&x=%23 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
  );
  assert.match(ok, /^HTTP\/1.1 200 /);
  assert.match(ok, /"status":"success"/);
});

test('per level: read-write is refused delete_series; admin (connector maxAccess admin) reaches it', async (t) => {
  if (!needs(t, missing)) return;
  const deps = testDeps(tmp.dir);
  const address = `127.0.0.1:${prom.port}`;
  const admin = createPrometheusTarget(
    { service: 'prometheus', deployment: 'acme-prod', address, options: { maxAccess: 'admin' } },
    deps.deps,
  );
  const f = await startFront(pki, admin, {
    service: 'prometheus',
    deployment: 'acme-prod',
    address,
    name: NAME,
    access: { 'g-prom-rw': 'read-write', 'g-prom-admin': 'admin' },
  });
  try {
    mkdirSync(join(tmp.dir, 'cert-rw'));
    mkdirSync(join(tmp.dir, 'cert-admin'));
    const rw = await clientCert(pki, join(tmp.dir, 'cert-rw'), 'bob', 'g-prom-rw');
    const ad = await clientCert(pki, join(tmp.dir, 'cert-admin'), 'carol', 'g-prom-admin');
    const post = (c: typeof cert, path: string) =>
      raw(f.port, `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`, c);
    const del = '/api/v1/admin/tsdb/delete_series?match[]=%7Bjob%3D%22nothing-here%22%7D';
    assert.match(await post(rw, del), /^HTTP\/1.1 403 /, 'read-write: refused');
    assert.match(await post(cert, del), /^HTTP\/1.1 403 /, 'read-only: refused');
    assert.match(await post(ad, del), /^HTTP\/1.1 204 /, 'admin: Prometheus did it');
    assert.match(await post(ad, '/-/quit'), /^HTTP\/1.1 403 /, 'admin: lifecycle still refused');
    assert.match(await post(ad, '/api/v1/write'), /^HTTP\/1.1 403 /, 'admin: remote write still refused');
    assert.equal((await direct('/-/healthy')).status, 200);
    const byGrant = (g: string) => deps.audit.filter((a) => a.details.grantId === g);
    assert.equal(byGrant('g-prom-rw')[0]?.details.refused, 'path');
    assert.equal(byGrant('g-prom-admin')[0]?.details.status, 204);
  } finally {
    await f.close();
    await admin.close();
  }
});
