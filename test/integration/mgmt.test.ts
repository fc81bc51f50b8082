// `sallyport mgmt kubectl` as a vendor's management machine runs it, with real kubectl: an overlay
// (coordinator, relay, a connector serving the deployment's "k8s" service, the machine's agent
// with a SOCKS5 proxy and a standing-style grant) and a "public endpoint" on loopback. Both
// endpoints count the TCP connections they get — the public one is the packet counter on the
// public route. kubectl's own TLS fails against these counters (they are not API servers): what
// the test checks is where kubectl connected, and what was recorded.
//
//   private, overlay up            → the overlay endpoint, never the public one
//   private, overlay cut           → nothing anywhere, exit 1
//   fallback, overlay cut, no why  → nothing anywhere, exit 2
//   fallback, overlay cut, --reason→ break-glass audited + the customer's webhook, then public
//   public                         → the public endpoint, no probe needed
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer, type Server } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { createSelfSigned } from '../../src/pki/index.ts';
import { join } from 'node:path';
import { Harness, type AgentHandle } from '../../src/testing/harness.ts';
import { missingBinary } from '../../src/testing/netns.ts';
import { needs } from '../../src/testing/require.ts';
import { spawnCli } from '../../src/testing/spawn-cli.ts';
import { buildKubeconfig } from '../../src/cli/kubeconfig.ts';
import { LocalAudit } from '../../src/agent/local-audit.ts';
import { routes, type BodyOf } from '../../src/control/index.ts';

interface Counter {
  server: Server;
  port: number;
  connections: number;
}

/** A TLS endpoint (not an API server) counting the TCP connections it gets. */
async function counter(pair: { certPem: string; keyPem: string }): Promise<Counter> {
  const c: Counter = {
    server: createServer({ cert: pair.certPem, key: pair.keyPem }),
    port: 0,
    connections: 0,
  };
  c.server.on('connection', () => c.connections++);
  c.server.on('secureConnection', (s) => s.end());
  c.server.on('tlsClientError', () => {});
  await new Promise<void>((r) => c.server.listen(0, '127.0.0.1', () => r()));
  c.port = (c.server.address() as AddressInfo).port;
  return c;
}

function mgmt(args: string[], env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  return run('mgmt', args, env);
}

function run(
  cmd: string,
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stderr: string }> {
  const p = spawnCli(cmd, args, 'pipe', env);
  let stderr = '';
  p.stdout.resume();
  p.stderr.on('data', (d: Buffer) => (stderr += d));
  return new Promise((resolve) => p.on('exit', (code) => resolve({ code, stderr })));
}

const noKubectl = missingBinary('kubectl');

describe('sallyport mgmt kubectl', () => {
  let h: Harness;
  let overlayEnd: Counter;
  let publicEnd: Counter;
  let customer: { server: HttpServer; url: string; bodies: string[] };
  let conn: AgentHandle;
  let ops: AgentHandle;
  let env: Record<string, string>;
  let files: { overlay: string; public: string };
  const kubectlArgs = ['--', 'get', '--raw', '/version', '--request-timeout=3s'];

  before(async () => {
    if (noKubectl) return;
    h = await Harness.start();
    const pair = await createSelfSigned({ commonName: 'k8s.test', dnsNames: ['k8s.test'] });
    overlayEnd = await counter(pair);
    publicEnd = await counter(pair);
    writeFileSync(join(h.dir, 'client.crt'), pair.certPem);
    writeFileSync(join(h.dir, 'client.key'), pair.keyPem, { mode: 0o600 });
    customer = { server: createHttpServer(), url: '', bodies: [] };
    customer.server.on('request', (req, res) => {
      let b = '';
      req.on('data', (d) => (b += d));
      req.on('end', () => {
        customer.bodies.push(b);
        res.end('ok');
      });
    });
    await new Promise<void>((r) => customer.server.listen(0, '127.0.0.1', () => r()));
    customer.url = `http://127.0.0.1:${(customer.server.address() as AddressInfo).port}/hook`;
    await h.deployment('acme-prod');
    await h.user('ops');
    conn = await h.connector({
      deployment: 'acme-prod',
      services: [{ name: 'k8s', kind: 'tcp', address: `127.0.0.1:${overlayEnd.port}`, tls: 'passthrough' }],
    });
    ops = await h.engineer({ user: 'ops', socks5: true });
    await h.grant({ type: 'user', name: 'ops' }, 'acme-prod', ['k8s']);
    await h.connected(ops, conn);
    const token = await tokenOf(h, 'ops');
    writeFileSync(join(h.dir, 'ca.pem'), h.coordinator.tls.cert);
    env = {
      SALLYPORT_SERVER: h.coordinator.url,
      SALLYPORT_TOKEN: token,
      SALLYPORT_CA: join(h.dir, 'ca.pem'),
    };
    const socks = ops.agent.socksAddress!;
    const status = ops.agent.status();
    const tailnet = status.services.find((s) => s.name === 'k8s')!.tailnetName;
    mkdirSync(join(h.dir, 'kube'), { recursive: true });
    files = { overlay: join(h.dir, 'kube', 'overlay.yaml'), public: join(h.dir, 'kube', 'public.yaml') };
    const kc = (server: string, proxyUrl?: string) =>
      buildKubeconfig({
        name: 'acme-prod',
        server,
        caPem: h.coordinator.tls.cert,
        certFile: join(h.dir, 'client.crt'),
        keyFile: join(h.dir, 'client.key'),
        ...(proxyUrl ? { proxyUrl } : {}),
      });
    writeFileSync(files.overlay, kc(`https://${tailnet}`, `socks5://${socks.host}:${socks.port}`));
    writeFileSync(files.public, kc('https://203.0.113.1:6443'));
  });
  after(async () => {
    await h?.stop();
    overlayEnd?.server.close();
    publicEnd?.server.close();
    customer?.server.close();
  });

  const base = () => [
    'kubectl',
    'acme-prod',
    '--state',
    ops.stateDir,
    '--overlay-kubeconfig',
    files.overlay,
    '--public-kubeconfig',
    files.public,
    '--probe-timeout',
    '2000',
  ];
  const setMode = (body: BodyOf<typeof routes.managementPut>) =>
    h.api.route(routes.managementPut, { params: { name: 'acme-prod' }, body });
  const breakGlasses = async () =>
    (await h.api.route(routes.auditList, { query: { limit: 10000 } })).filter(
      (a) => a.action === 'mgmt.break-glass',
    ).length;

  test('private (the default), overlay up: kubectl goes through the overlay, never to the public endpoint', async (t) => {
    if (!needs(t, noKubectl)) return;
    const r = await mgmt([...base(), ...kubectlArgs], env);
    assert.match(r.stderr, /acme-prod through the overlay/);
    assert.ok(overlayEnd.connections >= 1, r.stderr);
    assert.equal(publicEnd.connections, 0);
  });

  test('overlay cut: private refuses and connects nowhere; the fallback needs a reason, then records the break-glass first', async (t) => {
    if (!needs(t, noKubectl)) return;
    await h.stopAgent(conn); // the connector is gone: no stream can open
    const before = overlayEnd.connections;
    const priv = await mgmt([...base(), ...kubectlArgs], env);
    assert.equal(priv.code, 1, priv.stderr);
    assert.match(
      priv.stderr,
      /the overlay is down \(.+\) and acme-prod's management path is private: the public endpoint is never used/,
    );
    assert.equal(publicEnd.connections, 0, 'private: no public connection, ever');

    await setMode({
      mode: 'private-with-public-fallback',
      publicServer: `https://127.0.0.1:${publicEnd.port}`,
      customerWebhook: customer.url,
    });
    const noWhy = await mgmt([...base(), ...kubectlArgs], env);
    assert.equal(noWhy.code, 2, noWhy.stderr);
    assert.match(noWhy.stderr, /say why with --reason TEXT/);
    assert.equal(publicEnd.connections, 0);
    assert.equal(await breakGlasses(), 0);

    const bg = await mgmt(
      [...base(), '--reason', 'INC-4711 connector down, pods crash-looping', ...kubectlArgs],
      env,
    );
    assert.match(
      bg.stderr,
      /BREAK-GLASS recorded at \S+ \(the customer is notified\): acme-prod through its PUBLIC endpoint https:\/\/127\.0\.0\.1:\d+/,
    );
    assert.ok(publicEnd.connections >= 1, 'kubectl used the public endpoint the coordinator gave');
    assert.equal(overlayEnd.connections, before);
    assert.equal(await breakGlasses(), 1);
    for (let i = 0; i < 50 && customer.bodies.length === 0; i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(customer.bodies.length, 1);
    assert.match(
      customer.bodies[0],
      /ops used the public management endpoint of acme-prod \(k8s\).*Reason: INC-4711/,
    );
  });

  test('public: straight to the public endpoint, no break-glass', async (t) => {
    if (!needs(t, noKubectl)) return;
    const n = publicEnd.connections;
    await setMode({ mode: 'public', publicServer: `https://127.0.0.1:${publicEnd.port}` });
    const r = await mgmt([...base(), ...kubectlArgs], env);
    assert.match(r.stderr, /acme-prod through its public endpoint/);
    assert.ok(publicEnd.connections > n);
    assert.equal(await breakGlasses(), 1);
  });

  test("docs/management-path.md's command lines, run as written", async (t) => {
    if (!needs(t, noKubectl)) return;
    const doc = readFileSync(new URL('../../docs/management-path.md', import.meta.url), 'utf8');
    const lines = [...doc.matchAll(/```sh\n([\s\S]*?)```/g)]
      .flatMap((m) => m[1].replace(/\\\n\s*/g, '').split('\n'))
      .map((l) => l.trim())
      .filter((l) => l.startsWith('sallyport '));
    assert.equal(lines.length, 3);
    // an administrator's token for the admin lines; the machine's for mgmt
    await h.api.route(routes.usersCreate, {
      body: {
        name: 'vendor-admin',
        password: 'vendor admin password',
        admin: true,
      },
    });
    const adminEnv = {
      ...env,
      SALLYPORT_TOKEN: (
        await h.api.route(routes.login, {
          body: {
            user: 'vendor-admin',
            password: 'vendor admin password',
          },
        })
      ).token,
    };
    await h.deployment('acme-two');
    for (const line of lines.filter((l) => l.startsWith('sallyport admin'))) {
      const args = line
        .split(/\s+/)
        .slice(2)
        .map((x) => (x === 'acme-prod' ? 'acme-two' : x));
      const r = await run('admin', args, adminEnv);
      assert.equal(r.code, 0, `${line}\n${r.stderr}`);
    }
    const m = await h.api.route(routes.managementGet, { params: { name: 'acme-two' } });
    assert.deepEqual(
      [m.mode, m.publicServer],
      ['private-with-public-fallback', 'https://k8s-api.acme.example.com:6443'],
    );
    // `sallyport mgmt kubectl acme-prod -- get pods -n clickhouse` exactly, with the state and
    // credentials from the environment and the overlay kubeconfig where `sallyport kubeconfig` puts it
    await h.api.route(routes.managementPut, { params: { name: 'acme-prod' }, body: { mode: 'private' } });
    const conn2 = await h.connector({
      stateDir: conn.stateDir, // the same connector, back (its node key holds the service)
      deployment: 'acme-prod',
      services: [{ name: 'k8s', kind: 'tcp', address: `127.0.0.1:${overlayEnd.port}`, tls: 'passthrough' }],
    });
    await h.connected(ops, conn2);
    // the connector was away during the break-glass: back, it holds it in the customer's local
    // audit (once, however often it reconnects)
    const local = () =>
      LocalAudit.read(conn2.agent.targets!.audit.file).filter((x) => x.action === 'mgmt.break-glass');
    for (let i = 0; i < 50 && local().length === 0; i++) await new Promise((res) => setTimeout(res, 100));
    assert.equal(local().length, 1);
    assert.match(String(local()[0].details.reason), /^INC-4711/);
    assert.equal(local()[0].details.by, 'user:ops');
    assert.equal(local()[0].subject, 'deployment:acme-prod');
    mkdirSync(join(ops.stateDir, 'kube'), { recursive: true });
    copyFileSync(files.overlay, join(ops.stateDir, 'kube', 'acme-prod-k8s.yaml'));
    const n = overlayEnd.connections;
    const mg = lines.find((l) => l.startsWith('sallyport mgmt'))!;
    const r = await run('mgmt', mg.split(/\s+/).slice(2), { ...env, SALLYPORT_STATE: ops.stateDir });
    assert.match(r.stderr, /acme-prod through the overlay/);
    assert.ok(overlayEnd.connections > n, r.stderr);
  });

  test('usage: a subcommand and kubectl arguments are required', async (t) => {
    if (!needs(t, noKubectl)) return;
    const r = await mgmt(['kubectl', 'acme-prod'], env);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /give kubectl its arguments after --/);
  });
});

/** A bearer token for `user` (the harness's password convention). */
async function tokenOf(h: Harness, user: string): Promise<string> {
  const r = await h.api.route(routes.login, {
    body: {
      user,
      password: `pw-${user}-${'x'.repeat(12)}`,
    },
  });
  return r.token;
}
