import { test } from 'node:test';
import assert from 'node:assert/strict';
import { realClock } from '../clock/index.ts';
import type { PeerSession } from '../session/index.ts';
import type { Duplex } from 'node:stream';
import type { Stream } from '../stream/index.ts';
import { REPLAY_LIMIT } from './link-stream.ts';
import { PeerLink } from './link.ts';

type Side = 'a' | 'b';

/**
 * Two links joined by an in-memory "session"; either side can be restarted (its link dropped
 * without a word, a new one in its place). Service 'echo' echoes; 'sink' reads and never answers.
 */
function pair(): {
  a: PeerLink;
  b: PeerLink;
  rebuildB(): PeerLink;
  restart(side: Side): PeerLink;
  link(side: Side): PeerLink;
  accepted: Stream[];
  sunk: () => number;
} {
  const accepted: Stream[] = [];
  let sunk = 0;
  const links: { a?: PeerLink; b?: PeerLink } = {};
  const session = (to: 'a' | 'b') =>
    ({
      send: (p: Uint8Array) => setImmediate(() => links[to]?.receive(new Uint8Array(p))),
    }) as unknown as PeerSession;
  const make = (self: 'a' | 'b') =>
    new PeerLink({
      clock: realClock,
      session: session(self === 'a' ? 'b' : 'a'),
      isClient: self === 'a',
      maxPayload: () => 1400,
      onIncomingStream: (req) => {
        const s = req.accept();
        s.on('error', () => {});
        accepted.push(s);
        if (req.service === 'sink') s.on('data', (b: Buffer) => (sunk += b.length));
        else s.pipe(s);
      },
      onEvent: () => {},
    });
  links.a = make('a');
  links.b = make('b');
  const restart = (side: Side): PeerLink => {
    links[side]?.stop('restart');
    return (links[side] = make(side));
  };
  return {
    a: links.a,
    b: links.b,
    rebuildB: () => restart('b'),
    restart,
    link: (side) => links[side]!,
    accepted,
    sunk: () => sunk,
  };
}

async function roundTrip(s: Duplex, data: Buffer): Promise<Buffer> {
  const out: Buffer[] = [];
  let n = 0;
  return new Promise((resolve, reject) => {
    s.on('data', (b: Buffer) => {
      out.push(b);
      n += b.length;
      if (n >= data.length) resolve(Buffer.concat(out));
    });
    s.on('error', reject);
    s.on('error', () => {});
    s.write(data);
  });
}

for (const opener of ['a', 'b'] as const) {
  test(`a stream opened by the ${opener === 'a' ? 'lower' : 'higher'} key side carries data both ways`, async () => {
    const p = pair();
    const s = (opener === 'a' ? p.a : p.b).openStream('echo');
    const data = Buffer.alloc(200_000, 3);
    const back = await roundTrip(s, data);
    assert.equal(Buffer.compare(back, data), 0);
    p.a.stop();
    p.b.stop();
  });
}

test('a restarted peer answers RESET; the next stream starts a new link and works', async () => {
  const p = pair();
  const s1 = p.a.openStream('echo');
  await roundTrip(s1, Buffer.from('one'));
  const b2 = p.rebuildB();
  const errored = new Promise((r) => s1.on('error', r));
  s1.write('two');
  await errored;
  assert.ok(p.a.stats().resetsReceived >= 1);
  const s2 = p.a.openStream('echo');
  const back = await roundTrip(s2, Buffer.from('three'));
  assert.equal(back.toString(), 'three');
  p.a.stop();
  b2.stop();
});

for (const restarted of ['a', 'b'] as const) {
  const other = restarted === 'a' ? 'b' : 'a';
  test(`the first stream after the ${restarted === 'a' ? 'lower' : 'higher'} key side restarted works at once`, async () => {
    const p = pair();
    const s1 = p.link(other).openStream('echo');
    await roundTrip(s1, Buffer.from('before'));
    p.restart(restarted);
    // The old link still looks alive to this side: the stream goes out on it, the restarted side
    // answers RESET, and the stream must move to a new link instead of failing.
    const s2 = p.link(other).openStream('echo');
    const data = Buffer.alloc(100_000);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7) & 0xff;
    const back = await roundTrip(s2, data);
    assert.equal(Buffer.compare(back, data), 0);
    const st = p.link(other).stats();
    assert.ok(st.resetsReceived >= 1, 'the peer answered RESET');
    assert.equal(st.streamsMoved, 1);
    assert.equal(st.connections, 2);
    p.a.stop();
    p.b.stop();
    p.link(restarted).stop();
  });
}

test(
  'a stream whose bytes the peer acknowledged does not move: it errors when the peer restarts',
  { timeout: 10_000 },
  async () => {
    const p = pair();
    const s = p.a.openStream('sink');
    s.on('error', () => {});
    s.write(Buffer.alloc(1000, 1));
    // Wait until the sink side has the bytes (and so acknowledges them).
    while (p.sunk() < 1000) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 100));
    const b2 = p.rebuildB();
    const errored = new Promise((r) => s.on('error', r));
    s.write('more');
    await errored;
    assert.equal(p.a.stats().streamsMoved, 0);
    p.a.stop();
    b2.stop();
  },
);

test(
  'a stream that wrote more than the replay limit before any answer does not move',
  { timeout: 10_000 },
  async () => {
    const p = pair();
    await roundTrip(p.a.openStream('echo'), Buffer.from('warm'));
    const b2 = p.rebuildB();
    const s = p.a.openStream('echo');
    const errored = new Promise((r) => s.on('error', r));
    s.write(Buffer.alloc(REPLAY_LIMIT + 1, 2));
    await errored;
    assert.equal(p.a.stats().streamsMoved, 0);
    p.a.stop();
    b2.stop();
  },
);

test(
  'a fresh stream that already ended its side moves with its FIN, and finishes',
  { timeout: 10_000 },
  async () => {
    const p = pair();
    await roundTrip(p.a.openStream('echo'), Buffer.from('warm'));
    const b2 = p.rebuildB();
    const s = p.a.openStream('echo');
    const out: Buffer[] = [];
    s.on('data', (b: Buffer) => out.push(b));
    const finished = new Promise((r) => s.on('finish', r));
    const ended = new Promise((r) => s.on('end', r));
    s.end('last words');
    await Promise.all([finished, ended]);
    assert.equal(Buffer.concat(out).toString(), 'last words');
    assert.equal(p.a.stats().streamsMoved, 1);
    p.a.stop();
    b2.stop();
  },
);
