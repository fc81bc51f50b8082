// Real clock, real sockets: a TCP client's bytes go through two Connections joined in memory and
// come back from a TCP echo server, each hop glued with `pipeline(socket, stream, socket)`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { pipeline } from 'node:stream';
import { realClock } from '../clock/index.ts';
import { memoryPair } from './memory-pair.ts';

test(
  'pipeline(socket, stream, socket) carries a TCP echo through two connections',
  { timeout: 30_000 },
  async () => {
    // The far end: a TCP echo server the "connector" side dials for each accepted stream.
    const errors: Error[] = [];
    const echo = net.createServer((sock) => sock.pipe(sock));
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
    const echoPort = (echo.address() as AddressInfo).port;

    const pair = memoryPair(realClock, {
      maxDatagramSize: 1400,
      server: {
        onIncomingStream(req) {
          assert.equal(req.service, 'echo');
          const stream = req.accept();
          const sock = net.connect({ port: echoPort, host: '127.0.0.1', allowHalfOpen: true });
          pipeline(sock, stream, sock, (e) => e && errors.push(e));
        },
      },
    });

    // The near end: a local TCP listener whose connections become streams (half-open, as a proxy must be).
    const entry = net.createServer({ allowHalfOpen: true }, (sock) => {
      const stream = pair.client.openStream('echo');
      pipeline(sock, stream, sock, (e) => e && errors.push(e));
    });
    await new Promise<void>((r) => entry.listen(0, '127.0.0.1', r));
    const entryPort = (entry.address() as AddressInfo).port;

    try {
      const data = randomBytes(8 << 20);
      const client = net.connect(entryPort, '127.0.0.1');
      const h = createHash('sha256');
      let got = 0;
      const ended = new Promise<void>((resolve, reject) => {
        client.on('data', (b: Buffer) => {
          h.update(b);
          got += b.length;
        });
        client.on('end', resolve);
        client.on('error', reject);
      });
      client.end(data);
      await ended;
      assert.deepEqual(errors, []);
      assert.equal(got, data.length);
      assert.equal(h.digest('hex'), createHash('sha256').update(data).digest('hex'));
      // both connections drop their stream state once both directions are closed
      for (let i = 0; i < 200 && (pair.client.stats().streams || pair.server.stats().streams); i++)
        await new Promise((r) => setTimeout(r, 10));
      assert.equal(pair.client.stats().streams, 0);
      assert.equal(pair.server.stats().streams, 0);
    } finally {
      pair.client.close();
      pair.server.close();
      pair.stop();
      entry.close();
      echo.close();
    }
  },
);
