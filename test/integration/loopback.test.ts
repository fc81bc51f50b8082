// Loopback end to end (issue 4, "It must show"): coordinator, relay, a connector in front of a
// local HTTP service and a TCP echo service, and an engineer agent, all in this process.
// curl --socks5-hostname to the tailnet name and a `connect` local forward both return
// byte-exact data (a 100 MiB download compared by SHA-256; SALLYPORT_E2E_MIB changes the size).
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Harness, waitFor, type AgentHandle } from '../../src/testing/harness.ts';
import { needs } from '../../src/testing/require.ts';
import { missingBinary } from '../../src/testing/netns.ts';
import { ctlRequest, socketPath } from '../../src/agent/index.ts';
import * as connect from '../../src/cli/connect.ts';
import * as statusCli from '../../src/cli/status.ts';
import { startServices, curlHash, echoThrough, type Services } from './services.ts';
import { routes } from '../../src/control/index.ts';

const MIB = Number(process.env.SALLYPORT_E2E_MIB ?? 100);
const NAME = 'web.acme-prod.us-east-1.aws.byoc.test';

let h: Harness;
let svc: Services;
let conn: AgentHandle;
let eng: AgentHandle;
let rootPem: string;
let grantId: string;

before(async () => {
  svc = await startServices(MIB * 1024 * 1024);
  h = await Harness.start();
  await h.deployment('acme-prod');
  await h.user('alice');
  conn = await h.connector({
    deployment: 'acme-prod',
    services: [
      { name: 'web', kind: 'http', address: `127.0.0.1:${svc.httpPort}`, tls: 'passthrough' },
      { name: 'echo', kind: 'tcp', address: `127.0.0.1:${svc.echoPort}`, tls: 'passthrough' },
      { name: 'secure', kind: 'http', address: `127.0.0.1:${svc.httpPort}`, tls: 'terminate' },
    ],
  });
  rootPem = await h.serviceCertRoot(conn.agent, ['secure']);
  eng = await h.engineer({ user: 'alice', socks5: true });
  grantId = await h.grant({ type: 'user', name: 'alice' }, 'acme-prod', ['web', 'echo', 'secure']);
  await waitFor(
    () => (eng.agent.netmap?.services.length ?? 0) === 3 && (eng.agent.netmap?.peers.length ?? 0) === 1,
    15_000,
    'engineer netmap with the connector and both services',
  );
  await waitFor(
    () => (conn.agent.netmap?.peers.length ?? 0) === 1,
    15_000,
    'connector netmap with the engineer',
  );
});

after(async () => {
  await h?.stop();
  await svc?.close();
});

test('curl --socks5-hostname reaches the HTTP service by its tailnet name', async (t) => {
  if (!needs(t, missingBinary('curl'))) return;
  const socks = `${eng.agent.socksAddress!.host}:${eng.agent.socksAddress!.port}`;
  const small = await curlHash(['--socks5-hostname', socks, `http://${NAME}/`]);
  assert.equal(small.code, 0, small.stderr);
  const t0 = performance.now();
  const r = await curlHash(['--socks5-hostname', socks, `http://${NAME}/big`]);
  const secs = (performance.now() - t0) / 1000;
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.bytes, svc.bigBytes);
  assert.equal(r.sha256, svc.bigSha256);
  t.diagnostic(`socks5: ${MIB} MiB in ${secs.toFixed(1)} s (${((MIB * 8) / secs).toFixed(0)} Mbit/s)`);
});

test('the router terminates mTLS with a service-CA certificate for the tailnet name', async (t) => {
  if (!needs(t, missingBinary('curl'))) return;
  const socks = `${eng.agent.socksAddress!.host}:${eng.agent.socksAddress!.port}`;
  const dir = mkdtempSync(join(tmpdir(), 'sp-ca-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'root.pem'), rootPem);
  const c = await eng.agent.grantCertificate(grantId);
  writeFileSync(join(dir, 'cert.pem'), c.chainPem);
  writeFileSync(join(dir, 'key.pem'), c.keyPem, { mode: 0o600 });
  const name = 'secure.acme-prod.us-east-1.aws.byoc.test';
  const mtls = ['--cert', join(dir, 'cert.pem'), '--key', join(dir, 'key.pem')];
  const r = await curlHash([
    ...mtls,
    '--cacert',
    join(dir, 'root.pem'),
    '--socks5-hostname',
    socks,
    `https://${name}/big`,
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.sha256, svc.bigSha256);
  // Without trusting the service CA the certificate is refused: it really is the one served.
  const untrusted = await curlHash([...mtls, '--socks5-hostname', socks, `https://${name}/`]);
  assert.notEqual(untrusted.code, 0);
  // Without a client certificate the router refuses (I4).
  const noCert = await curlHash([
    '--cacert',
    join(dir, 'root.pem'),
    '--socks5-hostname',
    socks,
    `https://${name}/`,
  ]);
  assert.notEqual(noCert.code, 0);
});

test('the SOCKS5 proxy refuses names outside the tailnet and IP literals', async (t) => {
  if (!needs(t, missingBinary('curl'))) return;
  const socks = `${eng.agent.socksAddress!.host}:${eng.agent.socksAddress!.port}`;
  const other = await curlHash(['--socks5-hostname', socks, 'http://example.com/']);
  assert.notEqual(other.code, 0);
  const ip = await curlHash(['--socks5', socks, `http://127.0.0.1:${svc.httpPort}/`]);
  assert.notEqual(ip.code, 0);
});

test('sallyport connect (a local forward through the control socket) returns byte-exact data', async (t) => {
  if (!needs(t, missingBinary('curl'))) return;
  const stop = new AbortController();
  let ready!: (local: string) => void;
  const isReady = new Promise<string>((r) => (ready = r));
  const exited = connect.run(['acme-prod/web', '--local', '127.0.0.1:0', '--state', eng.stateDir], {
    signal: stop.signal,
    onReady: ready,
  });
  const local = await Promise.race([
    isReady,
    exited.then((c) => Promise.reject(new Error(`connect exited ${c}`))),
  ]);
  const t0 = performance.now();
  const r = await curlHash([`http://${local}/big`]);
  const secs = (performance.now() - t0) / 1000;
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.sha256, svc.bigSha256);
  t.diagnostic(`forward: ${MIB} MiB in ${secs.toFixed(1)} s (${((MIB * 8) / secs).toFixed(0)} Mbit/s)`);
  stop.abort();
  assert.equal(await exited, 0);

  const e = await ctlRequest(socketPath(eng.stateDir), {
    cmd: 'forward',
    service: 'acme-prod/echo',
    local: '127.0.0.1:0',
  });
  t.after(() => e.socket.destroy());
  const data = randomBytes(4 * 1024 * 1024);
  const back = await echoThrough(Number((e.reply as unknown as { local: string }).local.split(':')[1]), data);
  assert.equal(Buffer.compare(back, data), 0);
});

test('status tells the truth: the peer, its relay path, a handshake, RTT and bytes', async () => {
  const { reply, socket } = await ctlRequest(socketPath(eng.stateDir), { cmd: 'status' });
  socket.destroy();
  assert.equal(reply.ok, true);
  const st = (reply as unknown as { status: import('../../src/agent/index.ts').AgentStatus }).status;
  assert.equal(st.peers.length, 1);
  const p = st.peers[0];
  assert.equal(p.key, conn.agent.publicKey.base64());
  assert.deepEqual(p.path, { kind: 'relay', region: 'local-1' });
  assert.ok(p.lastHandshake && Date.parse(p.lastHandshake) > Date.now() - 600_000);
  assert.ok(p.rttMs !== null && p.rttMs >= 0);
  assert.ok(p.rxBytes > svc.bigBytes, `rx ${p.rxBytes}`);
  assert.equal(st.coordinator.state, 'connected');
  assert.equal(st.relays[0].state, 'connected');
  const text = statusCli.formatStatus(st);
  assert.match(text, /acme-prod-connector\s+\S+\s+relay local-1/);
  // the stream layer's losses to the peer: in the JSON always, in the text when there are some
  assert.equal(typeof p.lost.packets, 'number');
  assert.equal(typeof p.lost.retransmittedBytes, 'number');
  const lossy = { ...st, peers: [{ ...p, lost: { packets: 3, retransmittedBytes: 4096 } }] };
  assert.match(statusCli.formatStatus(lossy), /\n {2}lost: 3 packets, \S+ \S* ?sent again/);
  if (p.lost.packets === 0) assert.doesNotMatch(text, /lost:/);
});

test('every passthrough service is logged, counted and marked unfiltered in status (fail closed)', async () => {
  const { reply, socket } = await ctlRequest(socketPath(conn.stateDir), { cmd: 'status' });
  socket.destroy();
  const st = (reply as unknown as { status: import('../../src/agent/index.ts').AgentStatus }).status;
  assert.deepEqual(
    st.served.map((v) => [v.name, v.tls, v.unfiltered]),
    [
      ['web', 'passthrough', true],
      ['echo', 'passthrough', true],
      ['secure', 'terminate', false],
    ],
  );
  const text = statusCli.formatStatus(st);
  assert.match(text, /service\s+web http \S+ tls=passthrough\s+UNFILTERED/);
  assert.match(text, /service\s+secure http \S+ tls=terminate\n/);
  const m = await ctlRequest(socketPath(conn.stateDir), { cmd: 'metrics' });
  m.socket.destroy();
  assert.match(String((m.reply as { text?: string }).text), /^sallyport_agent_passthrough_services 2$/m);
  const warned = conn.logs.find(/^passthrough service/).map((l) => l.service);
  assert.deepEqual(warned.sort(), ['echo', 'web']);
});

test("the coordinator knows each online node's path and RTT to its peers (nodes API, console)", async () => {
  interface NodeView {
    publicKey: string;
    peerPaths: { at: number; peers: { key: string; path: string; rttMs?: number }[] } | null;
  }
  const engKey = eng.agent.publicKey.base64();
  const connKey = conn.agent.publicKey.base64();
  let mine: NodeView | undefined;
  await waitFor(
    async () => {
      const nodes = await h.api.route(routes.nodesList);
      mine = nodes.find((n) => n.publicKey === engKey);
      return !!mine?.peerPaths?.peers.some((p) => p.key === connKey && p.rttMs !== undefined);
    },
    15_000,
    'the engineer reports its path to the connector',
  );
  const p = mine!.peerPaths!.peers.find((x) => x.key === connKey)!;
  const local = eng.agent.status().peers.find((x) => x.key === connKey)!;
  assert.equal(p.path, local.path.kind);
  assert.ok(p.rttMs! >= 0 && p.rttMs! < 5000);
});
