// Real kubectl through the overlay: coordinator, relay, a connector serving the kubernetes target
// (in front of the recording stub of the Kubernetes API server — a stub, not an API server) and
// an engineer agent with SOCKS5, all in this process. The engineer gets a grant certificate
// (key made on her agent), `sallyport kubeconfig` writes the kubeconfig, and kubectl reaches the
// service by its tailnet name through `proxy-url: socks5://…`.
//
// Shows: `kubectl get pods` works and the stub saw Impersonate-User = sallyport:alice with the
// connector's token only; `get secrets`, `exec` and `port-forward` are refused by the router's
// target and the stub never saw them; the requests are in the connector's local audit under the
// grant. The grant's access level travels coordinator → netmap → connector → target: `kubectl
// delete pod` is refused under alice's read-only grant and reaches the stub under her read-write one.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Harness, type AgentHandle } from '../../src/testing/harness.ts';
import { needs } from '../../src/testing/require.ts';
import { missingBinary } from '../../src/testing/netns.ts';
import { LocalAudit } from '../../src/agent/local-audit.ts';
import { targetKinds } from '../../src/targets/index.ts';
import { startK8sStub, type K8sStub } from '../../src/lab/servers/k8s-stub.ts';
import { run as kubeconfigCli } from '../../src/cli/kubeconfig.ts';
import { tempDir } from './http-target-fixture.ts';
import { runKubectl } from './http-target-fixture.ts';

const KUBECTL = 'kubectl';
const noKubectl = missingBinary(KUBECTL);
const TOKEN = 'connector-sa-token-overlay-' + 'q'.repeat(16);
const missing = noKubectl
  ? noKubectl
  : !targetKinds().includes('kubernetes')
    ? 'the kubernetes target is not registered in src/targets/registry.ts (lead wiring)'
    : undefined;

let tmp: ReturnType<typeof tempDir>;
let stub: K8sStub;
let h: Harness;
let conn: AgentHandle;
let eng: AgentHandle;
let grantId: string;
let kubeconfig: string;
let rwGrantId: string;
let kubeconfigRw: string;

const kubectl = (...args: string[]) => runKubectl(kubeconfig, tmp.dir, args, 25_000);

const seen = (re: RegExp) => stub.requests.filter((r) => re.test(r.path));

before(async () => {
  if (missing) return;
  tmp = tempDir('sallyport-k8s-overlay-');
  stub = await startK8sStub({ token: TOKEN });
  const tokenFile = join(tmp.dir, 'token');
  const caFile = join(tmp.dir, 'apiserver-ca.pem');
  writeFileSync(tokenFile, TOKEN);
  writeFileSync(caFile, stub.caPem);
  h = await Harness.start();
  await h.deployment('acme-prod');
  await h.user('alice');
  conn = await h.connector({
    deployment: 'acme-prod',
    services: [
      {
        name: 'k8s',
        kind: 'kubernetes',
        address: `127.0.0.1:${stub.port}`,
        tls: 'terminate',
        target: { tokenFile, caFile, maxAccess: 'read-write' },
      },
    ],
  });
  const rootPem = await h.serviceCertRoot(conn.agent, ['k8s']);
  eng = await h.engineer({ user: 'alice', socks5: true });
  grantId = await h.grant({ type: 'user', name: 'alice' }, 'acme-prod', ['k8s']);
  await h.connected(eng, conn);
  kubeconfig = await kubeconfigFor(grantId, 'cert', rootPem);
  rwGrantId = await h.grant({ type: 'user', name: 'alice' }, 'acme-prod', ['k8s'], undefined, 'read-write');
  for (let i = 0; !conn.agent.netmap?.grants.some((g) => g.id === rwGrantId); i++) {
    assert.ok(i < 200, 'the connector sees the read-write grant');
    await new Promise((r) => setTimeout(r, 20));
  }
  kubeconfigRw = await kubeconfigFor(rwGrantId, 'cert-rw', rootPem);
});

/** What `sallyport cert --out DIR` and `sallyport kubeconfig` write for one grant, from the engineer's agent. */
async function kubeconfigFor(grant: string, dir: string, rootPem: string): Promise<string> {
  const c = await eng.agent.grantCertificate(grant);
  const certDir = join(tmp.dir, dir);
  mkdirSync(certDir, { mode: 0o700 });
  writeFileSync(join(certDir, 'key.pem'), c.keyPem, { mode: 0o600 });
  writeFileSync(join(certDir, 'cert.pem'), c.chainPem);
  writeFileSync(join(certDir, 'ca.pem'), rootPem);
  const svc = eng.agent.netmap!.services.find((s) => s.name === 'k8s')!;
  const out = join(tmp.dir, `kubeconfig-${dir}.yaml`);
  let err = '';
  const code = await kubeconfigCli(
    [
      'acme-prod',
      '--service',
      'k8s',
      '--cert',
      certDir,
      '--name',
      svc.tailnetName,
      '--socks',
      `${eng.agent.socksAddress!.host}:${eng.agent.socksAddress!.port}`,
      '--out',
      out,
    ],
    { env: {}, stdout: () => {}, stderr: (s) => (err += s) },
  );
  assert.equal(code, 0, err);
  return out;
}

after(async () => {
  await h?.stop();
  await stub?.stop();
  tmp?.remove();
});

test('kubectl get pods through SOCKS5 and the router: the stub sees alice impersonated, the connector token only', async (t) => {
  if (!needs(t, missing)) return;
  const r = await kubectl('get', 'pods');
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /web-0\s+1\/1\s+Running/);
  assert.ok(seen(/\/pods\b/).length >= 1);
  for (const q of stub.requests) {
    assert.equal(q.authorized, true);
    assert.equal(q.headers['impersonate-user'], 'sallyport:alice');
    assert.equal(q.headers['impersonate-group'], 'sallyport:view');
    assert.equal(q.headers['impersonate-extra-sallyport-grant'], grantId);
  }
});

test('get secrets, exec, port-forward through the overlay: refused, never at the stub; audited on the connector', async (t) => {
  if (!needs(t, missing)) return;
  const secrets = await kubectl('get', 'secrets');
  assert.notEqual(secrets.code, 0);
  assert.match(secrets.err, /Forbidden/);
  const exec = await kubectl('exec', 'web-0', '--', 'id');
  assert.notEqual(exec.code, 0);
  const pf = await kubectl('port-forward', 'pod/web-0', '0:8080');
  assert.notEqual(pf.code, 0);
  assert.deepEqual(seen(/secrets|\/(exec|attach|portforward)\b/), []);
  const audit = LocalAudit.read(conn.agent.targets!.audit.file).filter(
    (a) => a.action === 'kubernetes.request',
  );
  const refused = audit.map((a) => a.details.refused).filter(Boolean);
  for (const r of ['secrets', 'exec', 'portforward'])
    assert.ok(refused.includes(r), `${r} in ${refused.join(',')}`);
  assert.ok(audit.every((a) => a.subject === 'alice' && a.details.grantId === grantId));
});

test('the grant’s level reaches the target through the overlay: delete pod refused read-only, forwarded read-write', async (t) => {
  if (!needs(t, missing)) return;
  assert.equal(conn.agent.netmap!.grants.find((g) => g.id === rwGrantId)?.access, 'read-write');
  assert.equal(
    conn.agent.netmap!.grants.find((g) => g.id === grantId)?.access,
    undefined,
    'read-only: absent',
  );
  const deletes = () => stub.requests.filter((r) => r.method === 'DELETE');
  const ro = await kubectl('delete', 'pod', 'web-1', '--wait=false');
  assert.notEqual(ro.code, 0);
  assert.match(ro.err, /Forbidden/);
  assert.deepEqual(deletes(), []);
  const rw = await runKubectl(kubeconfigRw, tmp.dir, ['delete', 'pod', 'web-1', '--wait=false'], 25_000);
  assert.equal(rw.code, 0, rw.err);
  const [del] = deletes();
  assert.equal(del?.headers['impersonate-user'], 'sallyport:alice');
  assert.equal(del.headers['impersonate-group'], 'sallyport:view, sallyport:edit');
  assert.equal(del.headers['impersonate-extra-sallyport-grant'], rwGrantId);
});
