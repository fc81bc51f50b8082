// The kubernetes target's proxy with a plain HTTPS client (no kubectl): identity headers a client
// sends are replaced, watches stream through as events happen, the grant's end cuts an open
// watch at once, an unreachable API server is a 502 Status, raw SPDY/WebSocket upgrades and
// encoded paths are refused without reaching the stub, and bad options name their field.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import tls from 'node:tls';
import type { IncomingMessage } from 'node:http';
import { startK8sStub, type K8sStub } from '../../src/lab/servers/k8s-stub.ts';
import { createKubernetesTarget, parseKubernetesOptions } from '../../src/targets/kubernetes/index.ts';
import { TargetError, type Target } from '../../src/targets/index.ts';
import {
  clientCert,
  startFront,
  tempDir,
  testDeps,
  testPki,
  type Front,
  type Pki,
} from './http-target-fixture.ts';

const TOKEN = 'sa-token-proxy-test-0123456789';
const NAME = 'k8s.acme-prod.us-east-1.aws.byoc.test';

let tmp: ReturnType<typeof tempDir>;
let stub: K8sStub;
let target: Target;
let front: Front;
let pki: Pki;
let cert: { certPem: string; keyPem: string };
let tokenFile: string;
let caFile: string;

function request(
  path: string,
  o: { method?: string; headers?: Record<string, string>; port?: number } = {},
): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = https.request({
      host: '127.0.0.1',
      port: o.port ?? front.port,
      servername: NAME,
      path,
      method: o.method ?? 'GET',
      headers: o.headers ?? {},
      key: cert.keyPem,
      cert: cert.certPem,
      ca: pki.root.certPem,
      agent: false,
    });
    req.on('response', resolve);
    req.on('error', reject);
    req.end();
  });
}

/** Writes `head` as is over mTLS (clients strip a '#' fragment; this does not) and reads the answer. */
function raw(head: string): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const s = tls.connect({
      host: '127.0.0.1',
      port: front.port,
      servername: NAME,
      key: cert.keyPem,
      cert: cert.certPem,
      ca: pki.root.certPem,
    });
    let out = '';
    s.on('secureConnect', () => s.write(head));
    s.on('data', (c: Buffer) => (out += c.toString()));
    s.on('close', () => resolve(out));
    s.on('error', reject);
  });
}

async function body(res: IncomingMessage): Promise<string> {
  let s = '';
  for await (const c of res) s += String(c);
  return s;
}

before(async () => {
  tmp = tempDir('sallyport-k8s-proxy-');
  stub = await startK8sStub({ token: TOKEN });
  tokenFile = join(tmp.dir, 'token');
  caFile = join(tmp.dir, 'ca.pem');
  writeFileSync(tokenFile, TOKEN);
  writeFileSync(caFile, stub.caPem);
  const d = testDeps(tmp.dir);
  const address = `127.0.0.1:${stub.port}`;
  target = createKubernetesTarget(
    {
      service: 'k8s',
      deployment: 'acme-prod',
      address,
      options: {
        tokenFile,
        caFile,
        group: ['sallyport:view', 'sallyport:oncall'],
        serverName: 'kubernetes.default.svc',
      },
    },
    d.deps,
  );
  pki = await testPki();
  front = await startFront(pki, target, { service: 'k8s', deployment: 'acme-prod', address, name: NAME });
  mkdirSync(join(tmp.dir, 'cert'));
  cert = await clientCert(pki, join(tmp.dir, 'cert'), 'engineer', 'g-proxy-1');
});

after(async () => {
  await front?.close();
  await target?.close();
  await stub?.stop();
  tmp?.remove();
});

test('client identity headers are replaced by the connector token and impersonation', async () => {
  const before = stub.requests.length;
  const res = await request('/api/v1/namespaces/default/pods', {
    headers: {
      Authorization: 'Bearer stolen',
      'Impersonate-User': 'system:admin',
      'Impersonate-Group': 'system:masters',
      'Impersonate-Extra-scopes': 'all',
      'Impersonate-Uid': '0',
      'X-Remote-User': 'root',
      Connection: 'close, X-Drop-Me',
      'X-Drop-Me': '1',
      'X-Keep-Me': 'yes',
    },
  });
  assert.equal(res.statusCode, 200);
  const list = JSON.parse(await body(res)) as { kind: string; items: unknown[] };
  assert.equal(list.kind, 'PodList');
  assert.equal(list.items.length, 2);
  const seen = stub.requests.slice(before);
  assert.equal(seen.length, 1);
  const h = seen[0].headers;
  assert.equal(h.authorization, `Bearer ${TOKEN}`);
  assert.equal(h['impersonate-user'], 'sallyport:engineer', 'the user is prefixed');
  assert.equal(h['impersonate-group'], 'sallyport:view, sallyport:oncall');
  assert.equal(h['impersonate-extra-sallyport-grant'], 'g-proxy-1');
  assert.equal(h['impersonate-extra-scopes'], undefined);
  assert.equal(h['impersonate-uid'], undefined);
  assert.equal(h['x-remote-user'], undefined);
  assert.equal(h['x-drop-me'], undefined, 'hop-by-hop header named in Connection dropped');
  assert.equal(h['x-keep-me'], 'yes');
});

test('a watch streams events as they happen; the grant end cuts it at once', async () => {
  const res = await request('/api/v1/namespaces/default/pods?watch=true');
  assert.equal(res.statusCode, 200);
  const lines: string[] = [];
  let buf = '';
  const closed = new Promise<void>((r) => res.on('close', r));
  res.on('error', () => {});
  const got = (n: number) =>
    new Promise<void>((r) => {
      const check = () => (lines.length >= n ? r() : undefined);
      res.on('data', (c: Buffer) => {
        buf += c.toString();
        let i: number;
        while ((i = buf.indexOf('\n')) >= 0) {
          lines.push(buf.slice(0, i));
          buf = buf.slice(i + 1);
        }
        check();
      });
      check();
    });
  await got(2);
  stub.emitPodEvent('ADDED', { namespace: 'default', name: 'web-2' });
  await got(3);
  const ev = JSON.parse(lines[2]) as { type: string; object: { metadata: { name: string } } };
  assert.equal(ev.type, 'ADDED');
  assert.equal(ev.object.metadata.name, 'web-2');
  const t0 = performance.now();
  front.endGrant();
  await closed;
  assert.ok(performance.now() - t0 < 1000, 'the watch is closed within 1 s of the grant end');
});

test('upgrades (SPDY, WebSocket) and encoded or dotted paths are refused before the stub', async () => {
  const before = stub.requests.length;
  for (const path of [
    '/api/v1/namespaces/default/%73ecrets',
    '/api/v1/namespaces/default/pods/../secrets',
    '/api/v1/namespaces/default//secrets',
    '/api/v1/watch/namespaces/default/secrets',
    '/api/v1/namespaces/default/services/web:80/proxy/',
    '/api/v1/proxy/namespaces/default/pods/web-0',
  ]) {
    const res = await request(path);
    const s = JSON.parse(await body(res)) as { kind: string; reason: string; code: number };
    assert.equal(res.statusCode, 403, path);
    assert.equal(s.kind, 'Status');
    assert.equal(s.reason, 'Forbidden');
  }
  const write = await request('/api/v1/namespaces/default/pods/web-0', { method: 'DELETE' });
  assert.equal(write.statusCode, 403);
  await body(write);
  // A raw upgrade to exec, as kubectl's SPDY executor sends it.
  const up = await raw(
    'POST /api/v1/namespaces/default/pods/web-0/exec?command=sh&stdin=true HTTP/1.1\r\nHost: x\r\n' +
      'Connection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: v4.channel.k8s.io\r\n\r\n',
  );
  assert.match(up, /^HTTP\/1.1 403 /);
  assert.match(up, /"reason":"Forbidden"/);
  assert.equal(stub.requests.length, before, 'the stub saw none of them');
});

test("a literal '#' in the request target is a 400 before the stub; an encoded %23 in the query passes", async () => {
  const before = stub.requests.length;
  for (const target of [
    '/api/v1/namespaces/default/pods#x',
    '/api/v1/namespaces/default/pods?labelSelector=app#/../../secrets',
    '/api/v1/namespaces/default/pods/web-0#',
  ]) {
    const r = await raw(`GET ${target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    assert.match(r, /^HTTP\/1.1 400 /, target);
    assert.match(r, /"kind":"Status"/, target);
  }
  assert.equal(stub.requests.length, before, 'the stub saw none of them');
  const ok = await raw(
    'GET /api/v1/namespaces/default/pods?labelSelector=app%23x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
  );
  assert.match(ok, /^HTTP\/1.1 200 /);
  assert.equal(stub.requests.at(-1)?.path, '/api/v1/namespaces/default/pods?labelSelector=app%23x');
});

test('an unreachable API server is a 502 Status; a wrong token is the API server 401', async () => {
  const d = testDeps(tmp.dir);
  const down = createKubernetesTarget(
    { service: 'k8s', deployment: 'acme-prod', address: '127.0.0.1:1', options: { tokenFile, caFile } },
    d.deps,
  );
  const f = await startFront(pki, down, {
    service: 'k8s',
    deployment: 'acme-prod',
    address: '127.0.0.1:1',
    name: NAME,
  });
  try {
    const res = await request('/api/v1/pods', { port: f.port });
    assert.equal(res.statusCode, 502);
    assert.equal((JSON.parse(await body(res)) as { kind: string }).kind, 'Status');
  } finally {
    await f.close();
    await down.close();
  }
  const wrong = join(tmp.dir, 'wrong-token');
  writeFileSync(wrong, 'not-the-token');
  const bad = createKubernetesTarget(
    {
      service: 'k8s',
      deployment: 'acme-prod',
      address: `127.0.0.1:${stub.port}`,
      options: { tokenFile: wrong, caFile },
    },
    d.deps,
  );
  const g = await startFront(pki, bad, { service: 'k8s', deployment: 'acme-prod', address: '', name: NAME });
  try {
    const res = await request('/api/v1/pods', { port: g.port });
    assert.equal(res.statusCode, 401);
    await body(res);
  } finally {
    await g.close();
    await bad.close();
  }
});

test('bad options are TARGET_CONFIG errors naming the field', () => {
  const deps = testDeps(tmp.dir).deps;
  const mk =
    (options: unknown, address = '127.0.0.1:6443') =>
    () =>
      createKubernetesTarget({ service: 'k8s', deployment: 'd', address, options }, deps);
  const cases: [() => unknown, RegExp][] = [
    [mk({ tokenFile, caFile, group: [] }), /target\.group/],
    [mk({ tokenFile, caFile, readOnly: 'no' }), /target\.readOnly/],
    [mk({ tokenFile, caFile, group: 'oncall' }), /target\.group.*sallyport:/],
    [mk({ tokenFile, caFile, writeGroup: ['sallyport:edit', 'edit'] }), /target\.writeGroup/],
    [mk({ tokenFile, caFile, adminGroup: 'sallyport:' }), /target\.adminGroup/],
    [mk({ tokenFile, caFile, maxAccess: 'root' }), /target\.maxAccess/],
    [mk({ tokenFile, caFile, maxAccess: 'admin', readOnly: false }), /target\.readOnly/],
    [mk({ tokenFile, caFile, tokenfile: 'x' }), /unknown field target\.tokenfile/],
    [mk({ tokenFile: join(tmp.dir, 'nope'), caFile }), /token file/],
    [mk({ tokenFile, caFile: join(tmp.dir, 'nope') }), /target\.caFile/],
    [mk({ tokenFile, caFile }, 'no-port'), /address/],
    [mk('text'), /target must be an object/],
  ];
  // Older configs: readOnly true/false is maxAccess read-only/read-write; the default is read-only.
  assert.equal(parseKubernetesOptions({}, 'k8s').maxAccess, 'read-only');
  assert.equal(parseKubernetesOptions({ readOnly: true }, 'k8s').maxAccess, 'read-only');
  assert.equal(parseKubernetesOptions({ readOnly: false }, 'k8s').maxAccess, 'read-write');
  for (const [f, re] of cases)
    assert.throws(
      f,
      (e: unknown) => e instanceof TargetError && e.code === 'TARGET_CONFIG' && re.test(e.message),
    );
});
