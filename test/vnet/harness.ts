// Shared plumbing of the vnet stream tests: two Connections joined by a vnet link, deterministic
// payloads, and SHA-256 on both ends. Not a test file itself.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { FakeClock } from '../../src/clock/index.ts';
import { Connection } from '../../src/stream/index.ts';
import type { ConnectionOptions, IncomingStreamRequest, Stream } from '../../src/stream/index.ts';
import { Rng, VNet } from '../../src/testing/vnet/index.ts';
import type { LinkOptions, VEndpoint } from '../../src/testing/vnet/index.ts';

export type ExtraOptions = Partial<Omit<ConnectionOptions, 'clock' | 'isClient' | 'sendDatagram'>>;

export interface Peers {
  net: VNet;
  clock: FakeClock;
  client: Connection;
  server: Connection;
  /** ends[0] is the client's socket, ends[1] the server's. */
  ends: [VEndpoint, VEndpoint];
  /** Every 'error' any stream emitted, with the side and stream id. */
  errors: { side: string; id: number; err: Error }[];
  /** Sets both connections' datagram size (and the link MTU, both directions). */
  setDatagramSize(bytes: number): void;
  /** Watches a stream's 'error' events into `errors`. */
  watch(side: string, s: Stream): Stream;
  /** Gets each stream the server accepts (every incoming stream is accepted). */
  onServerStream?: (s: Stream, req: IncomingStreamRequest) => void;
  onClientStream?: (s: Stream, req: IncomingStreamRequest) => void;
}

export interface PairSetup {
  seed: number;
  link?: LinkOptions;
  /** The server→client direction, default `link`. */
  linkBack?: LinkOptions;
  datagramSize: number;
  client?: ExtraOptions;
  server?: ExtraOptions;
}

export function connectPair(p: PairSetup): Peers {
  const clock = new FakeClock();
  const net = new VNet({ clock, seed: p.seed });
  const mtu = { mtu: p.datagramSize };
  const ends = net.pair({ ...p.link, ...mtu }, { ...(p.linkBack ?? p.link), ...mtu });
  const errors: Peers['errors'] = [];
  const watch = (side: string, s: Stream): Stream => {
    s.on('error', (err: Error) => errors.push({ side, id: s.id, err }));
    return s;
  };
  // eslint-disable-next-line prefer-const
  let peers: Peers;
  const accept = (side: 'client' | 'server') => (req: IncomingStreamRequest) => {
    const s = watch(side, req.accept());
    if (side === 'server') peers.onServerStream?.(s, req);
    else peers.onClientStream?.(s, req);
  };
  const client = new Connection({
    clock,
    isClient: true,
    sendDatagram: (d) => ends[0].send(d),
    maxDatagramSize: p.datagramSize,
    onIncomingStream: accept('client'),
    ...p.client,
  });
  const server = new Connection({
    clock,
    isClient: false,
    sendDatagram: (d) => ends[1].send(d),
    maxDatagramSize: p.datagramSize,
    onIncomingStream: accept('server'),
    ...p.server,
  });
  ends[0].onReceive((d) => client.receiveDatagram(d));
  ends[1].onReceive((d) => server.receiveDatagram(d));
  peers = {
    net,
    clock,
    client,
    server,
    ends,
    errors,
    watch,
    setDatagramSize(bytes) {
      ends[0].setLink({ mtu: bytes }, 'both');
      client.setMaxDatagramSize(bytes);
      server.setMaxDatagramSize(bytes);
    },
  };
  return peers;
}

/** Deterministic pseudo-random bytes, generated chunk by chunk (no need to hold a whole transfer). */
export class Payload {
  readonly total: number;
  readonly hash = createHash('sha256');
  #rng: Rng;
  #left: number;

  constructor(seed: number, stream: number, total: number) {
    this.#rng = new Rng(seed, stream);
    this.total = total;
    this.#left = total;
  }
  get done(): boolean {
    return this.#left === 0;
  }
  /** The next chunk of at most `max` bytes (a fresh buffer), hashed as it is produced. */
  next(max = 64 * 1024): Buffer {
    const n = Math.min(max, this.#left);
    const words = new Uint32Array(Math.ceil(n / 4));
    for (let i = 0; i < words.length; i++) words[i] = this.#rng.next();
    const b = Buffer.from(words.buffer, 0, n);
    this.#left -= n;
    this.hash.update(b);
    return b;
  }
}

/** Writes `payload` into `s` honouring backpressure (write() false → wait for 'drain'), then ends it. */
export async function writeAll(s: Duplex, payload: Payload, chunk = 64 * 1024): Promise<void> {
  while (!payload.done) {
    if (s.destroyed) throw new Error(`stream destroyed after ${payload.total} bytes were due`);
    if (!s.write(payload.next(chunk))) {
      await new Promise<void>((resolve, reject) => {
        const ok = () => {
          s.off('error', bad);
          s.off('close', bad);
          resolve();
        };
        const bad = (e?: Error) => {
          s.off('drain', ok);
          reject(e ?? new Error('stream closed while waiting for drain'));
        };
        s.once('drain', ok);
        s.once('error', bad);
        s.once('close', bad);
      });
    }
  }
  s.end();
}

/** Reads `s` to its end, hashing; `done` turns true at 'end'. */
export class Sink {
  readonly hash = createHash('sha256');
  bytes = 0;
  done = false;
  endedAt = -1;
  firstByteAt = -1;
  digest = '';
  constructor(s: Duplex, clock: FakeClock) {
    s.on('data', (b: Buffer) => {
      if (this.firstByteAt < 0) this.firstByteAt = clock.now();
      this.bytes += b.length;
      this.hash.update(b);
    });
    s.on('end', () => {
      this.done = true;
      this.endedAt = clock.now();
      this.digest = this.hash.digest('hex');
    });
  }
}

/**
 * One stream opened by the client carries `total` bytes each way at once; asserts both SHA-256s,
 * byte counts, and that no stream errored. `tick` runs before every vnet event (path changes).
 */
export async function transferBothWays(
  peers: Peers,
  seed: number,
  total: number,
  limitMs: number,
  tick?: (progress: { up: number; down: number }) => void,
) {
  const { clock } = peers;
  const down = new Payload(seed, 2, total);
  const up = new Payload(seed, 1, total);
  let serverSink: Sink | undefined;
  const failures: unknown[] = [];
  peers.onServerStream = (s: Stream) => {
    serverSink = new Sink(s, clock);
    writeAll(s, down).catch((e) => failures.push(e));
  };
  const cs = peers.watch('client', peers.client.openStream('grid'));
  const clientSink = new Sink(cs, clock);
  writeAll(cs, up).catch((e) => failures.push(e));
  await peers.net.runUntil(() => {
    tick?.({ up: serverSink?.bytes ?? 0, down: clientSink.bytes });
    return clientSink.done && serverSink?.done === true;
  }, limitMs);
  assert.deepEqual(failures, []);
  assert.deepEqual(peers.errors, []);
  assert.equal(serverSink!.bytes, total, 'client → server byte count');
  assert.equal(serverSink!.digest, up.hash.digest('hex'), 'client → server SHA-256');
  assert.equal(clientSink.bytes, total, 'server → client byte count');
  assert.equal(clientSink.digest, down.hash.digest('hex'), 'server → client SHA-256');
  return { ms: clock.now() };
}

/** Median and percentiles of a list of numbers. */
export function spread(xs: number[]): {
  n: number;
  min: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
} {
  const s = [...xs].sort((a, b) => a - b);
  const q = (f: number) => s[Math.min(s.length - 1, Math.floor(f * s.length))];
  return { n: s.length, min: s[0], p50: q(0.5), p90: q(0.9), p99: q(0.99), max: s[s.length - 1] };
}

export const KiB = 1024;
export const MiB = 1024 * 1024;
