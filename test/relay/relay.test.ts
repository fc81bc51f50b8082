// The relay server and client over real TLS on loopback: forwarding, admission, bad input,
// bounded queues, the HTTP endpoints and the STUN responder.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { get } from 'node:https';
import { connect as tlsConnect } from 'node:tls';
import { connect as netConnect } from 'node:net';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { PrivateKey, SigningKey } from '../../src/crypto/index.ts';
import { createServer as createHttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import {
  encodeFrame,
  FrameDecoder,
  PEER_GONE_DISCONNECTED,
  PEER_GONE_NOT_HERE,
  PROTOCOL_VERSION,
} from '../../src/proto/relay/index.ts';
import { SWITCHING_PROTOCOLS } from '../../src/relay/http.ts';
import { bindingRequest, decode, mappedAddressOf, newTransactionId } from '../../src/proto/stun/index.ts';
import type { PublicKey } from '../../src/crypto/index.ts';
import {
  admittedRaw,
  cert,
  RawClient,
  relayClient,
  RELAY_METRICS_TOKEN,
  startRelay,
  token,
  until,
  type TestRelay,
} from './fixture.ts';

function httpsGet(
  relay: TestRelay,
  path: string,
  authorization = `Bearer ${RELAY_METRICS_TOKEN}`,
): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const headers = authorization ? { authorization } : {};
    get({ host: '127.0.0.1', port: relay.port, path, ca: relay.ca, agent: false, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () =>
        resolve({ status: res.statusCode!, type: String(res.headers['content-type']), body }),
      );
    }).on('error', reject);
  });
}

function metric(text: string, name: string, labels = ''): number {
  const line = text
    .split('\n')
    .find((l) => l.startsWith(`${name}${labels} `) || (labels === '' && l.startsWith(`${name} `)));
  return line ? Number(line.split(' ').pop()) : 0;
}

describe('forwarding', () => {
  let relay: TestRelay;
  before(async () => {
    relay = await startRelay();
  });
  after(() => relay?.server.stop());

  test('two clients exchange packets both ways, byte-exact', async () => {
    const gotA: [PublicKey, Uint8Array][] = [];
    const gotB: [PublicKey, Uint8Array][] = [];
    const a = relayClient(relay, { onPacket: (s, p) => gotA.push([s, new Uint8Array(p)]) });
    const b = relayClient(relay, { onPacket: (s, p) => gotB.push([s, new Uint8Array(p)]) });
    a.start();
    b.start();
    await Promise.all([a.whenConnected(), b.whenConnected()]);
    const sizes = [0, 1, 1200, 65536];
    for (const n of sizes) {
      const p = new Uint8Array(n).map((_, i) => (i * 7 + n) & 0xff);
      assert.ok(a.send(b.publicKey, p));
      assert.ok(b.send(a.publicKey, p));
    }
    await until(() => gotA.length === sizes.length && gotB.length === sizes.length, 5000, 'packets');
    for (const [got, from] of [
      [gotA, b],
      [gotB, a],
    ] as const) {
      got.forEach(([src, p], i) => {
        assert.ok(src.equals(from.publicKey));
        assert.equal(p.length, sizes[i]);
        assert.ok(p.every((x, j) => x === ((j * 7 + sizes[i]) & 0xff)));
      });
    }
    assert.equal(relay.server.stats.framesForwarded, 8);
    assert.equal(relay.server.stats.bytesForwarded, 2 * (1 + 1200 + 65536));
    assert.equal(a.stats().packetsReceived, 4);
    await Promise.all([a.stop(), b.stop()]);
  });

  test('PEER_GONE: NOT_HERE for an unknown key, DISCONNECTED to a recent sender when the peer leaves', async () => {
    const gone: [string, number][] = [];
    const a = relayClient(relay, { onPeerGone: (k, r) => gone.push([k.base64(), r]) });
    const b = relayClient(relay);
    a.start();
    b.start();
    await Promise.all([a.whenConnected(), b.whenConnected()]);
    const nobody = PrivateKey.generate().publicKey;
    a.send(nobody, Uint8Array.of(1));
    a.send(nobody, Uint8Array.of(2)); // a second notice within 1 s is suppressed
    await until(() => gone.length >= 1, 5000, 'NOT_HERE');
    assert.deepEqual(gone[0], [nobody.base64(), PEER_GONE_NOT_HERE]);
    const before = relay.server.stats.drops.get('no_peer') ?? 0;
    assert.ok(before >= 2);
    a.send(b.publicKey, Uint8Array.of(3));
    await until(() => b.stats().packetsReceived === 1, 5000, 'packet to b');
    await b.stop();
    await until(() => gone.length >= 2, 5000, 'DISCONNECTED');
    assert.deepEqual(gone[1], [b.publicKey.base64(), PEER_GONE_DISCONNECTED]);
    assert.equal(gone.length, 2);
    await a.stop();
  });

  test('a node that connects again replaces its old connection; packets go to the new one', async () => {
    const key = PrivateKey.generate();
    const old = await admittedRaw(relay, key);
    const newer = await admittedRaw(relay, key);
    const health = await old.next('health');
    assert.match(health.message, /replaced/);
    await old.waitClosed();
    const sender = await admittedRaw(relay);
    sender.write(encodeFrame({ type: 'send-packet', dst: key.publicKey.bytes, packet: Uint8Array.of(42) }));
    const r = await newer.next('recv-packet');
    assert.deepEqual([...r.packet], [42]);
    assert.equal(relay.server.stats.disconnects.get('replaced'), 1);
    newer.close();
    sender.close();
  });
});

describe('admission', () => {
  let relay: TestRelay;
  before(async () => {
    relay = await startRelay();
  });
  after(() => relay?.server.stop());

  const untrusted = SigningKey.generate();
  const cases: [
    string,
    (k: PrivateKey) => { tok: Uint8Array; proof?: Uint8Array; version?: number },
    string,
  ][] = [
    ['no token', () => ({ tok: new Uint8Array(0) }), 'no_token'],
    [
      'expired token',
      (k) => ({ tok: token(k.publicKey, { issuedAtMs: Date.now() - 7_200_000, lifeMs: 3_600_000 }) }),
      'token_expired',
    ],
    ['token for another key', () => ({ tok: token(PrivateKey.generate().publicKey) }), 'token_wrong_node'],
    [
      'bad signature',
      (k) => {
        const t = token(k.publicKey);
        t[t.length - 1] ^= 0x40;
        return { tok: t };
      },
      'token_bad_signature',
    ],
    [
      'signed by an untrusted coordinator',
      (k) => ({ tok: token(k.publicKey, { key: untrusted }) }),
      'token_unknown_key',
    ],
    [
      'token for another region',
      (k) => ({ tok: token(k.publicKey, { region: 'elsewhere' }) }),
      'token_wrong_region',
    ],
    ['garbage token', () => ({ tok: new Uint8Array(100).fill(3) }), 'token_malformed'],
    ['wrong proof', (k) => ({ tok: token(k.publicKey), proof: new Uint8Array(32).fill(9) }), 'bad_proof'],
    ['another protocol version', (k) => ({ tok: token(k.publicKey), version: 3 }), 'bad_version'],
  ];

  for (const [name, make, reason] of cases) {
    test(`refused: ${name} (${reason})`, async () => {
      const before = relay.server.stats.refusals.get(reason as never) ?? 0;
      const key = PrivateKey.generate();
      const c = await RawClient.open(relay);
      const { tok, proof, version } = make(key);
      c.clientInfo(key, tok, { proof, version });
      const h = await c.next('health');
      assert.ok(h.message.length > 0);
      await c.waitClosed();
      assert.equal(
        c.frames.some((f) => f.type === 'server-info'),
        false,
      );
      assert.equal(relay.server.stats.refusals.get(reason as never), before + 1);
      assert.equal(relay.server.clients, 0);
    });
  }

  test('a proof made for another connection (replayed challenge) is refused', async () => {
    const key = PrivateKey.generate();
    const tok = token(key.publicKey);
    const first = await RawClient.open(relay);
    const second = await RawClient.open(relay);
    const { clientProof } = await import('../../src/proto/relay/index.ts');
    const { PublicKey } = await import('../../src/crypto/index.ts');
    const stolen = clientProof(key, PublicKey.fromBytes(first.serverKey), first.challenge, tok)!;
    second.clientInfo(key, tok, { proof: stolen });
    await second.next('health');
    first.clientInfo(key, tok, { proof: stolen });
    await first.next('server-info');
    first.close();
  });

  test('a client pinned to another relay key does not send CLIENT_INFO, and whenConnected() rejects on stop()', async () => {
    const before = relay.server.stats.admitted;
    const c = relayClient(relay, { serverKey: PrivateKey.generate().publicKey });
    c.start();
    const waiting = c.whenConnected();
    await until(() => c.stats().connectAttempts >= 2, 5000, 'a retry');
    assert.match(c.stats().lastError ?? '', /not the expected one/);
    assert.equal(relay.server.stats.admitted, before);
    await c.stop();
    await assert.rejects(waiting, (e) => (e as { code?: string }).code === 'RELAY_CLIENT_STOPPED');
    assert.equal(c.send(PrivateKey.generate().publicKey, Uint8Array.of(1)), false);
    assert.equal(c.stats().drops.stopped, 1);
  });

  test('refusals are on /metrics by reason, and RelayClient backs off after one', async () => {
    const key = PrivateKey.generate();
    let calls = 0;
    const states: string[] = [];
    const c = relayClient(relay, {
      key,
      getToken: async () => {
        calls++;
        // The first token has expired; the next connect asks for a fresh one.
        return calls === 1
          ? token(key.publicKey, { issuedAtMs: Date.now() - 7_200_000 })
          : token(key.publicKey);
      },
      onStateChange: (s) => states.push(s),
    });
    c.start();
    await c.whenConnected();
    assert.equal(calls, 2);
    assert.equal(c.stats().refusals, 1);
    assert.deepEqual(states, ['connecting', 'backoff', 'connecting', 'connected']);
    const m = await httpsGet(relay, '/metrics');
    assert.ok(metric(m.body, 'sallyport_relay_refusals_total', '{reason="token_expired"}') >= 2);
    assert.ok(metric(m.body, 'sallyport_relay_refusals_total', '{reason="no_token"}') >= 1);
    await c.stop();
  });
});

describe('bad input', () => {
  let relay: TestRelay;
  before(async () => {
    relay = await startRelay();
  });
  after(() => relay?.server.stop());

  test('a malformed frame disconnects and counts that client; the others keep exchanging', async () => {
    const got: number[] = [];
    const a = relayClient(relay);
    const b = relayClient(relay, { onPacket: (_s, p) => got.push(p[0]) });
    a.start();
    b.start();
    await Promise.all([a.whenConnected(), b.whenConnected()]);
    const bad = await admittedRaw(relay);
    a.send(b.publicKey, Uint8Array.of(1));
    await until(() => got.length === 1);
    // An unknown frame type, then a SEND_PACKET whose length is below its minimum.
    bad.write(Uint8Array.of(0x7f, 0, 0, 0, 1, 0));
    const h = await bad.next('health');
    assert.match(h.message, /RELAY_UNKNOWN_FRAME/);
    await bad.waitClosed();
    assert.equal(relay.server.stats.disconnects.get('malformed'), 1);
    const bad2 = await admittedRaw(relay);
    bad2.write(Uint8Array.of(0x04, 0, 0, 0, 3, 1, 2, 3));
    await bad2.waitClosed();
    assert.equal(relay.server.stats.disconnects.get('malformed'), 2);
    a.send(b.publicKey, Uint8Array.of(2));
    await until(() => got.length === 2);
    assert.deepEqual(got, [1, 2]);
    assert.equal(a.state, 'connected');
    assert.equal(b.state, 'connected');
    assert.equal(relay.server.clients, 2);
    await Promise.all([a.stop(), b.stop()]);
  });

  test('a frame that breaks the protocol (RECV_PACKET from a client) disconnects it', async () => {
    const c = await admittedRaw(relay);
    c.write(encodeFrame({ type: 'recv-packet', src: new Uint8Array(32), packet: Uint8Array.of(1) }));
    await c.waitClosed();
    assert.equal(relay.server.stats.disconnects.get('protocol'), 1);
  });

  test('malformed bytes before admission are refused and counted', async () => {
    const c = await RawClient.open(relay);
    c.write(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff));
    await c.waitClosed();
    assert.equal(relay.server.stats.refusals.get('malformed'), 1);
    const d = await RawClient.open(relay);
    d.write(encodeFrame({ type: 'ping', data: new Uint8Array(8) }));
    await d.waitClosed();
    assert.equal(relay.server.stats.refusals.get('protocol'), 1);
  });

  test('a wrong Upgrade gets 400; clients that reset mid-way do not hurt the relay', async () => {
    for (const upgrade of ['websocket', 'sallyport-relay']) {
      // TLS over a TCP socket we hold, so the test can reset the TCP connection (RST).
      const tcp = netConnect(relay.port, '127.0.0.1');
      await once(tcp, 'connect');
      tcp.on('error', () => {});
      const s = tlsConnect({ socket: tcp, ca: relay.ca, host: '127.0.0.1' });
      await once(s, 'secureConnect');
      s.on('error', () => {});
      s.write(`GET /relay HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: ${upgrade}\r\n\r\n`);
      const [d] = (await once(s, 'data')) as [Buffer];
      assert.match(d.toString('latin1'), upgrade === 'websocket' ? /^HTTP\/1.1 400/ : /^HTTP\/1.1 101/);
      tcp.resetAndDestroy();
    }
    const ok = await httpsGet(relay, '/health');
    assert.equal(ok.status, 200);
    await until(
      () => relay.server.admitting === 0 && relay.server.clients === 0,
      5000,
      'the reset connections to go',
    );
  });

  test('a plain HTTP request to /relay gets 426, an unknown path 404', async () => {
    assert.equal((await httpsGet(relay, '/relay')).status, 426);
    assert.equal((await httpsGet(relay, '/nothing')).status, 404);
  });
});

describe('bounded queues', () => {
  test('a receiver that does not read: the oldest packets are dropped and counted, the newest arrive', async () => {
    const relay = await startRelay({ queue: { maxPackets: 16, maxBytes: 1 << 20 } });
    try {
      const rxKey = PrivateKey.generate();
      const rx = await admittedRaw(relay, rxKey);
      rx.socket.pause();
      const tx = await admittedRaw(relay);
      const N = 600;
      const size = 32 * 1024;
      for (let i = 0; i < N; i++) {
        const p = new Uint8Array(size).fill(i & 0xff);
        new DataView(p.buffer).setUint32(0, i);
        tx.write(encodeFrame({ type: 'send-packet', dst: rxKey.publicKey.bytes, packet: p }));
      }
      await until(() => relay.server.stats.framesForwarded === N, 10_000, 'all packets to reach the relay');
      await until(() => (relay.server.stats.drops.get('queue_full') ?? 0) > 0, 5000, 'drops');
      rx.socket.resume();
      const seqs = () =>
        rx.frames
          .filter((f) => f.type === 'recv-packet')
          .map((f) => new DataView(f.packet.buffer).getUint32(0));
      await until(() => seqs().at(-1) === N - 1, 10_000, 'the newest packet');
      const got = seqs();
      const dropped = relay.server.stats.drops.get('queue_full') ?? 0;
      assert.equal(got.length + dropped, N, 'every packet delivered or counted as dropped');
      assert.ok(
        got.every((s, i) => i === 0 || s > got[i - 1]),
        'in order',
      );
      // Queued bodies are views of the relay's receive buffers: none may have been overwritten.
      for (const f of rx.frames) {
        if (f.type !== 'recv-packet') continue;
        const seq = new DataView(f.packet.buffer, f.packet.byteOffset).getUint32(0);
        assert.equal(f.packet.length, size);
        assert.ok(
          f.packet.subarray(4).every((x) => x === (seq & 0xff)),
          `packet ${seq} intact`,
        );
      }
      // The tail (what sat in the queue) is the newest 16, contiguous.
      assert.deepEqual(
        got.slice(-16),
        Array.from({ length: 16 }, (_, i) => N - 16 + i),
      );
      rx.close();
      tx.close();
      await until(() => relay.server.queuedBytes === 0, 5000, 'the byte budget to be given back');
    } finally {
      await relay.server.stop();
    }
  });

  test('the relay-wide byte ceiling drops new packets (relay_full) once all queues together hold it', async () => {
    const relay = await startRelay({
      queue: { maxPackets: 10_000, maxBytes: 8 << 20, maxTotalBytes: 256 * 1024 },
    });
    try {
      const rxKey = PrivateKey.generate();
      const rx = await admittedRaw(relay, rxKey);
      rx.socket.pause();
      const tx = await admittedRaw(relay);
      const N = 600;
      let peak = 0;
      const watch = setInterval(() => (peak = Math.max(peak, relay.server.queuedBytes)), 1);
      for (let i = 0; i < N; i++)
        tx.write(
          encodeFrame({ type: 'send-packet', dst: rxKey.publicKey.bytes, packet: new Uint8Array(32 * 1024) }),
        );
      await until(
        () => relay.server.stats.framesForwarded + (relay.server.stats.drops.get('relay_full') ?? 0) === N,
        10_000,
        'every packet forwarded or dropped',
      );
      clearInterval(watch);
      assert.ok((relay.server.stats.drops.get('relay_full') ?? 0) > 0);
      assert.equal(relay.server.stats.drops.get('queue_full') ?? 0, 0);
      assert.ok(relay.server.queuedBytes <= 256 * 1024 && peak <= 256 * 1024, `peak ${peak}`);
      rx.close();
      tx.close();
      await until(() => relay.server.queuedBytes === 0, 5000, 'the byte budget to be given back');
    } finally {
      await relay.server.stop();
    }
  });

  test('connections past maxClients are refused (capacity)', async () => {
    const relay = await startRelay({ maxClients: 1 });
    try {
      const a = await admittedRaw(relay);
      await assert.rejects(RawClient.open(relay), /503|closed/);
      assert.equal(relay.server.stats.refusals.get('capacity'), 1);
      a.close();
    } finally {
      await relay.server.stop();
    }
  });

  test('RelayClient.send() returns false when its own queue is full, and counts it', async () => {
    const relay = await startRelay();
    const c = relayClient(relay, { queue: { maxPackets: 4 } });
    try {
      const dst = PrivateKey.generate().publicKey;
      // Not started: packets wait in the queue.
      const results = Array.from({ length: 6 }, () => c.send(dst, new Uint8Array(10)));
      assert.deepEqual(results, [true, true, true, true, false, false]);
      assert.equal(c.stats().drops.queue_full, 2);
      assert.equal(c.send(dst, new Uint8Array(65537)), false);
      assert.equal(c.stats().drops.too_large, 1);
    } finally {
      await c.stop();
      await relay.server.stop();
    }
  });
});

describe('backpressure', () => {
  test('PEER_BUSY: a receiver that does not read makes the relay tell the sender to hold back, and tell it again when the queue drained', async () => {
    const relay = await startRelay({ queue: { maxPackets: 64, maxBytes: 1 << 20 } });
    let drained = 0;
    const tx = relayClient(relay, { onDrain: () => drained++ });
    try {
      const rxKey = PrivateKey.generate();
      const rx = await admittedRaw(relay, rxKey);
      rx.socket.pause();
      tx.start();
      await tx.whenConnected();
      const dst = rxKey.publicKey;
      // As a sender with congestion control would: send while the relay does not say busy.
      let sent = 0;
      while (!tx.peerBusy(dst) && sent < 2000) {
        if (!tx.backlogged) {
          tx.send(dst, new Uint8Array(16 * 1024));
          sent++;
        }
        await new Promise((r) => setImmediate(r));
      }
      assert.equal(tx.peerBusy(dst), true, `busy after ${sent} packets`);
      assert.ok(relay.server.stats.busyNotices >= 1);
      assert.equal(tx.stats().peerBusy, 1);
      rx.socket.resume();
      await until(() => !tx.peerBusy(dst), 10_000, 'the relay to say the queue drained');
      assert.ok(drained >= 1, 'onDrain told the sender');
      assert.equal(relay.server.stats.drops.get('queue_full') ?? 0, 0, 'nothing dropped');
      await until(
        () => rx.frames.filter((f) => f.type === 'recv-packet').length === sent,
        10_000,
        'all delivered',
      );
      rx.close();
    } finally {
      await tx.stop();
      await relay.server.stop();
    }
  });

  test('against a relay that speaks only version 1, the client is refused once, then speaks version 1', async () => {
    // A relay of the release before PEER_BUSY: refuses any CLIENT_INFO version but 1, as admission did.
    const { certPem, keyPem } = await cert();
    const versions: number[] = [];
    const old = createHttpsServer({ cert: certPem, key: keyPem });
    old.on('upgrade', (_req, socket: Socket) => {
      socket.write(SWITCHING_PROTOCOLS);
      socket.write(
        encodeFrame({
          type: 'server-key',
          version: PROTOCOL_VERSION,
          serverKey: PrivateKey.generate().publicKey.bytes,
          challenge: new Uint8Array(32),
        }),
      );
      const dec = new FrameDecoder();
      socket.on('error', () => {});
      socket.on('data', (chunk: Buffer) =>
        dec.push(chunk, (f) => {
          if (f.type !== 'client-info') return;
          versions.push(f.version);
          if (f.version === 1)
            socket.write(encodeFrame({ type: 'server-info', keepAliveMs: 60_000, maxPacketLen: 65536 }));
          else {
            socket.write(
              encodeFrame({ type: 'health', message: `protocol version ${f.version} is not supported` }),
            );
            socket.end();
          }
        }),
      );
    });
    await new Promise<void>((r) => old.listen(0, '127.0.0.1', r));
    const c = relayClient({
      url: `https://127.0.0.1:${(old.address() as { port: number }).port}/relay`,
      ca: certPem,
    });
    try {
      c.start();
      await c.whenConnected({ signal: AbortSignal.timeout(10_000) });
      assert.deepEqual(versions, [2, 1]);
    } finally {
      await c.stop();
      old.closeAllConnections();
      old.close();
    }
  });

  test('a client that speaks the base protocol (version 1) is never sent PEER_BUSY', async () => {
    const relay = await startRelay({ queue: { maxPackets: 16, maxBytes: 1 << 20 } });
    try {
      const rxKey = PrivateKey.generate();
      const rx = await admittedRaw(relay, rxKey);
      rx.socket.pause();
      const tx = await admittedRaw(relay);
      for (let i = 0; i < 64; i++)
        tx.write(
          encodeFrame({ type: 'send-packet', dst: rxKey.publicKey.bytes, packet: new Uint8Array(1024) }),
        );
      await until(() => relay.server.stats.framesForwarded === 64, 10_000, 'packets to reach the relay');
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(relay.server.stats.busyNotices, 0);
      assert.ok(!tx.frames.some((f) => f.type === 'peer-busy'));
      rx.close();
      tx.close();
    } finally {
      await relay.server.stop();
    }
  });

  test('RelayClient says when it is backlogged (half its queue), and onDrain once it has written most of it', async () => {
    const relay = await startRelay();
    let drained = 0;
    const c = relayClient(relay, { queue: { maxPackets: 8 }, onDrain: () => drained++ });
    try {
      const dst = PrivateKey.generate().publicKey;
      // Not started: packets wait in the queue.
      for (let i = 0; i < 3; i++) assert.ok(c.send(dst, new Uint8Array(10)));
      assert.equal(c.backlogged, false, '3 of 8');
      assert.ok(c.send(dst, new Uint8Array(10)));
      assert.equal(c.backlogged, true, '4 of 8: hold back');
      assert.equal(drained, 0);
      c.start();
      await c.whenConnected();
      await until(() => drained === 1, 5000, 'onDrain after the queue went out');
      assert.equal(c.backlogged, false);
      assert.equal(c.stats().drops.queue_full, 0);
    } finally {
      await c.stop();
      await relay.server.stop();
    }
  });
});

describe('endpoints', () => {
  test('/health and /metrics answer; STUN answers a binding request with our address', async () => {
    const relay = await startRelay({ stunPort: 0 });
    try {
      const h = await httpsGet(relay, '/health');
      assert.equal(h.status, 200);
      assert.match(h.type, /application\/json/);
      const j = JSON.parse(h.body) as { ok: boolean; region: string; serverKey: string; clients: number };
      assert.equal(j.ok, true);
      assert.equal(j.serverKey, relay.key.publicKey.base64());
      assert.equal(j.clients, 0);
      const c = await admittedRaw(relay);
      assert.equal((JSON.parse((await httpsGet(relay, '/health')).body) as { clients: number }).clients, 1);

      const sock = createSocket('udp4');
      await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
      const tx = newTransactionId();
      sock.send(bindingRequest(tx), relay.stunPort!, '127.0.0.1');
      sock.send(Uint8Array.of(1, 2, 3), relay.stunPort!, '127.0.0.1'); // not STUN: dropped
      const [msg] = (await once(sock, 'message')) as [Buffer];
      const m = decode(new Uint8Array(msg));
      assert.deepEqual(mappedAddressOf(m), {
        family: 'IPv4',
        address: '127.0.0.1',
        port: sock.address().port,
      });
      assert.deepEqual([...m.transactionId], [...tx]);
      await until(() => relay.server.stats.stunRequests === 2);
      sock.close();

      assert.equal((await httpsGet(relay, '/metrics', '')).status, 401, 'no token: refused');
      assert.equal((await httpsGet(relay, '/metrics', 'Bearer nope')).status, 401, 'wrong token: refused');
      const m2 = await httpsGet(relay, '/metrics');
      assert.equal(m2.status, 200);
      assert.match(m2.type, /text\/plain/);
      assert.equal(metric(m2.body, 'sallyport_relay_clients'), 1);
      assert.equal(metric(m2.body, 'sallyport_relay_stun_requests_total'), 2);
      assert.equal(metric(m2.body, 'sallyport_relay_stun_responses_total'), 1);
      assert.equal(metric(m2.body, 'sallyport_relay_admissions_total'), 1);
      // Every known reason is a series from the start (0 until it happens).
      assert.match(m2.body, /^sallyport_relay_drops_total\{reason="relay_full"\} 0$/m);
      assert.match(m2.body, /^sallyport_relay_refusals_total\{reason="bad_proof"\} 0$/m);
      c.close();
    } finally {
      await relay.server.stop();
    }
  });
});
