// Timing and lifecycle: the sweep timer on a FakeClock (admission timeout, keepalives, idle and
// expired-token clients), the client's liveness and backoff, and stop() leaving nothing behind.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock, realClock } from '../../src/clock/index.ts';
import { PrivateKey } from '../../src/crypto/index.ts';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { encodeFrame, FrameDecoder } from '../../src/proto/relay/index.ts';
import { backoffDelay, RelayClient } from '../../src/paths/index.ts';
import { RelayServer, RelayServerError } from '../../src/relay/index.ts';
import { cert, coordinator, RawClient, REGION, relayClient, startRelay, token, until } from './fixture.ts';

describe('the sweep timer (FakeClock)', () => {
  test('admission timeout, keepalive, idle timeout and token expiry', async () => {
    const clock = new FakeClock({ wallMs: Date.now() });
    const relay = await startRelay({
      clock,
      keepAliveMs: 1000,
      idleTimeoutMs: 5000,
      admitTimeoutMs: 2000,
      sweepMs: 100,
    });
    try {
      // Never sends CLIENT_INFO: refused for timeout.
      const slow = await RawClient.open(relay);
      clock.advance(2100);
      assert.match((await slow.next('health')).message, /timed out/);
      await slow.waitClosed();
      assert.equal(relay.server.stats.refusals.get('timeout'), 1);

      // Admitted and quiet: a KEEPALIVE after keepAliveMs, then closed as idle after idleTimeoutMs.
      const key = PrivateKey.generate();
      const quiet = await RawClient.open(relay);
      quiet.clientInfo(key, token(key.publicKey, { clock }));
      await quiet.next('server-info');
      assert.equal(
        quiet.frames.some((f) => f.type === 'keepalive'),
        false,
      );
      clock.advance(1000);
      await quiet.next('keepalive');
      // A ping keeps it alive past the idle timeout and is answered.
      clock.advance(3000);
      quiet.write(encodeFrame({ type: 'ping', data: new Uint8Array(8).fill(5) }));
      const pong = await quiet.next('pong');
      assert.deepEqual([...pong.data], new Array(8).fill(5));
      clock.advance(3000);
      assert.equal(quiet.closed, false);
      clock.advance(2100);
      assert.match((await quiet.next('health')).message, /idle/);
      await quiet.waitClosed();
      assert.equal(relay.server.stats.disconnects.get('idle'), 1);

      // A token that expires while connected: the relay closes the connection.
      const k2 = PrivateKey.generate();
      const short = await RawClient.open(relay);
      short.clientInfo(k2, token(k2.publicKey, { clock, lifeMs: 60_000 }));
      await short.next('server-info');
      for (let i = 0; i < 100 && !short.closed; i++) {
        clock.advance(1000);
        short.write(encodeFrame({ type: 'ping', data: new Uint8Array(8) }));
        await new Promise((r) => setImmediate(r));
      }
      await short.waitClosed();
      assert.equal(relay.server.stats.disconnects.get('token_expired'), 1);
    } finally {
      await relay.server.stop();
    }
    assert.equal(clock.pending(), 0, 'stop() cleared the sweep timer');
  });
});

describe('RelayClient timing', () => {
  test('backoffDelay: equal jitter, doubling, capped', () => {
    assert.equal(
      backoffDelay(1, 100, 10_000, () => 0),
      50,
    );
    assert.equal(
      backoffDelay(1, 100, 10_000, () => 0.5),
      75,
    );
    assert.equal(
      backoffDelay(4, 100, 10_000, () => 0),
      400,
    );
    assert.equal(
      backoffDelay(30, 100, 10_000, () => 1),
      10_000,
    );
    assert.equal(
      backoffDelay(2000, 100, 10_000, () => 0.5),
      7500,
    );
  });

  test('reconnects with growing waits on the injected clock while the relay is down', async () => {
    const clock = new FakeClock({ wallMs: Date.now() });
    // A port with nothing listening: take one from a relay and stop it.
    const tmp = await startRelay();
    await tmp.server.stop();
    const c = relayClient(tmp, { clock, backoff: { initialMs: 1000, maxMs: 8000 }, random: () => 1 });
    const states: string[] = [];
    const c2 = new RelayClient({
      clock,
      url: tmp.url,
      ca: tmp.ca,
      privateKey: PrivateKey.generate(),
      getToken: async () => new Uint8Array(0),
      onPacket: () => {},
      backoff: { initialMs: 1000, maxMs: 8000 },
      random: () => 1,
      onStateChange: (s) => states.push(s),
    });
    try {
      c2.start();
      const waits: number[] = [];
      for (let i = 0; i < 5; i++) {
        await until(() => c2.state === 'backoff', 5000, 'backoff');
        const at = clock.now();
        const next = clock.nextAt()!;
        waits.push(next - at);
        clock.advance(next - at);
        assert.equal(c2.state, 'connecting');
      }
      assert.deepEqual(waits, [1000, 2000, 4000, 8000, 8000]);
      assert.equal(c2.stats().connectAttempts, 6);
    } finally {
      await c.stop();
      await c2.stop();
    }
    assert.equal(clock.pending(), 0, 'stop() cleared the client timer');
  });

  test('the client pings an idle relay, and gives up on one that goes silent after 2.5 keepalive intervals', async () => {
    const clock = new FakeClock({ wallMs: Date.now() });
    // A fake relay: upgrade, SERVER_KEY, SERVER_INFO after CLIENT_INFO, and then silence.
    const c0 = await cert();
    const pings: number[] = [];
    const fake = createHttpsServer({ cert: c0.certPem, key: c0.keyPem });
    const sockets: Socket[] = [];
    fake.on('upgrade', (_req, socket: Socket) => {
      sockets.push(socket);
      socket.write(
        'HTTP/1.1 101 Switching Protocols\r\nUpgrade: sallyport-relay\r\nConnection: Upgrade\r\n\r\n',
      );
      const sk = PrivateKey.generate();
      socket.write(
        encodeFrame({
          type: 'server-key',
          version: 1,
          serverKey: sk.publicKey.bytes,
          challenge: new Uint8Array(32),
        }),
      );
      const d = new FrameDecoder();
      socket.on('data', (b: Buffer) =>
        d.push(new Uint8Array(b), (f) => {
          if (f.type === 'client-info')
            socket.write(encodeFrame({ type: 'server-info', keepAliveMs: 1000, maxPacketLen: 65536 }));
          if (f.type === 'ping') pings.push(clock.now());
        }),
      );
      socket.on('error', () => {});
    });
    await new Promise<void>((r) => fake.listen(0, '127.0.0.1', r));
    const url = `https://127.0.0.1:${(fake.address() as AddressInfo).port}`;
    const c = relayClient(
      { url, ca: c0.certPem },
      { clock, backoff: { initialMs: 100_000, maxMs: 100_000 } },
    );
    try {
      c.start();
      await c.whenConnected();
      for (let i = 0; i < 4; i++) {
        clock.advance(500);
        await new Promise((r) => setImmediate(r));
      }
      assert.equal(c.state, 'connected');
      await until(() => pings.length >= 1, 2000, 'a PING from the idle client');
      clock.advance(500); // t = 2500: exactly 2.5 intervals, not yet over
      assert.equal(c.state, 'connected');
      clock.advance(500);
      assert.equal(c.state, 'backoff');
      assert.match(c.stats().lastError ?? '', /silent/);
    } finally {
      await c.stop();
      for (const s of sockets) s.destroy();
      await new Promise((r) => fake.close(r));
    }
  });
});

describe('start and stop', () => {
  const resources = () => {
    const m = new Map<string, number>();
    for (const r of process.getActiveResourcesInfo()) m.set(r, (m.get(r) ?? 0) + 1);
    return m;
  };

  test('stop() leaves no socket, server or timer behind (relay and clients)', async () => {
    await cert(); // made before the baseline
    await new Promise((r) => setTimeout(r, 100)); // earlier tests' sockets finish closing
    const before = resources();
    const relay = await startRelay({ stunPort: 0 });
    const got: number[] = [];
    const a = relayClient(relay);
    const b = relayClient(relay, { onPacket: (_s, p) => got.push(p.length) });
    a.start();
    b.start();
    await Promise.all([a.whenConnected(), b.whenConnected()]);
    a.send(b.publicKey, new Uint8Array(100));
    await until(() => got.length === 1);
    const raw = await RawClient.open(relay); // one still admitting
    assert.ok((resources().get('TCPSocketWrap') ?? 0) > (before.get('TCPSocketWrap') ?? 0));
    await Promise.all([a.stop(), b.stop(), relay.server.stop()]);
    await raw.waitClosed();
    await new Promise((r) => setImmediate(r));
    const afterStop = resources();
    for (const kind of ['TCPSocketWrap', 'TCPServerWrap', 'UDPWrap', 'Timeout', 'TLSWrap']) {
      assert.equal(afterStop.get(kind) ?? 0, before.get(kind) ?? 0, `${kind} count back to the baseline`);
    }
  });

  test('start() with an aborted signal fails; aborting later stops the relay', async () => {
    const c = await cert();
    const mk = () =>
      new RelayServer({
        clock: realClock,
        privateKey: PrivateKey.generate(),
        trusted: [coordinator.verifyKey],
        region: REGION,
        listen: { host: '127.0.0.1', port: 0 },
        tls: { cert: c.certPem, key: c.keyPem },
      });
    await assert.rejects(mk().start({ signal: AbortSignal.abort() }), (e) => e instanceof RelayServerError);
    const ac = new AbortController();
    const s = mk();
    await s.start({ signal: ac.signal });
    assert.equal((s.health() as { ok: boolean }).ok, true);
    ac.abort();
    await until(() => (s.health() as { ok: boolean }).ok === false);
    await s.stop();
    await assert.rejects(s.start(), (e) => e instanceof RelayServerError && e.code === 'RELAY_STATE');
  });

  test('options are checked at construction', async () => {
    const c = await cert();
    const base = {
      clock: realClock,
      privateKey: PrivateKey.generate(),
      trusted: [coordinator.verifyKey],
      region: REGION,
      listen: { host: '127.0.0.1', port: 0 },
      tls: { cert: c.certPem, key: c.keyPem },
    };
    for (const bad of [
      { trusted: [] },
      { region: 'x'.repeat(65) },
      { queue: { maxPackets: 0 } },
      { listen: { host: 'h', port: 70000 } },
    ]) {
      assert.throws(
        () => new RelayServer({ ...base, ...bad }),
        (e) => e instanceof RelayServerError && e.code === 'RELAY_INVALID_OPTIONS',
      );
    }
  });
});
