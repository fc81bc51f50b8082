// Streams: bulk throughput and request/response over a vnet pair and over encrypted UDP on loopback, beside raw TCP.
//
// (a) vnet: two Connections over an in-memory vnet pair without loss, driven by a FakeClock as fast
//     as the CPU allows (the CPU-bound figure; the vnet's own event loop, ~3 µs per datagram, is
//     included). (b) udp: two Connections over real node:dgram sockets on 127.0.0.1, each datagram
//     carried in a WireGuard transport message by src/session (ChaCha20-Poly1305), on the real clock.
// Each is measured beside raw TCP on loopback (net.Socket, Nagle off) doing the same job in the
// same run: bulk = 1 MiB written and fully received per call; request/response = 64 B each way.
import dgram from 'node:dgram';
import net from 'node:net';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import type { Bench } from './framework.ts';
import { FakeClock, realClock } from '../src/clock/index.ts';
import type { Clock } from '../src/clock/index.ts';
import { Connection } from '../src/stream/index.ts';
import type { Stream } from '../src/stream/index.ts';
import type { Endpoint } from '../src/session/index.ts';
import { VNet } from '../src/testing/vnet/index.ts';

const BULK = 1 << 20;
const CHUNK = 64 * 1024;
const REQ = 64;
const UDP_DATAGRAM = 1200;

export async function run(b: Bench): Promise<void> {
  for (const size of [1200, 16 * 1024]) {
    await bulk(b, `stream bulk 1 MiB, vnet no loss, ${size} B datagrams (peer: raw TCP loopback)`, () =>
      vnetPair(size),
    );
  }
  await requestResponse(b, 'stream request/response 64 B, vnet no loss (peer: raw TCP loopback)', () =>
    vnetPair(1200),
  );
  const session = await loadSession(b);
  const how = session ? 'encrypted UDP loopback' : 'UDP loopback, no encryption';
  await bulk(b, `stream bulk 1 MiB, ${how}, ${UDP_DATAGRAM} B datagrams (peer: raw TCP loopback)`, () =>
    udpPair(session),
  );
  await requestResponse(b, `stream request/response 64 B, ${how} (peer: raw TCP loopback)`, () =>
    udpPair(session),
  );
}

// ---------------------------------------------------------------------------------------------
// A duplex byte pipe under test: `a` writes, `b` answers; `pump(done)` drives it until done().

interface Pipe {
  a: Stream | net.Socket;
  b: Stream | net.Socket;
  /** Resolves once `done()` holds (vnet: runs the fake clock; real sockets: waits for events). */
  until(done: () => boolean): Promise<void>;
  close(): Promise<void>;
  /** For the notes: what the sending connection saw (losses, RTT, window). */
  describe?(): string;
}

/** Waits on real I/O: re-checks `done` whenever a watched stream has had data. */
function eventWaiter(): { until(done: () => boolean): Promise<void>; kick(): void } {
  let waiting: { done: () => boolean; resolve: () => void } | undefined;
  return {
    until(done) {
      if (done()) return Promise.resolve();
      return new Promise<void>((resolve) => (waiting = { done, resolve }));
    },
    kick() {
      if (waiting && waiting.done()) {
        const w = waiting;
        waiting = undefined;
        w.resolve();
      }
    },
  };
}

async function bulk(b: Bench, name: string, make: () => Promise<Pipe>): Promise<void> {
  if (!b.wants(name)) return;
  const chunk = randomBytes(CHUNK);
  const op = async (p: Pipe, got: () => number, want: { n: number }) => {
    want.n += BULK;
    for (let i = 0; i < BULK / CHUNK; i++) p.a.write(chunk);
    await p.until(() => got() >= want.n);
  };
  const ours = await bulkSide(await make(), op);
  const peer = await bulkSide(await tcpPair(), op);
  await b.compare(name, 'MB/s', ours.call, peer.call, { per: BULK / 1e6 });
  if (ours.pipe.describe) b.note(`${name}: ${ours.pipe.describe()}`);
  for (const s of [ours, peer]) {
    if (s.got() !== s.want.n) throw new Error(`${name}: ${s.got()} bytes arrived, ${s.want.n} sent`);
    await s.pipe.close();
  }
}

async function bulkSide(
  pipe: Pipe,
  op: (p: Pipe, got: () => number, want: { n: number }) => Promise<void>,
): Promise<{ pipe: Pipe; call: () => Promise<void>; got: () => number; want: { n: number } }> {
  let n = 0;
  pipe.b.on('data', (d: Buffer) => (n += d.length));
  const got = () => n;
  const want = { n: 0 };
  const call = () => op(pipe, got, want);
  await call(); // the first transfer opens the stream (and for UDP, the session's handshake)
  return { pipe, call, got, want };
}

async function requestResponse(b: Bench, name: string, make: () => Promise<Pipe>): Promise<void> {
  if (!b.wants(name)) return;
  const req = randomBytes(REQ);
  const side = async (pipe: Pipe) => {
    let back = 0;
    pipe.b.on('data', (d: Buffer) => pipe.b.write(d)); // echo
    pipe.a.on('data', (d: Buffer) => (back += d.length));
    let want = 0;
    const call = async () => {
      want += REQ;
      pipe.a.write(req);
      await pipe.until(() => back >= want);
    };
    await call();
    return { pipe, call, check: () => back === want };
  };
  const ours = await side(await make());
  const peer = await side(await tcpPair());
  const r = await b.compare(name, 'round trips/s', ours.call, peer.call);
  if (ours.pipe.describe) b.note(`${name}: ${ours.pipe.describe()}`);
  for (const s of [ours, peer]) {
    if (!s.check()) throw new Error(`${name}: an answer went missing`);
    await s.pipe.close();
  }
  if (r)
    b.report({
      name: name.replace('request/response 64 B', 'request/response 64 B latency, lower is better'),
      value: 1e6 / r.value,
      unit: 'µs',
      baseline: 1e6 / r.baseline!,
    });
}

// ---------------------------------------------------------------------------------------------
// The pipes.

function describe(c: Connection): string {
  const s = c.stats();
  return `sent ${s.packetsSent} packets, lost ${s.packetsLost}, retransmitted ${s.bytesRetransmitted} B, PTOs ${s.ptoFired}, srtt ${s.srttMs.toFixed(3)} ms, cwnd ${s.cwnd} B`;
}

/**
 * The two Connections. The server's is built on first use: over a session, building it only when
 * the client's first datagram arrives keeps both sides from sending first at once (its window
 * announcements), which would make both WireGuard peers initiate together and stall 5 s.
 */
function connections(
  clock: Clock,
  datagramSize: number,
  sendA: (d: Uint8Array) => void,
  sendB: (d: Uint8Array) => void,
): { ca: Connection; server(): Connection; closeServer(): void; accepted: Promise<Stream>; sa: Stream } {
  let accept!: (s: Stream) => void;
  const accepted = new Promise<Stream>((r) => (accept = r));
  const ca = new Connection({ clock, isClient: true, sendDatagram: sendA, maxDatagramSize: datagramSize });
  let cb: Connection | undefined;
  const server = () =>
    (cb ??= new Connection({
      clock,
      isClient: false,
      sendDatagram: sendB,
      maxDatagramSize: datagramSize,
      onIncomingStream: (req) => accept(req.accept()),
    }));
  return { ca, server, closeServer: () => cb?.close(), accepted, sa: ca.openStream('bench') };
}

async function vnetPair(datagramSize: number): Promise<Pipe> {
  const clock = new FakeClock();
  const vnet = new VNet({ clock, seed: 1 });
  const [ea, eb] = vnet.pair({});
  const { ca, server, closeServer, accepted, sa } = connections(
    clock,
    datagramSize,
    (d) => ea.send(d),
    (d) => eb.send(d),
  );
  ea.onReceive((d) => ca.receiveDatagram(d));
  eb.onReceive((d) => server().receiveDatagram(d));
  sa.write(Buffer.alloc(0));
  let sb: Stream | undefined;
  accepted.then((s) => (sb = s));
  await vnet.runUntil(() => sb !== undefined, 10_000);
  return {
    a: sa,
    b: sb!,
    until: (done) => vnet.runUntil(done, 600_000),
    describe: () => describe(ca),
    async close() {
      quiet(sa, sb!);
      ca.close();
      closeServer();
      vnet.stop();
    },
  };
}

type SessionModule = typeof import('../src/session/index.ts');
type CryptoModule = typeof import('../src/crypto/index.ts');

async function loadSession(b: Bench): Promise<{ session: SessionModule; crypto: CryptoModule } | undefined> {
  try {
    return {
      session: await import('../src/session/index.ts'),
      crypto: await import('../src/crypto/index.ts'),
    };
  } catch (e) {
    if ((e as { code?: string }).code !== 'ERR_MODULE_NOT_FOUND') throw e;
    b.note('src/session is missing: the UDP figures carry stream datagrams without encryption');
    return undefined;
  }
}

async function udpSocket(): Promise<dgram.Socket> {
  // Default socket buffers, as a deployment has them (larger ones only add queueing on loopback).
  const s = dgram.createSocket({ type: 'udp4' });
  s.bind(0, '127.0.0.1');
  await once(s, 'listening');
  return s;
}

async function udpPair(mods: { session: SessionModule; crypto: CryptoModule } | undefined): Promise<Pipe> {
  const ua = await udpSocket();
  const ub = await udpSocket();
  const pa = ua.address().port;
  const pb = ub.address().port;
  const waiter = eventWaiter();
  const toA = (d: Uint8Array) => ub.send(d, pa, '127.0.0.1');
  const toB = (d: Uint8Array) => ua.send(d, pb, '127.0.0.1');
  let sendA: (d: Uint8Array) => void = toB;
  let sendB: (d: Uint8Array) => void = toA;
  let deliverA: (d: Uint8Array) => void = () => undefined;
  let deliverB: (d: Uint8Array) => void = () => undefined;
  let stopSessions = () => undefined as void;
  const conns = { ca: undefined as Connection | undefined, cb: undefined as (() => Connection) | undefined };
  if (mods) {
    const { SessionHost } = mods.session;
    const ka = mods.crypto.PrivateKey.generate();
    const kb = mods.crypto.PrivateKey.generate();
    const [epA, epB] = [
      mods.session.directEndpoint('127.0.0.1', pa),
      mods.session.directEndpoint('127.0.0.1', pb),
    ];
    const sendTo = (sock: dgram.Socket) => (d: Uint8Array, to: Endpoint) =>
      to.kind === 'direct' && sock.send(d, to.port, to.addr);
    const ha = new SessionHost({
      clock: realClock,
      privateKey: ka,
      send: sendTo(ua),
      onPayload: (_p, payload) => conns.ca?.receiveDatagram(payload),
    });
    const hb = new SessionHost({
      clock: realClock,
      privateKey: kb,
      send: sendTo(ub),
      onPayload: (_p, payload) => conns.cb?.().receiveDatagram(payload),
    });
    const peerOfA = ha.addPeer(kb.publicKey, { endpoint: epB });
    const peerOfB = hb.addPeer(ka.publicKey, { endpoint: epA });
    sendA = (d) => peerOfA.send(d);
    sendB = (d) => peerOfB.send(d);
    deliverA = (d) => ha.receive(d, epB);
    deliverB = (d) => hb.receive(d, epA);
    stopSessions = () => {
      ha.stop();
      hb.stop();
    };
  } else {
    deliverA = (d) => conns.ca?.receiveDatagram(d);
    deliverB = (d) => conns.cb?.().receiveDatagram(d);
  }
  ua.on('message', (m) => {
    deliverA(m);
    waiter.kick();
  });
  ub.on('message', (m) => {
    deliverB(m);
    waiter.kick();
  });
  const { ca, server, closeServer, accepted, sa } = connections(
    realClock,
    UDP_DATAGRAM,
    (d) => sendA(d),
    (d) => sendB(d),
  );
  conns.ca = ca;
  conns.cb = server;
  sa.write(Buffer.alloc(0));
  const sb = await accepted;
  for (const s of [sa, sb]) s.on('data', () => queueMicrotask(() => waiter.kick()));
  return {
    a: sa,
    b: sb,
    until: (done) => waiter.until(done),
    describe: () => describe(ca),
    async close() {
      quiet(sa, sb);
      ca.close();
      closeServer();
      stopSessions();
      ua.close();
      ub.close();
    },
  };
}

/** Closing a connection errors its open streams (CONNECTION_CLOSED): expected at teardown. */
function quiet(...streams: Stream[]): void {
  for (const s of streams) s.on('error', () => undefined);
}

async function tcpPair(): Promise<Pipe> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  const accepted = once(server, 'connection') as Promise<[net.Socket]>;
  const a = net.connect(port, '127.0.0.1');
  a.setNoDelay(true);
  await once(a, 'connect');
  const [b] = await accepted;
  b.setNoDelay(true);
  const waiter = eventWaiter();
  for (const s of [a, b]) s.on('data', () => queueMicrotask(() => waiter.kick()));
  return {
    a,
    b,
    until: (done) => waiter.until(done),
    async close() {
      a.destroy();
      b.destroy();
      server.close();
    },
  };
}
