// Faults (issue 4): the coordinator restarted (agents reconnect; live streams keep flowing
// meanwhile), the relay restarted in the middle of a transfer (it completes), the connector
// restarted (same key, same names; the engineer's first request afterwards succeeds, although its
// stream link still belonged to the old process).
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { Harness, waitFor, type AgentHandle } from '../../src/testing/harness.ts';
import { needs } from '../../src/testing/require.ts';
import { missingBinary } from '../../src/testing/netns.ts';
import { pump, startServices, curlHash, type Services } from './services.ts';

const MIB = Number(process.env.SALLYPORT_FAULT_MIB ?? 48);
const NAME = 'web.acme-prod.us-east-1.aws.byoc.test';

let h: Harness;
let svc: Services;
let conn: AgentHandle;
let eng: AgentHandle;
const services = () => [
  { name: 'web', kind: 'http' as const, address: `127.0.0.1:${svc.httpPort}`, tls: 'passthrough' as const },
  { name: 'echo', kind: 'tcp' as const, address: `127.0.0.1:${svc.echoPort}`, tls: 'passthrough' as const },
];

before(async () => {
  svc = await startServices(MIB * 1024 * 1024);
  h = await Harness.start();
  await h.deployment('acme-prod');
  await h.user('alice');
  conn = await h.connector({ deployment: 'acme-prod', services: services() });
  eng = await h.engineer({ user: 'alice', socks5: true });
  await h.grant({ type: 'user', name: 'alice' }, 'acme-prod', ['web', 'echo']);
  await waitFor(
    () => (eng.agent.netmap?.peers.length ?? 0) === 1 && (conn.agent.netmap?.peers.length ?? 0) === 1,
    15_000,
    'peers',
  );
});

after(async () => {
  await h?.stop();
  await svc?.close();
});

test('coordinator restarted: a live stream keeps flowing meanwhile, and the agents reconnect', async () => {
  const echo = eng.agent.netmap!.services.find((s) => s.name === 'echo')!;
  const s = eng.agent.openStream(echo)!;
  const p = pump(s);
  await waitFor(() => p.received() >= 8 * 1024, 10_000, 'echo flowing');
  const [c0, e0] = [conn.agent.control.connects, eng.agent.control.connects];
  await h.stopCoordinator();
  await waitFor(
    () => eng.agent.control.state !== 'connected' && conn.agent.control.state !== 'connected',
    5_000,
    'agents notice',
  );
  const during = p.received();
  await new Promise((r) => setTimeout(r, 1500));
  assert.ok(
    p.received() > during + 16 * 1024,
    `stream flowed while the coordinator was down (${p.received() - during} bytes)`,
  );
  await h.startCoordinator();
  await waitFor(
    () => conn.agent.control.connects > c0 && eng.agent.control.connects > e0,
    20_000,
    'both agents reconnected',
  );
  assert.equal(conn.agent.control.state, 'connected');
  const after = p.received();
  await waitFor(() => p.received() > after + 8 * 1024, 5_000, 'still flowing after the restart');
  const sent = p.stop();
  await waitFor(() => p.received() >= sent.length, 5_000, 'all echoed');
  assert.equal(Buffer.compare(p.got(), sent), 0, 'byte-exact echo across the restart');
  s.end();
});

test('relay restarted in the middle of a transfer: the transfer completes', async (t) => {
  if (!needs(t, missingBinary('curl'))) return;
  const socks = `127.0.0.1:${eng.agent.socksAddress!.port}`;
  const transfer = curlHash(['--socks5-hostname', socks, `http://${NAME}/big`]);
  // Restart once a few MiB went through the connector's relay client.
  const relayRx = () => eng.agent.relays.status()[0]?.stats.bytesReceived ?? 0;
  const start = relayRx();
  await waitFor(() => relayRx() - start > 4 * 1024 * 1024, 20_000, 'transfer under way');
  await h.stopRelay();
  await new Promise((r) => setTimeout(r, 300));
  await h.startRelay();
  const r = await transfer;
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.bytes, svc.bigBytes);
  assert.equal(r.sha256, svc.bigSha256);
  const st = eng.agent.relays.status()[0].stats;
  assert.ok(st.admissions >= 2, `the relay client was admitted again (${st.admissions})`);
});

test('connector restarted: same key and names, and the first request afterwards succeeds', async (t) => {
  if (!needs(t, missingBinary('curl'))) return;
  const socks = `127.0.0.1:${eng.agent.socksAddress!.port}`;
  const get = () => curlHash(['--max-time', '15', '--socks5-hostname', socks, `http://${NAME}/`]);
  // A request before the restart, so the engineer holds a stream link to the old process.
  const r0 = await get();
  assert.equal(r0.code, 0, r0.stderr);
  const key = conn.agent.publicKey.base64();
  const names = conn.agent.netmap!.services.map((s) => s.tailnetName).sort();
  const stateDir = conn.stateDir;
  await h.stopAgent(conn);
  conn = await h.connector({ deployment: 'acme-prod', services: services(), stateDir });
  assert.equal(conn.agent.publicKey.base64(), key, 'same node key from the state directory');
  assert.equal(conn.agent.keyCreated, false);
  assert.deepEqual(conn.agent.netmap!.services.map((s) => s.tailnetName).sort(), names);
  await waitFor(
    () => (conn.agent.netmap?.peers.length ?? 0) === 1,
    10_000,
    'engineer back in the connector netmap',
  );
  // The engineer's link still belongs to the old process: the stream goes out on it, the new
  // process answers RESET, and the link must carry the stream over to a new link, not fail it.
  const t0 = Date.now();
  const r = await get();
  assert.equal(r.code, 0, `the first request after the restart failed: ${r.stderr}`);
  assert.equal(r.bytes, r0.bytes);
  assert.equal(r.sha256, r0.sha256);
  t.diagnostic(`first request after the restart: ${Date.now() - t0} ms`);
});
