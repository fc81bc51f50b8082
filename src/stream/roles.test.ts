// Who speaks first: the server side of a connection sends nothing until it has heard from the
// client, so the WireGuard sessions below never start crossing handshakes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../clock/index.ts';
import { Connection } from './index.ts';

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

test('a server connection stays silent until the client speaks, then answers', async () => {
  const clock = new FakeClock();
  const fromServer: Uint8Array[] = [];
  const fromClient: Uint8Array[] = [];
  const server = new Connection({
    clock,
    isClient: false,
    sendDatagram: (d) => fromServer.push(new Uint8Array(d)),
    maxDatagramSize: 1200,
    streamWindow: 4 << 20, // larger than the default: a MAX_* announcement is due
  });
  const stream = server.openStream('wants-to-talk-first');
  for (let i = 0; i < 50; i++) {
    await tick();
    clock.advance(100);
  }
  assert.equal(fromServer.length, 0, 'server sent before hearing from the client');

  const client = new Connection({
    clock,
    isClient: true,
    sendDatagram: (d) => fromClient.push(new Uint8Array(d)),
    maxDatagramSize: 1200,
  });
  await tick();
  assert.ok(fromClient.length > 0, 'the client announces itself at construction');
  for (const d of fromClient.splice(0)) server.receiveDatagram(d);
  await tick();
  clock.advance(30);
  await tick();
  assert.ok(fromServer.length > 0, 'server answers once it has heard the client');
  stream.destroy();
  server.close();
  client.close();
});
