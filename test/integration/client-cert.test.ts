// I4 end to end for a TLS-terminating service: the connector's router admits a stream only when
// the client certificate chains to the access CA and names (in its SAN URI and CN) an active grant
// of this peer for this service, within the certificate's and the grant's validity on the agent's
// clock. Each refusal is counted and written to the connector's local audit; a stream open when
// the certificate ends is cut within 1 s although the grant and the session go on.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { Harness, waitFor, type AgentHandle } from '../../src/testing/harness.ts';
import { LocalAudit } from '../../src/agent/local-audit.ts';
import { createKeyAndCsr, issueClientCert, issueServerCert } from '../../src/pki/index.ts';
import { startServices, type Services } from './services.ts';

let h: Harness;
let svc: Services;
let conn: AgentHandle;
let eng: AgentHandle;
let grantId: string;
let rootPem: string;

before(async () => {
  svc = await startServices(1024);
  h = await Harness.start();
  await h.deployment('acme-prod');
  await h.user('alice');
  conn = await h.connector({
    deployment: 'acme-prod',
    services: [
      { name: 'secure', kind: 'http', address: `127.0.0.1:${svc.echoPort}`, tls: 'terminate' },
      { name: 'other', kind: 'http', address: `127.0.0.1:${svc.echoPort}`, tls: 'terminate' },
    ],
  });
  rootPem = await h.serviceCertRoot(conn.agent, ['secure', 'other']);
  eng = await h.engineer({ user: 'alice' });
  grantId = await h.grant({ type: 'user', name: 'alice' }, 'acme-prod', ['secure']);
  await h.connected(eng, conn);
});

after(async () => {
  await h?.stop();
  await svc?.close();
});

/** TLS over a fresh overlay stream to the service, with the given client credentials. */
async function open(
  service: string,
  creds?: { keyPem: string; chainPem: string },
): Promise<{ ok: true; tls: TLSSocket } | { ok: false; err: string }> {
  const s = eng.agent.netmap!.services.find((x) => x.name === service)!;
  const stream = eng.agent.openStream(s)!;
  const tls = tlsConnect({
    socket: stream,
    servername: s.tailnetName,
    ca: rootPem,
    ...(creds ? { key: creds.keyPem, cert: creds.chainPem } : {}),
  });
  // TLS 1.3: the server's verdict on the client certificate arrives after the client's handshake
  // ends, so a round trip decides.
  try {
    await once(tls, 'secureConnect');
    tls.write('ping');
    const [b] = (await once(tls, 'data')) as [Buffer];
    assert.equal(b.toString(), 'ping');
    return { ok: true, tls };
  } catch (e) {
    tls.destroy();
    return { ok: false, err: (e as Error).message };
  }
}

function refusals(reason: string): number {
  const lines = LocalAudit.read(conn.agent.targets!.audit.file);
  return lines.filter((r) => r.action === 'stream.refuse' && r.details.reason === reason).length;
}

test('a grant certificate from the agent channel opens the service; its key never left the engineer', async () => {
  assert.ok(h.coordinator.pki);
  const c = await eng.agent.grantCertificate(grantId);
  const r = await open('secure', c);
  assert.ok(r.ok, !r.ok ? r.err : '');
  r.tls.destroy();
  assert.match(
    eng.agent.netmap!.services.find((x) => x.name === 'secure')!.tailnetName,
    /^secure\.acme-prod\./,
  );
});

test('refused: no certificate, a service certificate, another user, another service, another grant', async () => {
  const before = { none: refusals('cert-bad_certificate'), ca: refusals('cert-not_access_ca') };
  assert.equal((await open('secure')).ok, false, 'no client certificate');
  await waitFor(() => refusals('cert-bad_certificate') > before.none, 5000, 'refusal audited');

  // A certificate from the service CA (a router's) with a grant URI: wrong CA / no clientAuth.
  const k1 = await createKeyAndCsr({ commonName: 'alice' });
  const svcCert = await issueServerCert(h.coordinator.pki.service, {
    csrPem: k1.csrPem,
    dnsNames: ['alice.example'],
    notAfter: h.clock.wallMs() + 60_000,
    clock: h.clock,
  });
  assert.equal((await open('secure', { keyPem: k1.keyPem, chainPem: svcCert.chainPem })).ok, false);

  // The access CA, this grant, but CN mallory: not the grant's user.
  const k2 = await createKeyAndCsr({ commonName: 'mallory' });
  const mallory = await issueClientCert(h.coordinator.pki.access, k2.csrPem, {
    identity: { user: 'mallory' },
    grantUri: `sallyport:grant:${grantId}`,
    notAfter: h.clock.wallMs() + 60_000,
    clock: h.clock,
  });
  const before2 = refusals('cert-grant_mismatch');
  assert.equal((await open('secure', { keyPem: k2.keyPem, chainPem: mallory.chainPem })).ok, false);
  await waitFor(() => refusals('cert-grant_mismatch') > before2, 5000, 'mismatch audited');

  // A grant URI that is not active here.
  const k3 = await createKeyAndCsr({ commonName: 'alice' });
  const ghost = await issueClientCert(h.coordinator.pki.access, k3.csrPem, {
    identity: { user: 'alice' },
    grantUri: 'sallyport:grant:gr_not_here',
    notAfter: h.clock.wallMs() + 60_000,
    clock: h.clock,
  });
  assert.equal((await open('secure', { keyPem: k3.keyPem, chainPem: ghost.chainPem })).ok, false);
  await waitFor(() => refusals('cert-unknown_grant') >= 1, 5000, 'unknown grant audited');
  await waitFor(
    () => refusals('cert-not_access_ca') > before.ca,
    5000,
    'service certificate refusal audited',
  );
});

test('a certificate past its notAfter is refused over a valid session, and a stream open at its end is cut within 1 s', async () => {
  const k = await createKeyAndCsr({ commonName: 'alice' });
  const end = Math.ceil((h.clock.wallMs() + 3000) / 1000) * 1000;
  const short = await issueClientCert(h.coordinator.pki.access, k.csrPem, {
    identity: { user: 'alice' },
    grantUri: `sallyport:grant:${grantId}`,
    notAfter: end,
    clock: h.clock,
  });
  const creds = { keyPem: k.keyPem, chainPem: short.chainPem };
  const r = await open('secure', creds);
  assert.ok(r.ok, !r.ok ? r.err : '');
  r.tls.on('error', () => {});
  await waitFor(() => r.tls.destroyed, 8000, 'the stream cut at the certificate end');
  const late = h.clock.wallMs() - end;
  assert.ok(late > -100 && late < 1000, `cut ${late} ms after the certificate's end`);
  // The grant and the session are still there; the same certificate is refused now.
  assert.equal((await open('secure', creds)).ok, false, 'expired certificate refused');
  assert.ok(eng.agent.netmap!.grants.some((g) => g.id === grantId));
  const fresh = await eng.agent.grantCertificate(grantId);
  const again = await open('secure', fresh);
  assert.ok(again.ok, 'a fresh certificate for the same grant works');
  again.tls.destroy();
});

test("the connector's local audit is a verifiable hash chain holding the served streams", async () => {
  await waitFor(
    () => LocalAudit.read(conn.agent.targets!.audit.file).some((r) => r.action === 'stream.served'),
    5000,
    'a stream.served record',
  );
  const v = LocalAudit.verify(conn.agent.targets!.audit.file);
  assert.equal(v.ok, true, JSON.stringify(v.failure));
  assert.ok(v.records >= 5);
});

test('sallyport cert --agent: the running agent makes the key and fetches the certificate (no API token)', async () => {
  const { runAccess } = await import('../../src/cli/access.ts');
  const { mkdtempSync, readFileSync, statSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const out = mkdtempSync(join(tmpdir(), 'sp-cert-agent-'));
  let stdout = '';
  let stderr = '';
  const code = await runAccess('cert', ['--agent', '--state', eng.stateDir, '--out', out, '--json'], {
    env: {},
    stdout: (s) => (stdout += s),
    stderr: (s) => (stderr += s),
  });
  assert.equal(code, 0, stderr);
  assert.equal((JSON.parse(stdout) as { grant: string }).grant, grantId, 'the one grant in the netmap');
  assert.equal(statSync(join(out, 'key.pem')).mode & 0o777, 0o600);
  const r = await open('secure', {
    keyPem: readFileSync(join(out, 'key.pem'), 'utf8'),
    chainPem: readFileSync(join(out, 'cert.pem'), 'utf8'),
  });
  assert.ok(r.ok, !r.ok ? r.err : '');
  r.tls.destroy();
  // A grant this node does not hold: refused by the agent, exit 1.
  const bad = await runAccess('cert', ['--agent', 'gr_nope', '--state', eng.stateDir, '--out', out], {
    env: {},
    stdout: () => {},
    stderr: (s) => (stderr = s),
  });
  assert.equal(bad, 1);
  assert.match(stderr, /AGENT_REFUSED/);
  // The engineer's status lists what its grants let it reach, with tailnet names.
  const st = eng.agent.status();
  assert.ok(st.services.some((s) => s.name === 'secure' && s.tailnetName.startsWith('secure.acme-prod.')));
  assert.ok(st.grants.some((g) => g.id === grantId));
});
