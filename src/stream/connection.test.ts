import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { FakeClock } from '../clock/index.ts';
import { memoryPair } from './memory-pair.ts';
import type { PairOptions } from './memory-pair.ts';
import { Connection, StreamError } from './index.ts';
import { encodePacket } from '../proto/frames/index.ts';
import type { IncomingStreamRequest, Stream } from './index.ts';

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Alternates event-loop turns with 1 ms of fake time until done() or limitMs. */
async function run(clock: FakeClock, done: () => boolean, limitMs = 60_000): Promise<void> {
  const end = clock.now() + limitMs;
  while (!done()) {
    if (clock.now() >= end) throw new Error(`not done after ${limitMs} ms of fake time`);
    await tick();
    clock.advance(1);
  }
}

function sha(b: Uint8Array[]): string {
  const h = createHash('sha256');
  for (const x of b) h.update(x);
  return h.digest('hex');
}

/** Writes `data` in 64 KiB chunks honouring backpressure, then ends. */
function writeAll(s: Duplex, data: Buffer): void {
  let off = 0;
  const pump = (): void => {
    while (off < data.length) {
      const ok = s.write(data.subarray(off, off + 65536));
      off += 65536;
      if (!ok) return void s.once('drain', pump);
    }
    s.end();
  };
  pump();
}

function collect(s: Duplex): { chunks: Buffer[]; ended: boolean; bytes: number } {
  const r = { chunks: [] as Buffer[], ended: false, bytes: 0 };
  s.on('data', (b: Buffer) => {
    r.chunks.push(b);
    r.bytes += b.length;
  });
  s.on('end', () => (r.ended = true));
  return r;
}

function setup(server: PairOptions = {}, client: PairOptions = {}, mds = 1200) {
  const clock = new FakeClock();
  const incoming: Array<{ req: IncomingStreamRequest; s?: Stream }> = [];
  const pair = memoryPair(clock, {
    maxDatagramSize: mds,
    server: { onIncomingStream: (req) => void incoming.push({ req, s: req.accept() }), ...server },
    client,
  });
  return { clock, pair, incoming };
}

describe('Connection over an in-memory pair', () => {
  test('a stream carries bytes both ways intact, with its service name, then both sides clean up', async () => {
    const { clock, pair, incoming } = setup();
    const up = randomBytes(2 << 20);
    const down = randomBytes(1 << 20);
    const cs = pair.client.openStream('db:5432');
    const got = collect(cs);
    writeAll(cs, up);
    await run(clock, () => incoming.length === 1);
    assert.equal(incoming[0].req.service, 'db:5432');
    const ss = incoming[0].s!;
    assert.equal(ss.id, cs.id);
    const sgot = collect(ss);
    writeAll(ss, down);
    let closed = 0;
    cs.on('close', () => closed++);
    ss.on('close', () => closed++);
    await run(clock, () => got.ended && sgot.ended && closed === 2);
    assert.equal(sha(sgot.chunks), sha([up]));
    assert.equal(sha(got.chunks), sha([down]));
    await run(clock, () => pair.client.stats().streams === 0 && pair.server.stats().streams === 0);
    const st = pair.client.stats();
    assert.ok(st.packetsSent > 1000 && st.packetsReceived > 0 && st.srttMs > 0 && st.cwnd > 0);
    assert.equal(st.bytesInFlight, 0);
    assert.equal(st.drops.internal + pair.server.stats().drops.internal, 0);
    pair.client.close();
    pair.server.close();
    assert.equal(clock.pending(), 0, 'close() leaves no timer');
  });

  test('a path with a backlog holds new data (ACKs still go) until resume(); nothing is lost', async () => {
    let ready = true;
    const { clock, pair, incoming } = setup({}, { pathReady: () => ready });
    const cs = pair.client.openStream('bulk');
    const up = randomBytes(512 << 10);
    writeAll(cs, up);
    await run(clock, () => incoming.length === 1);
    const sgot = collect(incoming[0].s!);
    await run(clock, () => sgot.bytes > 64 << 10);
    ready = false;
    await tick();
    const sent = pair.client.stats().bytesSent;
    await run(clock, () => clock.now() > 2_000, 5_000);
    const held = pair.client.stats();
    assert.ok(
      held.bytesSent - sent < 4096,
      `only ACK-sized packets while held: ${held.bytesSent - sent} bytes`,
    );
    assert.ok(!sgot.ended, 'the stream waits');
    ready = true;
    pair.client.resume();
    await run(clock, () => sgot.ended);
    assert.equal(sha(sgot.chunks), sha([up]));
    assert.equal(pair.client.stats().packetsLost, 0);
    incoming[0].s!.end();
    await run(clock, () => pair.client.stats().streams === 0 && pair.server.stats().streams === 0);
    pair.client.close();
    pair.server.close();
  });

  test('a congestion signal from the path (PEER_BUSY) halves the window once per round trip, losing nothing', async () => {
    const { clock, pair, incoming } = setup();
    const cs = pair.client.openStream('bulk');
    writeAll(cs, randomBytes(1 << 20));
    await run(clock, () => incoming.length === 1);
    const got = collect(incoming[0].s!);
    await run(clock, () => got.bytes > 256 << 10);
    const before = pair.client.stats().cwnd;
    pair.client.congestionSignal();
    pair.client.congestionSignal(); // the same round trip: no second cut
    const after = pair.client.stats();
    assert.equal(after.cwnd, Math.max(before / 2, 2 * 1200));
    assert.equal(after.congestionSignals, 1);
    await run(clock, () => got.ended);
    assert.equal(pair.client.stats().packetsLost, 0);
    assert.equal(pair.client.stats().bytesRetransmitted, 0);
    incoming[0].s!.end();
    await run(clock, () => pair.client.stats().streams === 0 && pair.server.stats().streams === 0);
    pair.client.close();
    pair.server.close();
  });

  test('a refused stream errors on the opener with STREAM_REFUSED, code and reason', async () => {
    const { clock, pair } = setup({ onIncomingStream: (req) => req.refuse(7, `no ${req.service} here`) });
    const cs = pair.client.openStream('ssh');
    cs.write(Buffer.alloc(5000));
    let err: StreamError | undefined;
    cs.on('error', (e: StreamError) => (err = e));
    await run(clock, () => err !== undefined);
    assert.ok(err instanceof StreamError);
    assert.equal(err.code, 'STREAM_REFUSED');
    assert.equal(err.refuseCode, 7);
    assert.equal(err.reason, 'no ssh here');
    await run(clock, () => pair.client.stats().streams === 0 && pair.server.stats().streams === 0);
  });

  test('without a handler every incoming stream is refused', async () => {
    const clock = new FakeClock();
    const pair = memoryPair(clock);
    const cs = pair.client.openStream('x');
    let err: StreamError | undefined;
    cs.on('error', (e: StreamError) => (err = e));
    await run(clock, () => err !== undefined);
    assert.equal(err!.code, 'STREAM_REFUSED');
  });

  test('destroying a stream resets it on the peer; the connection goes on', async () => {
    const { clock, pair, incoming } = setup();
    const cs = pair.client.openStream('a');
    writeAll(cs, randomBytes(4 << 20));
    await run(clock, () => incoming.length === 1);
    const ss = incoming[0].s!;
    const sgot = collect(ss);
    let err: StreamError | undefined;
    ss.on('error', (e: StreamError) => (err = e));
    await run(clock, () => sgot.bytes > 100_000);
    cs.destroy();
    await run(clock, () => err !== undefined);
    assert.equal(err!.code, 'STREAM_RESET');
    await run(clock, () => pair.client.stats().streams === 0 && pair.server.stats().streams === 0);
    // connection credit was returned: another stream moves more than a window
    const c2 = pair.client.openStream('b');
    const data = randomBytes(6 << 20);
    writeAll(c2, data);
    await run(clock, () => incoming.length === 2);
    const g2 = collect(incoming[1].s!);
    await run(clock, () => g2.ended);
    assert.equal(sha(g2.chunks), sha([data]));
  });

  test('the reader bounds the sender: a paused reader stops credit, resuming lets everything through', async () => {
    const streamWindow = 1 << 20;
    const streamSendBuffer = 256 << 10;
    const { clock, pair, incoming } = setup(
      { streamWindow, maxStreamWindow: streamWindow },
      { streamSendBuffer },
    );
    const cs = pair.client.openStream('slow');
    const data = randomBytes(16 << 20);
    writeAll(cs, data);
    await run(clock, () => incoming.length === 1);
    const ss = incoming[0].s!;
    ss.pause();
    let maxBuffered = 0;
    let falseWrites = 0;
    for (let i = 0; i < 300; i++) {
      await tick();
      clock.advance(1);
      maxBuffered = Math.max(maxBuffered, cs.bufferedBytes);
      if (cs.writableNeedDrain) falseWrites++;
    }
    assert.ok(falseWrites > 0, 'write() returned false');
    // Bounded by what the peer may receive (its window) plus the unsent allowance.
    assert.ok(maxBuffered <= streamWindow + streamSendBuffer + 65536, `sender held ${maxBuffered} bytes`);
    assert.ok(ss.readableLength <= streamWindow, `receiver buffered ${ss.readableLength}`);
    const got = collect(ss);
    ss.resume();
    await run(clock, () => got.ended);
    assert.equal(got.bytes, data.length);
    assert.equal(sha(got.chunks), sha([data]));
  });

  test('a reader using read() and unshift() in paused mode gets credit as it consumes (no stall)', async () => {
    const streamWindow = 256 << 10;
    const { clock, pair, incoming } = setup({ streamWindow, maxStreamWindow: streamWindow });
    const cs = pair.client.openStream('pull');
    const data = randomBytes(4 << 20);
    writeAll(cs, data);
    await run(clock, () => incoming.length === 1);
    const ss = incoming[0].s!;
    const got: Buffer[] = [];
    let ended = false;
    let maxHeld = 0;
    ss.on('end', () => (ended = true));
    // Takes 16 KiB per millisecond: read everything, keep 16 KiB, put the rest back.
    const pull = (): void => {
      const b = ss.read() as Buffer | null;
      if (b) {
        got.push(b.subarray(0, 16384));
        if (b.length > 16384) ss.unshift(b.subarray(16384));
      }
      maxHeld = Math.max(maxHeld, ss.readableLength + ss.reassemblyBytes);
      if (!ended) clock.setTimeout(pull, 1);
    };
    pull();
    await run(clock, () => ended, 600_000);
    assert.equal(sha(got), sha([data]));
    // unshift() puts back at most one read's worth beyond the window
    assert.ok(maxHeld <= 2 * streamWindow, `receiver held ${maxHeld} bytes`);
  });

  test('a reader that destroys its stream stops the writer (STOP_SENDING → STREAM_STOPPED)', async () => {
    const { clock, pair, incoming } = setup();
    const cs = pair.client.openStream('a');
    writeAll(cs, randomBytes(8 << 20));
    let err: StreamError | undefined;
    cs.on('error', (e: StreamError) => (err = e));
    await run(clock, () => incoming.length === 1);
    const ss = incoming[0].s!;
    ss.on('error', () => {});
    ss.resume();
    ss.end(); // its own half is done, so destroy() stops only the reading half
    await run(clock, () => pair.server.stats().packetsReceived > 50);
    ss.destroy();
    await run(clock, () => err !== undefined);
    assert.equal(err!.code, 'STREAM_STOPPED');
    await run(clock, () => pair.client.stats().streams === 0 && pair.server.stats().streams === 0);
    assert.equal(pair.client.stats().streamSendBuffered, 0, 'send buffer freed');
  });

  test('close() errors the peer streams with CONNECTION_CLOSED and the code; no timers remain', async () => {
    let closedWith: StreamError | undefined | null = null;
    const { clock, pair, incoming } = setup({ onClose: (e) => (closedWith = e) } as PairOptions);
    // onClose was overridden by setup's spread order? setup spreads server opts last, so it is kept.
    const cs = pair.client.openStream('a');
    cs.write('hello');
    await run(clock, () => incoming.length === 1);
    let err: StreamError | undefined;
    incoming[0].s!.on('error', (e: StreamError) => (err = e));
    cs.on('error', () => {});
    pair.client.close(5, 'bye');
    await run(clock, () => err !== undefined);
    assert.equal(err!.code, 'CONNECTION_CLOSED');
    assert.equal(err!.peerCode, 5);
    assert.equal(err!.reason, 'bye');
    assert.ok(closedWith !== null && (closedWith as StreamError).code === 'CONNECTION_CLOSED');
    assert.ok(pair.server.closed);
    assert.equal(clock.pending(), 0);
    const late = pair.client.openStream('late');
    let lateErr: StreamError | undefined;
    late.on('error', (e: StreamError) => (lateErr = e));
    await tick();
    assert.equal(lateErr?.code, 'CONNECTION_CLOSED');
  });

  test('idle timeout closes both sides when the path goes silent', async () => {
    const { clock, pair, incoming } = setup({ idleTimeoutMs: 5000 }, { idleTimeoutMs: 5000 });
    const cs = pair.client.openStream('a');
    cs.write('x');
    await run(clock, () => incoming.length === 1);
    let err: StreamError | undefined;
    cs.on('error', (e: StreamError) => (err = e));
    incoming[0].s!.on('error', () => {});
    pair.drop = () => true;
    await run(clock, () => err !== undefined, 10_000);
    assert.equal(err!.code, 'IDLE_TIMEOUT');
    assert.ok(pair.client.closed);
    await run(clock, () => pair.server.closed, 10_000);
    assert.equal(clock.pending(), 0);
  });

  test('keep-alive PINGs hold an idle connection open', async () => {
    const { clock, pair } = setup(
      { idleTimeoutMs: 3000, keepAliveMs: 1000 },
      { idleTimeoutMs: 3000, keepAliveMs: 1000 },
    );
    await run(clock, () => clock.now() > 20_000);
    assert.ok(!pair.client.closed && !pair.server.closed);
    pair.client.close();
    pair.server.close();
    assert.equal(clock.pending(), 0);
  });

  test('a path frame inside a stream packet is dropped and counted (paths have datagrams of their own)', () => {
    const clock = new FakeClock();
    const c = new Connection({ clock, isClient: false, sendDatagram: () => {}, maxDatagramSize: 1200 });
    c.receiveDatagram(encodePacket(0, [{ type: 'path_ping', txid: new Uint8Array(8) }]));
    assert.equal(c.stats().drops.path_frame, 1);
    c.close();
  });

  test('garbage datagrams are dropped and counted, never thrown', () => {
    const clock = new FakeClock();
    const c = new Connection({ clock, isClient: false, sendDatagram: () => {}, maxDatagramSize: 1200 });
    for (let i = 0; i < 2000; i++) c.receiveDatagram(randomBytes(1 + (i % 90)));
    const s = c.stats();
    assert.ok(s.drops.malformed > 0);
    assert.equal(s.drops.internal, 0);
    c.close();
  });

  test('more streams than the peer allows at once wait for MAX_STREAMS and all complete', async () => {
    const { clock, pair, incoming } = setup({ maxIncomingStreams: 100 });
    const n = 350;
    const results: Array<ReturnType<typeof collect>> = [];
    for (let i = 0; i < n; i++) {
      const s = pair.client.openStream(`s${i}`);
      results.push(collect(s));
      s.end(Buffer.alloc(3000, i & 0xff));
    }
    // the server echoes each stream back
    let served = 0;
    await run(clock, () => {
      while (served < incoming.length) {
        const s = incoming[served++].s!;
        s.pipe(s);
      }
      return results.every((r) => r.ended);
    });
    assert.equal(incoming.length, n);
    for (let i = 0; i < n; i++) assert.equal(results[i].bytes, 3000);
  });
});
