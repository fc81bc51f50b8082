import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { AckState } from './acks.ts';
import { RecvWindow } from './flow.ts';
import { RecvBuffer } from './recvbuf.ts';
import { SendBuffer } from './sendbuf.ts';

/** Random application writes, cut into frames of random sizes, lost, re-sent, reordered, duplicated. */
const scenario = fc.record({
  writes: fc.array(fc.uint8Array({ minLength: 1, maxLength: 300 }), { minLength: 1, maxLength: 12 }),
  frameSizes: fc.array(fc.integer({ min: 1, max: 400 }), { minLength: 1, maxLength: 8 }),
  lossEvery: fc.integer({ min: 2, max: 6 }),
  seed: fc.integer(),
});

function shuffle<T>(xs: T[], seed: number): T[] {
  let s = seed >>> 0 || 1;
  for (let i = xs.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const j = s % (i + 1);
    [xs[i], xs[j]] = [xs[j], xs[i]];
  }
  return xs;
}

describe('stream buffers', () => {
  test('send buffer → lossy, reordering, re-splitting channel → receive buffer gives the bytes back', () => {
    fc.assert(
      fc.property(scenario, ({ writes, frameSizes, lossEvery, seed }) => {
        const want = Buffer.concat(writes);
        const sb = new SendBuffer();
        for (const w of writes) sb.write(w);
        sb.finish();
        const rb = new RecvBuffer();
        const out: Buffer[] = [];
        let n = 0;
        for (let round = 0; round < 200 && !(sb.done && rb.complete); round++) {
          // Build a flight of frames: lost ranges first, then new data, then FIN.
          const flight: Array<[number, Uint8Array, boolean, number, number]> = [];
          for (let k = 0; k < 6; k++) {
            const size = frameSizes[(n + k) % frameSizes.length];
            let off: number;
            let len: number;
            const lost = sb.takeLost(size);
            if (lost) [off, len] = lost;
            else if (sb.unsent > 0) {
              len = Math.min(size, sb.unsent);
              off = sb.takeNew(len);
            } else if (sb.finPending) {
              off = sb.end;
              len = 0;
            } else break;
            const fin = sb.finPending && off + len === sb.end && sb.sent === sb.end;
            if (fin) sb.finPending = false;
            const data = new Uint8Array(len);
            sb.copy(off, len, data, 0);
            flight.push([off, data, fin, off, len]);
          }
          for (const [off, data, fin, o, len] of shuffle(flight, seed + round)) {
            if (++n % lossEvery === 0) {
              sb.onLost(o, len, fin);
              continue;
            }
            assert.equal(rb.insert(off, data, fin), 'ok');
            if (n % 7 === 0) assert.equal(rb.insert(off, data, fin), 'ok'); // duplicate
            rb.drain((c) => out.push(Buffer.from(c)));
            sb.onAcked(o, len, fin);
          }
        }
        assert.ok(rb.complete, 'all bytes delivered');
        assert.ok(sb.done, 'everything acknowledged');
        assert.equal(sb.buffered, 0, 'send memory freed');
        assert.equal(rb.storedBytes, 0);
        assert.deepEqual(Buffer.concat(out), want);
      }),
      { numRuns: 300 },
    );
  });

  test('receive buffer refuses a changed final size', () => {
    const rb = new RecvBuffer();
    assert.equal(rb.insert(0, new Uint8Array(10), true), 'ok');
    assert.equal(rb.insert(5, new Uint8Array(10), false), 'final_size_error');
    assert.equal(rb.insert(0, new Uint8Array(8), true), 'final_size_error');
  });

  test('ACK state: delayed ACK, every 2nd packet, and at once when out of order', () => {
    const a = new AckState(25, 2);
    a.onPacket(0, true, 0);
    assert.equal(a.due(10), false);
    assert.equal(a.due(25), true);
    a.onPacket(1, true, 1);
    assert.equal(a.due(1), true, 'second ack-eliciting packet');
    a.onAckSent();
    a.onPacket(3, true, 2);
    assert.equal(a.due(2), true, 'a gap: immediate');
    a.onAckSent();
    a.onPacket(4, false, 3);
    assert.equal(a.pending, false, 'ACK-only packets are not acknowledged');
    assert.deepEqual(a.ranges(10), [
      [3, 4],
      [0, 1],
    ]);
    a.onAckAcked(1);
    assert.deepEqual(a.ranges(10), [[3, 4]]);
    assert.equal(a.isDuplicate(4), true);
  });

  test('receive window: credit follows consumption and grows when it is the bottleneck', () => {
    const w = new RecvWindow(100, 100, 400);
    assert.equal(w.onConsumed(40, 0, 10), false);
    assert.equal(w.onConsumed(20, 100, 10), true);
    assert.equal(w.advertised, 160);
    assert.equal(w.window, 100, 'slow updates do not grow the window');
    assert.equal(w.onConsumed(60, 105, 10), true); // within 2 RTT of the last update
    assert.equal(w.window, 200);
    assert.equal(w.advertised, 320);
  });
});
