import { test } from 'node:test';
import assert from 'node:assert/strict';
import { realClock } from '../clock/index.ts';
import type { PeerSession } from '../session/index.ts';
import type { Stream } from '../stream/index.ts';
import { PeerLink } from './link.ts';

/** Two links joined by an in-memory "session" that can be cut and restored. */
function pair(): { a: PeerLink; b: PeerLink; rebuildB(): PeerLink; accepted: Stream[] } {
  const accepted: Stream[] = [];
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
        s.pipe(s);
      },
      onEvent: () => {},
    });
  links.a = make('a');
  links.b = make('b');
  return {
    a: links.a,
    b: links.b,
    rebuildB: () => {
      links.b?.stop('restart');
      links.b = make('b');
      return links.b;
    },
    accepted,
  };
}

async function roundTrip(s: Stream, data: Buffer): Promise<Buffer> {
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
