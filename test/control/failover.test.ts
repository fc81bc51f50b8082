// Agents fail over between coordinators on one PostgreSQL (issue 15), with real processes: two
// `sallyport coordinator` processes share one database and one set of key files; a connector and an
// engineer (in this process) hold both URLs. Coordinator A, which the agents are on and which owns
// the timers, is killed with SIGKILL in the middle of a grant made on B:
//   - both agents reach B within a few seconds, their netmaps never lose the peer, and the stream
//     between them keeps flowing (it never touches a coordinator);
//   - B takes the timers over and the grant still expires on time: the engineer loses the peer and
//     the stream is cut;
//   - the audit log written by both coordinators is one chain that `audit verify` accepts.
// Then A is started again and B is stopped with SIGTERM: B drains (close 1012), the agents move to
// A at once, and B exits 0. B started again revokes a new grant: the engineer on A loses the peer
// and its open stream within a second.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { realClock } from '../../src/clock/index.ts';
import { PrivateKey, PublicKey } from '../../src/crypto/index.ts';
import { ApiClient, loadOrCreateKeys, routes } from '../../src/control/index.ts';
import { createSelfSigned } from '../../src/pki/index.ts';
import { RelayServer } from '../../src/relay/index.ts';
import { Agent } from '../../src/agent/index.ts';
import { run as audit } from '../../src/cli/audit.ts';
import { needs } from '../../src/testing/require.ts';
import { postgresMissing, startPostgres, type PostgresInstance } from '../../src/testing/postgres.ts';
import { freePort } from '../../src/testing/ports.ts';
import { waitFor } from '../../src/testing/harness.ts';
import { pump, startServices, type Services } from '../integration/services.ts';
import { copyCoordinatorKeys } from '../../src/testing/coordinators.ts';
import { spawnCli } from '../../src/testing/spawn-cli.ts';

const missing = postgresMissing();
let pgServer: PostgresInstance | undefined;
let svc: Services | undefined;
const quiet = pino({ level: process.env.SALLYPORT_TEST_LOG ?? 'silent' });

before(async () => {
  if (missing) return;
  pgServer = await startPostgres();
  svc = await startServices(1024);
});
after(async () => {
  await svc?.close();
  await pgServer?.stop();
});

interface CoordProcess {
  child: ChildProcess;
  url: string;
  channelKey: string;
  out: () => string;
  exited: Promise<number | null>;
}

/** Starts `sallyport coordinator --json` and resolves with what it printed once it listens. */
async function coordinator(
  dir: string,
  port: number,
  instance: string,
  relayUrl: string,
): Promise<CoordProcess> {
  const child = spawnCli('coordinator', [
    ...['--data', dir, '--db', pgServer!.url, '--listen', `127.0.0.1:${port}`, '--instance', instance],
    ...['--suffix', 'byoc.example.com', '--relay', `eu=${relayUrl}`, '--log-level', 'warn', '--json'],
  ]);
  let out = '';
  let err = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (err += b.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  await waitFor(() => out.includes('\n') || child.exitCode !== null, 30_000, `${instance} starts`);
  assert.equal(child.exitCode, null, `${instance} exited: ${err}`);
  const j = JSON.parse(out.split('\n')[0]) as { url: string; channelKey: string };
  return { child, url: j.url, channelKey: j.channelKey, out: () => out + err, exited };
}

async function health(
  url: string,
  ca: string,
): Promise<{ timers: { owner: string | null; owned: boolean } }> {
  const h = await new ApiClient({ server: url, ca }).route(routes.health);
  return { timers: h.timers! };
}

test(
  'agents fail over to another coordinator when theirs is killed; its timers move; one audit chain; drain on SIGTERM',
  { timeout: 120_000 },
  async (t) => {
    if (!needs(t, missing)) return;
    const dirA = mkdtempSync(join(tmpdir(), 'sallyport-failover-a-'));
    const dirB = mkdtempSync(join(tmpdir(), 'sallyport-failover-b-'));
    const agentsDir = mkdtempSync(join(tmpdir(), 'sallyport-failover-agents-'));
    const procs: ChildProcess[] = [];
    const agents: Agent[] = [];
    t.after(async () => {
      for (const a of agents) await a.stop().catch(() => {});
      for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
      for (const d of [dirA, dirB, agentsDir]) rmSync(d, { recursive: true, force: true });
    });

    // The relay trusts the coordinators' signing key, made here before A's first start.
    const keys = loadOrCreateKeys(dirA);
    const relayCert = await createSelfSigned({ commonName: 'relay.test', ipAddresses: ['127.0.0.1'] });
    const relay = new RelayServer({
      clock: realClock,
      privateKey: PrivateKey.generate(),
      trusted: [keys.signingKey.verifyKey],
      region: 'eu',
      listen: { host: '127.0.0.1', port: 0 },
      tls: { cert: relayCert.certPem, key: relayCert.keyPem },
      logger: quiet,
    });
    const relayUrl = `https://127.0.0.1:${(await relay.start()).port}`;
    t.after(() => relay.stop());

    const portA = await freePort();
    const portB = await freePort();
    let A = await coordinator(dirA, portA, 'coord-a', relayUrl);
    procs.push(A.child);
    const urlB = `https://127.0.0.1:${portB}`;
    const coordCa = readFileSync(join(dirA, 'tls', 'cert.pem'), 'utf8');
    const ca = `${coordCa}\n${relayCert.certPem}`;
    const caFile = join(agentsDir, 'ca.pem');
    writeFileSync(caFile, coordCa);

    const anonA = new ApiClient({ server: A.url, ca: coordCa });
    const adminPassword = readFileSync(join(dirA, 'initial-admin-password'), 'utf8').trim();
    const adminA = await anonA.login('admin', adminPassword);
    await adminA.route(routes.deploymentsCreate, {
      body: {
        name: 'acme-prod',
        region: 'us-east-1',
        cloud: 'aws',
      },
    });
    await adminA.route(routes.policyPut, {
      body: {
        version: 1,
        policies: [
          {
            id: 'oncall',
            requesters: ['oncall'],
            deployments: { names: ['acme-prod'] },
            services: { names: ['echo'] },
            access: 'read-only',
            maxDuration: '1h',
            pendingFor: '30m',
            approval: { group: 'leads', threshold: 1 },
          },
        ],
      },
    });
    for (const g of ['oncall', 'leads']) await adminA.route(routes.groupsCreate, { body: { name: g } });
    for (const u of ['bob', 'carol'])
      await adminA.route(routes.usersCreate, { body: { name: u, password: 'long password' } });
    await adminA.route(routes.groupMembersAdd, { params: { name: 'oncall', user: 'bob' } });
    await adminA.route(routes.groupMembersAdd, { params: { name: 'leads', user: 'carol' } });
    const connKey = await adminA.route(routes.preauthKeysCreate, {
      body: {
        deployment: 'acme-prod',
      },
    });
    const engKey = await adminA.route(routes.preauthKeysCreate, { body: { user: 'bob' } });

    // Both agents hold both URLs. B is not up yet, so whichever URL an agent starts on, it ends on A.
    const common = {
      clock: realClock,
      coordinator: [A.url, urlB],
      coordinatorKey: PublicKey.fromBase64(A.channelKey),
      ca,
      logger: quiet,
      controlSocket: false,
    };
    const conn = new Agent({
      ...common,
      stateDir: join(agentsDir, 'conn'),
      name: 'acme-prod-connector',
      kind: 'connector',
      preauthKey: connKey.key,
      services: [{ name: 'echo', kind: 'tcp', address: `127.0.0.1:${svc!.echoPort}`, tls: 'passthrough' }],
    });
    agents.push(conn);
    await conn.start();
    const eng = new Agent({
      ...common,
      stateDir: join(agentsDir, 'eng'),
      name: 'bob-laptop',
      kind: 'engineer',
      preauthKey: engKey.key,
    });
    agents.push(eng);
    await eng.start();
    await waitFor(
      () => conn.control.state === 'connected' && eng.control.state === 'connected',
      20_000,
      'agents on A',
    );
    assert.equal(conn.control.url, A.url);
    assert.equal(eng.control.url, A.url);

    // B: the same key files and listener certificate (as an operator deploys them), another name.
    copyCoordinatorKeys(dirA, dirB);
    const B = await coordinator(dirB, portB, 'coord-b', relayUrl);
    procs.push(B.child);
    assert.equal(B.url, urlB);
    await waitFor(
      async () => (await health(urlB, coordCa)).timers.owner === 'coord-a',
      10_000,
      'B sees A own the timers',
    );

    // A grant made on B, ending in 8 s; its change reaches the agents on A through PostgreSQL.
    const anonB = new ApiClient({ server: urlB, ca: coordCa });
    const bob = await anonB.login('bob', 'long password');
    const carol = await anonB.login('carol', 'long password');
    const req = await bob.route(routes.requestsCreate, {
      body: {
        deployment: 'acme-prod',
        services: ['echo'],
        reason: 'INC-15 failover',
        duration: '8s',
      },
    });
    await carol.route(routes.requestsApprove, { params: { id: String(req.id) } });
    const grant = await bob.route(routes.accessGrantsGet, { params: { id: String(req.grantId) } });
    assert.equal(grant.status, 'active');
    await waitFor(
      () => (eng.netmap?.peers.length ?? 0) === 1,
      10_000,
      "the engineer's netmap lists the connector",
    );
    const echo = eng.netmap!.services.find((s) => s.name === 'echo')!;
    const stream = eng.openStream(echo)!;
    const p = pump(stream);
    await waitFor(() => p.received() > 4096, 10_000, 'echo flows');

    // Kill A (timer owner, both agents' coordinator) in the middle of the grant.
    let peerLost = false;
    const watch = setInterval(() => {
      if ((eng.netmap?.peers.length ?? 0) !== 1 && Date.now() < grant.end) peerLost = true;
    }, 20);
    t.after(() => clearInterval(watch));
    A.child.kill('SIGKILL');
    const killedAt = Date.now();
    const before = p.received();
    await waitFor(
      () => [conn, eng].every((a) => a.control.state === 'connected' && a.control.url === urlB),
      10_000,
      'both agents on B',
    );
    const movedMs = Date.now() - killedAt;
    t.diagnostic(`both agents reconnected to B ${movedMs} ms after A was killed`);
    assert.ok(movedMs < 5000, `failover took ${movedMs} ms`);
    await waitFor(() => p.received() > before + 8192, 5000, 'the stream keeps flowing after the kill');
    assert.equal(peerLost, false, "the engineer's netmap never lost the connector before the grant's end");
    await waitFor(async () => (await health(urlB, coordCa)).timers.owned, 10_000, 'B takes the timers over');

    // The grant ends on time although its timer owner died: B expires it.
    let expired = 0;
    await waitFor(
      async () => {
        const g = await bob.route(routes.accessGrantsGet, { params: { id: grant.id } });
        if (g.status === 'expired') expired = Date.now();
        return expired > 0;
      },
      grant.end - Date.now() + 10_000,
      'the grant expires',
    );
    const late = expired - grant.end;
    t.diagnostic(`grant expired ${late} ms after its end (B took the timers over after A's kill)`);
    assert.ok(late < 1500, `expired ${late} ms late`);
    await waitFor(() => (eng.netmap?.peers.length ?? 0) === 0, 3000, 'the engineer loses the peer');
    await waitFor(() => p.endedAt() !== undefined, 3000, 'the stream is cut at expiry');
    const sent = p.stop();
    const cutLate = p.endedAt()! - grant.end;
    t.diagnostic(`stream cut ${cutLate} ms after the grant's end`);
    assert.ok(cutLate < 2000, `stream cut ${cutLate} ms after the end`);
    // What came back is a byte-exact prefix of what was sent: nothing lost or reordered in failover.
    const got = p.got();
    assert.ok(got.length > 0);
    assert.ok(sent.subarray(0, got.length).equals(got), 'the echo is a byte-exact prefix of what was sent');

    // A comes back; B is stopped with SIGTERM: it drains, the agents move to A at once.
    A = await coordinator(dirA, portA, 'coord-a', relayUrl);
    procs.push(A.child);
    const drainAt = Date.now();
    B.child.kill('SIGTERM');
    await waitFor(
      () => [conn, eng].every((a) => a.control.state === 'connected' && a.control.url === A.url),
      10_000,
      'both agents back on A after B drains',
    );
    const drainMs = Date.now() - drainAt;
    t.diagnostic(`both agents on A ${drainMs} ms after SIGTERM to B`);
    assert.ok(drainMs < 3000, `moving after a drain took ${drainMs} ms`);
    assert.equal(await B.exited, 0, `B exits 0 after draining: ${B.out()}`);
    assert.ok(
      eng.control.lastError?.includes('1012'),
      `the engineer saw the drain: ${eng.control.lastError}`,
    );

    // B again; a grant made and then revoked on B: the engineer, on A, loses the peer and its open
    // stream within a second.
    const B2 = await coordinator(dirB, portB, 'coord-b', relayUrl);
    procs.push(B2.child);
    const bob2 = await anonB.login('bob', 'long password');
    const req2 = await bob2.route(routes.requestsCreate, {
      body: {
        deployment: 'acme-prod',
        services: ['echo'],
        reason: 'INC-15 revoke across coordinators',
        duration: '10m',
      },
    });
    await (
      await anonB.login('carol', 'long password')
    ).route(routes.requestsApprove, { params: { id: String(req2.id) } });
    await waitFor(() => (eng.netmap?.peers.length ?? 0) === 1, 10_000, 'the peer is back for the new grant');
    const p2 = pump(eng.openStream(eng.netmap!.services.find((x) => x.name === 'echo')!)!);
    await waitFor(() => p2.received() > 4096, 10_000, 'the new stream flows');
    const adminB = await anonB.login(
      'admin',
      readFileSync(join(dirA, 'initial-admin-password'), 'utf8').trim(),
    );
    const revokedAt = Date.now();
    await adminB.route(routes.accessGrantsRevoke, {
      params: { id: String(req2.grantId) },
      body: {
        reason: 'INC-15 done',
      },
    });
    await waitFor(() => (eng.netmap?.peers.length ?? 0) === 0, 1000, 'the engineer on A loses the peer');
    const peerGoneMs = Date.now() - revokedAt;
    await waitFor(() => p2.endedAt() !== undefined, 1000, 'the stream is cut');
    p2.stop();
    t.diagnostic(
      `revoked on B: the engineer on A lost the peer after ${peerGoneMs} ms, its stream after ${p2.endedAt()! - revokedAt} ms`,
    );
    B2.child.kill('SIGTERM');
    assert.equal(await B2.exited, 0);

    // One audit chain, written by both coordinators, verified offline.
    const token = (await anonA.route(routes.login, { body: { user: 'admin', password: adminPassword } }))
      .token;
    const file = join(agentsDir, 'audit.jsonl');
    let out = '';
    const io = { out: (s: string) => void (out += s), err: (s: string) => void (out += s) };
    assert.equal(
      await audit(['export', '--server', A.url, '--token', token, '--ca', caFile, '--out', file], io),
      0,
      out,
    );
    const trust = keys.auditKey.verifyKey.base64();
    assert.equal(await audit(['verify', file, '--trust-key', trust, '--json'], io), 0, out);
    const records = readFileSync(file, 'utf8').split('\n').filter(Boolean);
    assert.ok(
      records.some((l) => l.includes(`grant:${grant.id}`) && /expire/.test(l)),
      'the expiry (by B) is in the chain',
    );
  },
);
