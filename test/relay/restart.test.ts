// Faults: the relay restarts in the middle of a transfer. Two stream-layer Connections talk through
// two RelayClients; the relay is stopped and started again on the same port and key while a
// stream is half sent. The clients reconnect (fresh tokens), the stream layer retransmits what was
// lost, and the bytes arrive whole.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { realClock } from '../../src/clock/index.ts';
import { PrivateKey } from '../../src/crypto/index.ts';
import { Connection } from '../../src/stream/index.ts';
import type { RelayClient } from '../../src/paths/index.ts';
import { relayClient, startRelay, until } from './fixture.ts';

test(
  'relay restarted mid-transfer: the clients reconnect and the stream completes',
  { timeout: 60_000 },
  async () => {
    const relayKey = PrivateKey.generate();
    let relay = await startRelay({ privateKey: relayKey });
    const port = relay.port;
    const aKey = PrivateKey.generate();
    const bKey = PrivateKey.generate();
    // eslint-disable-next-line prefer-const
    let a: RelayClient, b: RelayClient;
    const hash = createHash('sha256');
    let received = 0;
    let ended!: () => void;
    const done = new Promise<void>((r) => (ended = r));

    const server = new Connection({
      clock: realClock,
      isClient: false,
      maxDatagramSize: 1400,
      sendDatagram: (d) => void b.send(aKey.publicKey, d),
      onIncomingStream(req) {
        assert.equal(req.service, 'blob');
        const s = req.accept();
        s.on('error', () => {});
        s.on('data', (chunk: Buffer) => {
          hash.update(chunk);
          received += chunk.length;
        });
        s.on('end', () => ended());
      },
    });
    const client = new Connection({
      clock: realClock,
      isClient: true,
      maxDatagramSize: 1400,
      sendDatagram: (d) => void a.send(bKey.publicKey, d),
    });
    a = relayClient(relay, { key: aKey, onPacket: (_s, p) => client.receiveDatagram(new Uint8Array(p)) });
    b = relayClient(relay, { key: bKey, onPacket: (_s, p) => server.receiveDatagram(new Uint8Array(p)) });
    try {
      a.start();
      b.start();
      await Promise.all([a.whenConnected(), b.whenConnected()]);

      const data = randomBytes(6 << 20);
      const stream = client.openStream('blob');
      stream.on('error', () => {});
      stream.end(data);

      await until(() => received > 1 << 20, 20_000, 'a first MiB');
      assert.ok(received < data.length, 'the transfer is still under way');
      await relay.server.stop();
      await until(() => a.state !== 'connected' && b.state !== 'connected', 5000, 'clients to notice');
      const atRestart = received;
      relay = await startRelay({ privateKey: relayKey, listen: { host: '127.0.0.1', port } });
      await Promise.all([a.whenConnected(), b.whenConnected()]);
      await done;
      assert.ok(atRestart < data.length);
      assert.equal(received, data.length);
      assert.equal(hash.digest('hex'), createHash('sha256').update(data).digest('hex'));
      assert.ok(a.stats().admissions >= 2 && b.stats().admissions >= 2, 'both clients were admitted again');
    } finally {
      client.close();
      server.close();
      await Promise.all([a.stop(), b.stop()]);
      await relay.server.stop();
    }
  },
);
