// I2 shown on the wire: a recording TLS front between the agents and the relay decrypts the TLS
// layer and keeps every byte the relay itself receives and sends (its whole view). A megabyte of
// a marker text goes through a relayed stream both ways; neither the marker, nor the service's
// tailnet name, nor the user's name appears in what the relay saw — while the relay did carry at
// least that many bytes, and the node keys (which the relay routes by) are there, so the tap
// really saw the relay's traffic.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { connect as tlsConnect, createServer, type TLSSocket } from 'node:tls';
import { Harness, waitFor, type AgentHandle } from '../../src/testing/harness.ts';
import { startServices, type Services } from './services.ts';

const MARKER = Buffer.from('SALLYPORT-PLAINTEXT-MARKER-0123456789-');
const MAX_TAP = 64 * 1024 * 1024;
const seen: Buffer[] = [];
let seenBytes = 0;
const record = (b: Buffer) => {
  if (seenBytes + b.length > MAX_TAP) return;
  seen.push(Buffer.from(b));
  seenBytes += b.length;
};

let h: Harness;
let svc: Services;
let eng: AgentHandle;
let conn: AgentHandle;
const sockets = new Set<TLSSocket>();
let tap: ReturnType<typeof createServer> | undefined;

before(async () => {
  svc = await startServices(1024);
  h = await Harness.start({
    relayFront: async (relayPort, cert) => {
      tap = createServer({ cert: cert.certPem, key: cert.keyPem }, (client) => {
        const up = tlsConnect({ host: '127.0.0.1', port: relayPort, rejectUnauthorized: false });
        for (const s of [client, up]) {
          sockets.add(s);
          s.on('error', () => {
            client.destroy();
            up.destroy();
          });
        }
        client.on('data', (b: Buffer) => {
          record(b);
          up.write(b);
        });
        up.on('data', (b: Buffer) => {
          record(b);
          client.write(b);
        });
        client.on('close', () => up.destroy());
        up.on('close', () => client.destroy());
      });
      await new Promise<void>((r) => tap!.listen(0, '127.0.0.1', r));
      return (tap!.address() as { port: number }).port;
    },
  });
  await h.deployment('acme-prod');
  await h.user('alice');
  conn = await h.connector({
    deployment: 'acme-prod',
    services: [{ name: 'echo', kind: 'tcp', address: `127.0.0.1:${svc.echoPort}`, tls: 'passthrough' }],
  });
  eng = await h.engineer({ user: 'alice' });
  await h.grant({ type: 'user', name: 'alice' }, 'acme-prod', ['echo']);
  await waitFor(() => (eng.agent.netmap?.peers.length ?? 0) === 1, 15_000, 'the connector in the netmap');
});

after(async () => {
  await h?.stop();
  for (const s of sockets) s.destroy();
  tap?.close();
  await svc?.close();
});

test('what the relay receives and sends holds no plaintext of the streams it carries', async () => {
  const echo = eng.agent.netmap!.services.find((s) => s.name === 'echo')!;
  const payload = Buffer.concat(Array.from({ length: Math.ceil((1 << 20) / MARKER.length) }, () => MARKER));
  const s = eng.agent.openStream(echo)!;
  const back: Buffer[] = [];
  let got = 0;
  const done = new Promise<void>((resolve, reject) => {
    s.on('data', (b: Buffer) => {
      back.push(b);
      got += b.length;
      if (got >= payload.length) resolve();
    });
    s.on('error', reject);
  });
  s.write(payload);
  await done;
  s.destroy();
  assert.ok(Buffer.concat(back).equals(payload), 'the echo came back intact');
  const view = Buffer.concat(seen);
  assert.ok(view.length >= 2 * payload.length, `the relay carried both directions (${view.length} bytes)`);
  assert.ok(
    view.includes(Buffer.from(conn.agent.publicKey.bytes)),
    'the tap saw the relay frames (the destination node key the relay routes by)',
  );
  // The tap reads the relay's plaintext (the HTTP upgrade is there): a plaintext payload would show.
  assert.ok(/upgrade: sallyport-relay/i.test(view.toString('latin1')), 'the tap sees inside TLS');
  assert.equal(view.indexOf(MARKER), -1, 'the marker never appears in the relay’s view');
  assert.equal(view.indexOf(Buffer.from(echo.tailnetName)), -1, 'nor the tailnet name');
  assert.equal(view.indexOf(Buffer.from('alice')), -1, "nor the engineer's user name");
});
