// Relays in two regions (issue 15): each agent picks its home relay by measured latency and keeps
// it while the other is about as close (hysteresis); an engineer homed on one region reaches a
// connector homed on the other through relays only (no UDP: direct paths blocked), byte-exact;
// when the connector's home relay dies it moves home to the other region, announces it, and the
// stream recovers. Distance is made with a delaying TCP proxy (src/testing/delay-proxy.ts) that
// each agent uses for the region that should be far from it (`relayAddresses`, the agent's
// --relay-address).
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { Harness, REGION, waitFor, type AgentHandle } from '../../src/testing/harness.ts';
import { startDelayProxy, type DelayProxy } from '../../src/testing/delay-proxy.ts';
import { needs } from '../../src/testing/require.ts';
import { missingBinary } from '../../src/testing/netns.ts';
import { pump, startServices, curlHash, type Services } from './services.ts';

const FAR = 'far-2';
const DELAY_MS = 25;
const NAME = `web.acme-prod.us-east-1.aws.byoc.test`;

let h: Harness;
let svc: Services;
let conn: AgentHandle;
let eng: AgentHandle;
const proxies: DelayProxy[] = [];

before(async () => {
  svc = await startServices(8 * 1024 * 1024);
  h = await Harness.start({ extraRegions: [FAR] });
  const toFirst = await startDelayProxy(h.relayPort, DELAY_MS);
  const toFar = await startDelayProxy(h.extraRelays.get(FAR)!.port, DELAY_MS);
  proxies.push(toFirst, toFar);
  await h.deployment('acme-prod');
  await h.user('alice');
  // The connector is far from the first region, the engineer far from the second.
  conn = await h.connector({
    deployment: 'acme-prod',
    services: [
      { name: 'web', kind: 'http', address: `127.0.0.1:${svc.httpPort}`, tls: 'passthrough' },
      { name: 'echo', kind: 'tcp', address: `127.0.0.1:${svc.echoPort}`, tls: 'passthrough' },
    ],
    extra: { relayProbeMs: 300, relayAddresses: { [REGION]: `https://127.0.0.1:${toFirst.port}` } },
  });
  eng = await h.engineer({
    user: 'alice',
    socks5: true,
    extra: { relayProbeMs: 300, relayAddresses: { [FAR]: `https://127.0.0.1:${toFar.port}` } },
  });
  await h.grant({ type: 'user', name: 'alice' }, 'acme-prod', ['web', 'echo']);
});

after(async () => {
  await h?.stop();
  for (const p of proxies) await p.close();
  await svc?.close();
});

test('each agent homes on its near relay, by measured latency, and does not flap', async () => {
  await waitFor(
    () => conn.agent.homeRelay === FAR && eng.agent.homeRelay === REGION,
    10_000,
    `homes: connector ${conn.agent.homeRelay}, engineer ${eng.agent.homeRelay}`,
  );
  // Both relays measured: the far one through the proxy (≥ 2 × DELAY_MS), the near one directly.
  await waitFor(
    () => [conn, eng].every((a) => a.agent.relays.status().every((r) => r.stats.rttMs !== undefined)),
    5000,
    'every relay measured',
  );
  for (const a of [conn, eng]) {
    const s = a.agent.status();
    const home = s.relays.find((r) => r.home)!;
    const other = s.relays.find((r) => !r.home)!;
    assert.ok(other.rttMs! >= 2 * DELAY_MS, `${a.name}: far relay ${other.rttMs} ms`);
    assert.ok(home.rttMs! < other.rttMs!, `${a.name}: home ${home.rttMs} ms, other ${other.rttMs} ms`);
  }
  // Each peer's netmap names the other's home relay.
  await waitFor(
    () =>
      eng.agent.netmap?.peers.find((p) => p.key === conn.agent.publicKey.base64())?.homeRelay === FAR &&
      conn.agent.netmap?.peers.find((p) => p.key === eng.agent.publicKey.base64())?.homeRelay === REGION,
    5000,
    "the netmaps carry each peer's home relay",
  );
  // Ten more probes each: the homes hold.
  const changes = [conn.agent.homeChanges, eng.agent.homeChanges];
  await new Promise((r) => setTimeout(r, 3000));
  assert.deepEqual(
    [conn.agent.homeChanges, eng.agent.homeChanges],
    changes,
    'no home change while nothing changed',
  );
  assert.equal(conn.agent.homeRelay, FAR);
  assert.equal(eng.agent.homeRelay, REGION);
});

test('peers on different home relays: 8 MiB byte-exact over relays only', async (t) => {
  if (!needs(t, missingBinary('curl'))) return;
  assert.equal(eng.agent.status().udp, null, 'no UDP socket: direct paths are blocked');
  const socks = `127.0.0.1:${eng.agent.socksAddress!.port}`;
  const r = await curlHash(['--max-time', '60', '--socks5-hostname', socks, `http://${NAME}/big`]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.bytes, svc.bigBytes);
  assert.equal(r.sha256, svc.bigSha256);
});

test("the connector's home relay dies: it moves home, the engineer follows, the stream recovers", async (t) => {
  const echo = eng.agent.netmap!.services.find((s) => s.name === 'echo')!;
  const s = eng.agent.openStream(echo)!;
  const p = pump(s);
  await waitFor(() => p.received() > 16 * 1024, 10_000, 'echo flows');
  const changes = conn.agent.homeChanges;
  const killedAt = Date.now();
  await h.stopRelayIn(FAR);
  await waitFor(() => conn.agent.homeRelay === REGION, 5000, 'the connector moves home');
  t.diagnostic(`connector's new home after ${Date.now() - killedAt} ms`);
  assert.equal(conn.agent.homeChanges, changes + 1);
  await waitFor(
    () => eng.agent.netmap?.peers.find((x) => x.key === conn.agent.publicKey.base64())?.homeRelay === REGION,
    5000,
    "the engineer's netmap has the connector's new home",
  );
  const before = p.received();
  await waitFor(() => p.received() > before + 32 * 1024, 15_000, 'the stream flows again');
  t.diagnostic(`stream flowing again ${Date.now() - killedAt} ms after the relay died`);
  const sent = p.stop();
  await waitFor(() => p.received() >= sent.length, 15_000, 'everything echoed');
  assert.equal(Buffer.compare(p.got(), sent), 0, 'byte-exact echo across the home move');
  s.end();
});
