// Admission (I3, I4, I5) end to end in one process: an engineer node without a grant cannot
// complete a handshake with the connector (the connector counts and logs it); a peer in the netmap
// asking for a service its grant does not cover is refused by the router; revoking the grant
// removes the peer from the connector's netmap and cuts its live stream.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { Harness, waitFor, type AgentHandle } from '../../src/testing/harness.ts';
import { AgentMetrics, ctlRequest, socketPath } from '../../src/agent/index.ts';
import { relayEndpoint } from '../../src/session/index.ts';
import { REGION } from '../../src/testing/harness.ts';
import { startServices, type Services } from './services.ts';

let h: Harness;
let svc: Services;
let conn: AgentHandle;

before(async () => {
  svc = await startServices(1024);
  h = await Harness.start();
  await h.deployment('acme-prod');
  await h.user('alice');
  await h.user('mallory');
  conn = await h.connector({
    deployment: 'acme-prod',
    services: [
      { name: 'web', kind: 'http', address: `127.0.0.1:${svc.httpPort}`, tls: 'passthrough' },
      { name: 'echo', kind: 'tcp', address: `127.0.0.1:${svc.echoPort}`, tls: 'passthrough' },
    ],
  });
});

after(async () => {
  await h?.stop();
  await svc?.close();
});

test('an engineer without a grant cannot complete a handshake with the connector; counted and logged', async () => {
  const mal = await h.engineer({ user: 'mallory' });
  assert.equal(mal.agent.netmap!.peers.length, 0, 'no grant: the connector is not in her netmap');
  assert.equal(conn.agent.netmap!.peers.length, 0, 'and she is not in the connector netmap');
  // She knows the connector's key anyway and tries a handshake through the relay.
  const ck = conn.agent.publicKey;
  const peer = mal.agent.host.addPeer(ck, { endpoint: relayEndpoint(REGION, ck) });
  peer.send(new Uint8Array(64));
  await waitFor(() => (conn.agent.refused['handshake-not-in-netmap'] ?? 0) >= 1, 10_000, 'refusal counted');
  peer.initiateHandshake();
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(peer.stats.lastHandshakeWallMs, undefined, 'no handshake completed');
  assert.ok(peer.stats.handshakeAttempts >= 1);
  assert.ok(
    (await AgentMetrics.value(conn.agent.metrics.handshakesRefused, { reason: 'handshake-not-in-netmap' })) >=
      1,
  );
  const logged = conn.logs.find('refused session message from a key not in the netmap');
  assert.ok(
    logged.some((l) => l.from === mal.agent.publicKey.fingerprint()),
    JSON.stringify(logged),
  );
  // The counter is visible to the operator too ('sallyport status --metrics').
  const m = await ctlRequest(socketPath(conn.stateDir), { cmd: 'metrics' });
  m.socket.destroy();
  assert.match(
    String((m.reply as unknown as { text: string }).text),
    /sallyport_agent_handshakes_refused_total\{reason="handshake-not-in-netmap"\} [1-9]/,
  );
  // The key never reached the session layer's peers, and nothing of hers was decrypted.
  assert.equal(conn.agent.host.peer(mal.agent.publicKey), undefined);
  await h.stopAgent(mal);
});

test('the router refuses a service the grant does not cover, and revoking the grant cuts the live stream', async () => {
  const eng = await h.engineer({ user: 'alice' });
  const grant = await h.grant({ type: 'user', name: 'alice' }, 'acme-prod', ['echo']);
  await waitFor(
    () => (eng.agent.netmap?.peers.length ?? 0) === 1,
    10_000,
    'connector in the engineer netmap',
  );
  await waitFor(
    () => (conn.agent.netmap?.peers.length ?? 0) === 1,
    10_000,
    'engineer in the connector netmap',
  );
  const echo = eng.agent.netmap!.services.find((s) => s.name === 'echo')!;
  assert.equal(
    eng.agent.netmap!.services.some((s) => s.name === 'web'),
    false,
    'web is not visible without a grant',
  );

  // Ask for 'web' by hand: the connector's router refuses it (no grant covers it).
  const refused = eng.agent.openStream({ ...echo, name: 'web' })!;
  const err = await new Promise<Error>((r) => refused.on('error', r));
  assert.match(err.message, /refused|no-grant/i);
  assert.ok((await AgentMetrics.value(conn.agent.metrics.streamsRefused, { reason: 'no-grant' })) >= 1);

  // A covered stream works ...
  const s = eng.agent.openStream(echo)!;
  const first = await new Promise<Buffer>((r) => {
    s.once('data', r);
    s.write('ping');
  });
  assert.equal(first.toString(), 'ping');
  // ... until the grant is revoked: the stream is cut and the peer leaves the connector's netmap.
  const closed = new Promise<void>((r) => s.on('close', () => r()));
  s.on('error', () => {});
  await h.revokeGrant(grant);
  await closed;
  await waitFor(
    () => (conn.agent.netmap?.peers.length ?? 1) === 0,
    10_000,
    'engineer removed from the connector netmap',
  );
  assert.equal(conn.agent.host.peer(eng.agent.publicKey), undefined);
});

test('a grant that ends cuts the live stream at its end (I5), and the peer leaves the netmap', async () => {
  await h.user('bob');
  const eng = await h.engineer({ user: 'bob' });
  await h.grantFor({ type: 'user', name: 'bob' }, 'acme-prod', ['echo'], 3000);
  await waitFor(
    () => (eng.agent.netmap?.peers.length ?? 0) === 1,
    10_000,
    'connector in the engineer netmap',
  );
  await waitFor(
    () => conn.agent.netmap?.peers.some((p) => p.key === eng.agent.publicKey.base64()) ?? false,
    10_000,
    'engineer in the connector netmap',
  );
  const echo = eng.agent.netmap!.services.find((s) => s.name === 'echo')!;
  const s = eng.agent.openStream(echo)!;
  s.on('error', () => {});
  const first = await new Promise<Buffer>((r) => {
    s.once('data', r);
    s.write('ping');
  });
  assert.equal(first.toString(), 'ping');
  const t0 = Date.now();
  await new Promise<void>((r) => s.on('close', () => r()));
  const cutAfter = Date.now() - t0;
  assert.ok(cutAfter < 6000, `cut within the grant window (${cutAfter} ms)`);
  assert.ok(
    (await AgentMetrics.value(conn.agent.metrics.streamsCut)) >= 1 || conn.agent.netmap!.peers.length === 0,
  );
  await waitFor(
    () => !(conn.agent.netmap?.peers.some((p) => p.key === eng.agent.publicKey.base64()) ?? true),
    10_000,
    'engineer removed from the connector netmap at grant end',
  );
});
