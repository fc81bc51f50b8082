// Just-in-time access end to end in one process (coordinator, relay, connector, engineer agent),
// driven through the CLI commands: without a grant the engineer cannot see the connector; after
// `sallyport request` and `sallyport approve` by another person, curl through SOCKS5 works and
// `sallyport cert` fetches a client certificate ending with the grant; at the grant's end an open
// stream dies within 1 s, a new stream is refused, and the connector's netmap no longer lists
// the engineer (I3, I5).
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Harness, waitFor, type AgentHandle } from '../../src/testing/harness.ts';
import { needs } from '../../src/testing/require.ts';
import { missingBinary } from '../../src/testing/netns.ts';
import { ApiClient, routes } from '../../src/control/index.ts';
import { parseCertificate } from '../../src/pki/index.ts';
import { runAccess, type AccessCommand } from '../../src/cli/access.ts';
import { startServices, curlHash, type Services } from './services.ts';

const NAME = 'web.acme-prod.us-east-1.aws.byoc.test';

let h: Harness;
let svc: Services;
let conn: AgentHandle;
let eng: AgentHandle;
let caFile: string;
let tmp: string;
const tokens: Record<string, string> = {};

async function cli(who: string, cmd: AccessCommand, ...args: string[]) {
  let out = '';
  let err = '';
  const code = await runAccess(cmd, args, {
    env: { SALLYPORT_SERVER: h.coordinator.url, SALLYPORT_TOKEN: tokens[who], SALLYPORT_CA: caFile },
    stdout: (s) => (out += s),
    stderr: (s) => (err += s),
  });
  return { code, out, err };
}

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'sallyport-access-e2e-'));
  svc = await startServices(1024);
  h = await Harness.start();
  caFile = join(tmp, 'ca.pem');
  const { writeFileSync } = await import('node:fs');
  writeFileSync(caFile, h.coordinator.tls.cert);
  await h.deployment('acme-prod');
  for (const u of ['alice', 'bob']) await h.user(u);
  for (const [g, u] of [
    ['oncall', 'alice'],
    ['sre-leads', 'bob'],
  ]) {
    await h.api.route(routes.groupsCreate, { body: { name: g } });
    await h.api.route(routes.groupMembersAdd, { params: { name: g, user: u } });
  }
  await h.api.route(routes.policyPut, {
    body: {
      version: 1,
      policies: [
        {
          id: 'oncall',
          requesters: ['oncall'],
          deployments: '*',
          services: '*',
          access: 'read-only',
          maxDuration: '2h',
          pendingFor: '10m',
          approval: { group: 'sre-leads', threshold: 1 },
        },
      ],
    },
  });
  const anon = new ApiClient({ server: h.coordinator.url, ca: h.coordinator.tls.cert });
  for (const u of ['alice', 'bob'])
    tokens[u] = (
      await anon.route(routes.login, {
        body: {
          user: u,
          password: `pw-${u}-${'x'.repeat(12)}`,
        },
      })
    ).token;
  conn = await h.connector({
    deployment: 'acme-prod',
    services: [
      { name: 'web', kind: 'http', address: `127.0.0.1:${svc.httpPort}`, tls: 'passthrough' },
      { name: 'echo', kind: 'tcp', address: `127.0.0.1:${svc.echoPort}`, tls: 'passthrough' },
    ],
  });
  eng = await h.engineer({ user: 'alice', socks5: true });
});

after(async () => {
  await h?.stop();
  await svc?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

test('request → approve → curl through SOCKS5 → the grant ends: stream cut within 1 s, netmap updated', async (t) => {
  if (!needs(t, missingBinary('curl'))) return;
  const socks = `${eng.agent.socksAddress!.host}:${eng.agent.socksAddress!.port}`;
  const engKey = eng.agent.publicKey.base64();
  // Without a grant: no connector in her netmap, none of her in the connector's, curl fails.
  assert.equal(eng.agent.netmap!.peers.length, 0);
  assert.ok(!conn.agent.netmap!.peers.some((p) => p.key === engKey));
  const denied = await curlHash(['--max-time', '5', '--socks5-hostname', socks, `http://${NAME}/`]);
  assert.notEqual(denied.code, 0, 'no grant: curl through SOCKS5 fails');

  // Self-approval is refused by the CLI with the server's code.
  const req = await cli(
    'alice',
    'request',
    'acme-prod',
    '--service',
    'web',
    '--service',
    'echo',
    '--reason',
    'INC-7',
    '--for',
    '6s',
    '--json',
  );
  assert.equal(req.code, 0, req.err);
  const r = JSON.parse(req.out) as { id: string; grantId: string; status: string };
  assert.equal(r.status, 'pending');
  const self = await cli('alice', 'approve', r.id);
  assert.equal(self.code, 1);
  assert.match(self.err, /SELF_APPROVAL/);
  const listed = await cli('bob', 'requests', '--status', 'pending');
  assert.match(listed.out, new RegExp(r.id));
  const ok = await cli('bob', 'approve', r.id);
  assert.equal(ok.code, 0, ok.err);
  assert.match(ok.out, /approved/);

  const grants = JSON.parse((await cli('alice', 'grants', '--json')).out) as {
    id: string;
    end: number;
    status: string;
  }[];
  const g = grants.find((x) => x.id === r.grantId)!;
  assert.equal(g.status, 'active');

  await waitFor(
    () => (eng.agent.netmap?.peers.length ?? 0) === 1,
    10_000,
    'connector in the engineer netmap',
  );
  await waitFor(
    () => conn.agent.netmap?.peers.some((p) => p.key === engKey) ?? false,
    10_000,
    'engineer in the connector netmap',
  );
  const got = await curlHash(['--max-time', '5', '--socks5-hostname', socks, `http://${NAME}/`]);
  assert.equal(got.code, 0, got.stderr);
  assert.ok(got.bytes > 0);

  // The client certificate for the grant: key made here (0600), notAfter = grant end.
  const certDir = join(tmp, 'cert');
  const c = await cli('alice', 'cert', '--out', certDir);
  assert.equal(c.code, 0, c.err);
  assert.equal(statSync(join(certDir, 'key.pem')).mode & 0o777, 0o600);
  const cert = parseCertificate(readFileSync(join(certDir, 'cert.pem'), 'utf8'));
  assert.equal(Math.floor(cert.notAfter.getTime() / 1000), Math.floor(g.end / 1000));

  // A stream open across the end: cut within 1 s of it.
  const echo = eng.agent.netmap!.services.find((s) => s.name === 'echo')!;
  const s = eng.agent.openStream(echo)!;
  s.on('error', () => {});
  const first = await new Promise<Buffer>((res) => {
    s.once('data', res);
    s.write('ping');
  });
  assert.equal(first.toString(), 'ping');
  await new Promise<void>((res) => s.on('close', () => res()));
  const lateMs = h.clock.wallMs() - g.end;
  t.diagnostic(`stream cut ${lateMs.toFixed(0)} ms after the grant end`);
  assert.ok(lateMs < 1000, `stream cut within 1 s of the end (${lateMs} ms)`);
  assert.ok(lateMs > -500, `not long before the end (${lateMs} ms)`);

  await waitFor(
    () => !(conn.agent.netmap?.peers.some((p) => p.key === engKey) ?? true),
    5000,
    'engineer removed from the connector netmap',
  );
  const after = await curlHash(['--max-time', '3', '--socks5-hostname', socks, `http://${NAME}/`]);
  assert.notEqual(after.code, 0, 'a new stream after the end is refused');
  // The coordinator's scheduler marks the grant expired and audits it.
  await waitFor(
    async () => (await h.coordinator.store.getAccessGrant(g.id))?.status === 'expired',
    5000,
    'grant expired in the store',
  );
  const audit = await h.api.route(routes.auditList, { query: { limit: 10000 } });
  for (const action of [
    'request.create',
    'request.approve',
    'grant.create',
    'certificate.client',
    'grant.expire',
  ])
    assert.ok(
      audit.some((a) => a.action === action),
      action,
    );
});
