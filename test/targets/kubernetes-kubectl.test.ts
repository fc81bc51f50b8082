// Real kubectl through the kubernetes target, against the recording stub of the Kubernetes API
// server (src/lab/servers/k8s-stub.ts — a stub, not an API server: none can run here). A TLS
// listener with the engineer's client certificate stands where the router terminates mTLS.
//
// Shows: `kubectl get pods` works and the stub saw Impersonate-User = the engineer (not the
// `--as` kubectl asked for), the connector's service-account token (not the kubeconfig's bearer
// token); `get secrets`, `exec` and `port-forward` fail with Forbidden from the proxy and the
// stub never saw them; every request is in the connector's local audit with the grant id. The
// grant's access level reaches the API server: `kubectl delete pod` under a read-only grant is
// Forbidden before the stub, under a read-write grant it reaches the stub as sallyport:alice in
// sallyport:view and sallyport:edit.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { needs } from '../../src/testing/require.ts';
import { missingBinary } from '../../src/testing/netns.ts';
import { startK8sStub, type K8sStub } from '../../src/lab/servers/k8s-stub.ts';
import { createKubernetesTarget } from '../../src/targets/kubernetes/index.ts';
import type { Target } from '../../src/targets/index.ts';
import { buildKubeconfig } from '../../src/cli/kubeconfig.ts';
import {
  clientCert,
  startFront,
  tempDir,
  testDeps,
  testPki,
  type Deps,
  type Front,
} from './http-target-fixture.ts';
import { runKubectl } from './http-target-fixture.ts';

const KUBECTL = 'kubectl';
const noKubectl = missingBinary(KUBECTL);
const TOKEN = 'connector-sa-token-' + 'z'.repeat(24);
const NAME = 'k8s.acme-prod.us-east-1.aws.byoc.test';
const GRANT = 'g-kubectl-1';
const GRANT_RW = 'g-kubectl-rw';

let tmp: ReturnType<typeof tempDir>;
let stub: K8sStub;
let target: Target;
let front: Front;
let d: Deps;
let kubeconfig: string;
let kubeconfigRw: string;

const kubectl = (...args: string[]) => runKubectl(kubeconfig, tmp.dir, args, 20_000);
const kubectlRw = (...args: string[]) => runKubectl(kubeconfigRw, tmp.dir, args, 20_000);

const seen = (re: RegExp) => stub.requests.filter((r) => re.test(r.path));

before(async () => {
  if (noKubectl) return;
  tmp = tempDir('sallyport-kubectl-');
  stub = await startK8sStub({ token: TOKEN });
  const tokenFile = join(tmp.dir, 'token');
  const caFile = join(tmp.dir, 'apiserver-ca.pem');
  writeFileSync(tokenFile, TOKEN + '\n');
  writeFileSync(caFile, stub.caPem);
  d = testDeps(tmp.dir);
  const address = `127.0.0.1:${stub.port}`;
  target = createKubernetesTarget(
    {
      service: 'k8s',
      deployment: 'acme-prod',
      address,
      options: { tokenFile, caFile, maxAccess: 'read-write' },
    },
    d.deps,
  );
  const pki = await testPki();
  front = await startFront(pki, target, {
    service: 'k8s',
    deployment: 'acme-prod',
    address,
    name: NAME,
    access: { [GRANT]: 'read-only', [GRANT_RW]: 'read-write' },
  });
  const certDir = join(tmp.dir, 'cert');
  mkdirSync(certDir);
  const c = await clientCert(pki, certDir, 'engineer', GRANT);
  kubeconfig = join(tmp.dir, 'kubeconfig');
  // The router's name is verified (tls-server-name); a bearer token in the kubeconfig must not pass.
  writeFileSync(
    kubeconfig,
    buildKubeconfig({
      name: 'sallyport-acme-prod-k8s',
      server: `https://127.0.0.1:${front.port}`,
      tlsServerName: NAME,
      caPem: pki.root.certPem,
      certFile: c.certFile,
      keyFile: c.keyFile,
      namespace: 'default',
    }).replace('  user:\n', `  user:\n    token: "engineer-own-token-must-not-pass"\n`),
  );
  const rwDir = join(tmp.dir, 'cert-rw');
  mkdirSync(rwDir);
  const rw = await clientCert(pki, rwDir, 'alice', GRANT_RW);
  kubeconfigRw = join(tmp.dir, 'kubeconfig-rw');
  writeFileSync(
    kubeconfigRw,
    buildKubeconfig({
      name: 'sallyport-acme-prod-k8s',
      server: `https://127.0.0.1:${front.port}`,
      tlsServerName: NAME,
      caPem: pki.root.certPem,
      certFile: rw.certFile,
      keyFile: rw.keyFile,
      namespace: 'default',
    }),
  );
});

after(async () => {
  await front?.close();
  await target?.close();
  await stub?.stop();
  tmp?.remove();
});

test('kubectl get pods works, as the engineer by impersonation, with the connector token only', async (t) => {
  if (!needs(t, noKubectl)) return;
  const r = await kubectl('get', 'pods', '--as', 'cluster-admin', '--as-group', 'system:masters');
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /web-0\s+1\/1\s+Running/);
  assert.match(r.out, /web-1/);
  const lists = seen(/^\/api\/v1\/namespaces\/default\/pods\b/);
  assert.ok(lists.length >= 1, 'the stub saw the pod list');
  for (const req of stub.requests) {
    assert.equal(req.authorized, true, `${req.path}: connector token`);
    assert.equal(req.headers.authorization, `Bearer ${TOKEN}`);
    assert.equal(req.headers['impersonate-user'], 'sallyport:engineer', `${req.path}: Impersonate-User`);
    assert.equal(req.headers['impersonate-group'], 'sallyport:view');
    assert.equal(req.headers['impersonate-extra-sallyport-grant'], GRANT);
    assert.ok(!JSON.stringify(req.headers).includes('engineer-own-token'), 'client token dropped');
    assert.ok(!JSON.stringify(req.headers).includes('system:masters'), 'client --as-group dropped');
  }
  t.diagnostic(`stub saw: ${stub.requests.map((q) => `${q.method} ${q.path}`).join(', ')}`);
  const logs = await kubectl('logs', 'web-0');
  assert.equal(logs.code, 0, logs.err);
  assert.equal(logs.out, 'log line of web-0\n');
});

test('kubectl get secrets, exec, port-forward: Forbidden by the proxy, never reach the stub', async (t) => {
  if (!needs(t, noKubectl)) return;
  const secrets = await kubectl('get', 'secrets');
  assert.notEqual(secrets.code, 0);
  assert.match(secrets.err, /Forbidden/);
  const secret = await kubectl('get', 'secret', 'db-password', '-o', 'yaml');
  assert.notEqual(secret.code, 0);
  assert.doesNotMatch(secret.out, /stub-secret-value|c3R1Yi1zZWNyZXQtdmFsdWU/);

  const exec = await kubectl('exec', 'web-0', '--', 'cat', '/etc/hostname');
  assert.notEqual(exec.code, 0, 'exec fails');
  t.diagnostic(`exec: ${exec.err.trim().split('\n').pop()}`);

  const pf = await kubectl('port-forward', 'pod/web-0', '0:8080');
  assert.notEqual(pf.code, 0, 'port-forward fails');
  t.diagnostic(`port-forward: ${pf.err.trim().split('\n').pop()}`);

  const attach = await kubectl('attach', 'web-0');
  assert.notEqual(attach.code, 0, 'attach fails');
  t.diagnostic(`attach: ${attach.err.trim().split('\n').pop()}`);

  assert.deepEqual(seen(/secrets/), [], 'the stub never saw secrets');
  assert.deepEqual(
    seen(/\/(exec|attach|portforward)\b/),
    [],
    'the stub never saw exec, attach, port-forward',
  );
  // kubectl did reach the stub for the pod itself (exec and port-forward look it up first).
  assert.ok(seen(/\/pods\/web-0(\?|$)/).length >= 1, 'the stub saw GET pod web-0');

  const refused = d.audit.filter((a) => a.details.refused !== undefined).map((a) => a.details.refused);
  for (const r of ['secrets', 'exec', 'portforward', 'attach'])
    assert.ok(refused.includes(r), `audit has a refusal for ${r} (${refused.join(',')})`);
  for (const a of d.audit) {
    assert.equal(a.action, 'kubernetes.request');
    assert.equal(a.subject, 'engineer');
    assert.equal(a.details.grantId, GRANT);
  }
  // The grant ends: its usage summary goes to the coordinator once.
  await target.reconciler!.reconcile([]);
  assert.equal(d.reports.length, 1);
  assert.equal(d.reports[0].grantId, GRANT);
  assert.equal(d.reports[0].queries, d.audit.length);
  assert.ok(d.reports[0].failures >= 4);
});

test('the grant’s level reaches the cluster: delete pod is Forbidden read-only, allowed read-write', async (t) => {
  if (!needs(t, noKubectl)) return;
  const deletes = () => stub.requests.filter((r) => r.method === 'DELETE');
  const ro = await kubectl('delete', 'pod', 'web-1', '--wait=false');
  assert.notEqual(ro.code, 0, 'read-only: delete fails');
  assert.match(ro.err, /Forbidden/);
  assert.match(ro.err, /read-only/);
  assert.deepEqual(deletes(), [], 'the stub never saw the read-only delete');

  const rw = await kubectlRw('delete', 'pod', 'web-1', '--wait=false');
  assert.equal(rw.code, 0, rw.err);
  assert.match(rw.out, /web-1/);
  const [del] = deletes();
  assert.equal(del?.path.split('?')[0], '/api/v1/namespaces/default/pods/web-1');
  assert.equal(del.headers['impersonate-user'], 'sallyport:alice');
  assert.equal(del.headers['impersonate-group'], 'sallyport:view, sallyport:edit');
  assert.equal(del.headers['impersonate-extra-sallyport-grant'], GRANT_RW);
  // Still refused at read-write: secrets, and cluster-scoped writes (admin only).
  const secrets = await kubectlRw('get', 'secrets');
  assert.notEqual(secrets.code, 0);
  assert.match(secrets.err, /Forbidden/);
  const cordon = await kubectlRw('delete', 'namespace', 'team-a', '--wait=false');
  assert.notEqual(cordon.code, 0);
  assert.match(cordon.err, /Forbidden/);
  assert.deepEqual(
    stub.requests.filter((r) => /secrets|namespaces\/team-a/.test(r.path)),
    [],
    'the stub never saw them',
  );
  const after = await kubectl('get', 'pods');
  assert.doesNotMatch(after.out, /web-1/, 'the pod is gone');
});
