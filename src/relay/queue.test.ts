import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FrameQueue } from './queue.ts';

const f = (n: number, tag = 0) => new Uint8Array(n).fill(tag);

test('drops the oldest when the packet bound is reached', () => {
  const q = new FrameQueue(3, 1000);
  assert.equal(q.push(f(1, 1)), 0);
  q.push(f(1, 2));
  q.push(f(1, 3));
  assert.equal(q.push(f(1, 4)), 1);
  assert.deepEqual(
    q.take(100).map((x) => x[0]),
    [2, 3, 4],
  );
  assert.equal(q.bytes, 0);
});

test('drops the oldest when the byte bound is reached, and keeps an oversized newest alone', () => {
  const q = new FrameQueue(100, 10);
  q.push(f(4, 1));
  q.push(f(4, 2));
  assert.equal(q.push(f(4, 3)), 1);
  assert.equal(q.bytes, 8);
  assert.equal(q.push(f(20, 4)), 2);
  assert.equal(q.length, 1);
  assert.equal(q.shift()![0], 4);
});

test('take() returns at least one frame and stays within the limit otherwise', () => {
  const q = new FrameQueue(100, 1000);
  for (let i = 0; i < 5; i++) q.push(f(30, i));
  assert.equal(q.take(10).length, 1);
  assert.equal(q.take(60).length, 2);
  assert.equal(q.take(1000).length, 2);
  assert.equal(q.take(1000).length, 0);
});

test('agrees with a naive array model on any sequence of operations', () => {
  const op = fc.oneof(
    fc.record({ push: fc.nat(50) }),
    fc.constant({ shift: true as const }),
    fc.record({ take: fc.nat(120) }),
  );
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 8 }),
      fc.integer({ min: 1, max: 100 }),
      fc.array(op, { maxLength: 300 }),
      (mp, mb, ops) => {
        const q = new FrameQueue(mp, mb);
        const model: Uint8Array[] = [];
        const bytes = () => model.reduce((s, x) => s + x.length, 0);
        let seq = 0;
        for (const o of ops) {
          if ('push' in o) {
            const x = f(o.push, seq++ & 0xff);
            let d = 0;
            while (model.length > 0 && (model.length >= mp || bytes() + x.length > mb)) {
              model.shift();
              d++;
            }
            model.push(x);
            assert.equal(q.push(x), d);
          } else if ('shift' in o) assert.equal(q.shift(), model.shift());
          else {
            const got = q.take(o.take);
            const want: Uint8Array[] = [];
            let n = 0;
            while (model.length && (want.length === 0 || n + model[0].length <= o.take)) {
              n += model[0].length;
              want.push(model.shift()!);
            }
            assert.deepEqual(got, want);
          }
          assert.equal(q.length, model.length);
          assert.equal(q.bytes, bytes());
        }
      },
    ),
    { numRuns: 300 },
  );
});
