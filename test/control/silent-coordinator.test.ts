// A coordinator that accepts the agent channel's WebSocket and then never answers the hello (stuck
// on admission): the agent gives up after welcomeTimeoutMs with a retryable error instead of
// waiting for ever, and an agent holding several coordinator URLs moves on to the next one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:https';
import { WebSocketServer } from 'ws';
import { pino } from 'pino';
import { PrivateKey } from '../../src/crypto/index.ts';
import { ControlClient, ControlError } from '../../src/control/index.ts';
import { ControlLoop } from '../../src/agent/index.ts';
import { realClock } from '../../src/clock/index.ts';
import { createSelfSigned } from '../../src/pki/index.ts';

async function silentCoordinator(name = 'silent'): Promise<{
  url: string;
  ca: string;
  hellos: () => number;
  close: () => Promise<void>;
}> {
  const cert = await createSelfSigned({ commonName: `${name}.test`, ipAddresses: ['127.0.0.1'] });
  const server: Server = createServer({ cert: cert.certPem, key: cert.keyPem });
  const wss = new WebSocketServer({ server, path: '/agent/v1' });
  let hellos = 0;
  wss.on('connection', (ws) => ws.on('message', () => hellos++));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `https://127.0.0.1:${(server.address() as { port: number }).port}`,
    ca: cert.certPem,
    hellos: () => hellos,
    close: async () => {
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((r) => wss.close(() => r()));
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

test('no answer to the hello: the connect attempt fails after welcomeTimeoutMs, retryable', async (t) => {
  const s = await silentCoordinator();
  t.after(() => s.close());
  const t0 = Date.now();
  await assert.rejects(
    ControlClient.connect({
      url: s.url,
      ca: s.ca,
      coordinatorKey: PrivateKey.generate().publicKey,
      nodeKey: PrivateKey.generate(),
      hello: { version: 1, kind: 'engineer', name: 'e' },
      welcomeTimeoutMs: 300,
    }),
    (e: unknown) =>
      e instanceof ControlError && e.code === 'CONNECT' && /no answer to the hello/.test(e.message),
  );
  const took = Date.now() - t0;
  assert.equal(s.hellos(), 1, 'the hello was sent');
  assert.ok(took >= 300 && took < 3000, `gave up after ${took} ms`);
});

test('the agent loop moves on from a silent coordinator to the next URL', async (t) => {
  // Distinct subjects: OpenSSL finds a trusted certificate by its subject name.
  const a = await silentCoordinator('silent-a');
  const b = await silentCoordinator('silent-b');
  t.after(async () => {
    await a.close();
    await b.close();
  });
  const loop = new ControlLoop({
    clock: realClock,
    urls: [a.url, b.url],
    coordinatorKey: PrivateKey.generate().publicKey,
    nodeKey: PrivateKey.generate(),
    hello: () => ({ version: 1, kind: 'engineer', name: 'e' }),
    ca: `${a.ca}\n${b.ca}`,
    logger: pino({ level: 'silent' }),
    welcomeTimeoutMs: 200,
  });
  t.after(() => loop.stop());
  loop.start();
  const deadline = Date.now() + 5000;
  while ((a.hellos() === 0 || b.hellos() === 0) && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 20));
  assert.ok(a.hellos() >= 1 && b.hellos() >= 1, `hellos: ${a.hellos()} and ${b.hellos()}`);
  assert.match(loop.lastError ?? '', /no answer to the hello/);
});
