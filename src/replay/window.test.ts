import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MAX_COUNTER, ReplayWindow, WINDOW_SIZE } from './index.ts';
import { NaiveReplayWindow } from './reference.ts';

const W = BigInt(WINDOW_SIZE);
const TWO32 = 1n << 32n;

/** Feeds counters to a fresh window, returning the verdicts. */
function run(counters: bigint[], w = new ReplayWindow()): boolean[] {
  return counters.map((c) => w.check(c));
}

describe('ReplayWindow: fixed cases', () => {
  test("window size is WireGuard's (128 − 1) × 64", () => {
    assert.equal(WINDOW_SIZE, 8128);
  });

  test('an empty window accepts counter 0 once', () => {
    assert.deepEqual(run([0n, 0n, 1n, 0n, 1n]), [true, false, true, false, false]);
  });

  test('in order, every counter once; every replay refused', () => {
    const w = new ReplayWindow();
    for (let i = 0n; i < 20_000n; i++) assert.equal(w.check(i), true, `fresh ${i}`);
    for (let i = 20_000n - W; i < 20_000n; i++) assert.equal(w.check(i), false, `replay ${i}`);
  });

  // The boundary, at several alignments of the highest counter within its 64-bit block and
  // across the 2^32 line between the halves and at the top of the counter space.
  const highs = [8128n, 8129n, 9000n, 64n * 200n, 64n * 200n + 63n, TWO32 - 1n, TWO32, TWO32 + 100n];
  highs.push(5n * TWO32 + 31n, MAX_COUNTER, MAX_COUNTER - 64n, 1n << 53n, (1n << 53n) + 1n);
  for (const high of highs) {
    test(`highest ${high}: exactly ${WINDOW_SIZE} behind is judged by its bit, one more is too old`, () => {
      const w = new ReplayWindow();
      assert.equal(w.check(high), true);
      assert.equal(w.check(high - W - 1n), false, 'W + 1 behind: too old');
      assert.equal(w.check(high - W), true, 'W behind: fresh');
      assert.equal(w.check(high - W), false, 'W behind: now a replay');
      assert.equal(w.check(high - W + 1n), true, 'W − 1 behind: fresh');
      assert.equal(w.check(high - 1n), true);
      assert.equal(w.check(high), false);
      // A step forward moves the boundary with it.
      if (high < MAX_COUNTER) {
        assert.equal(w.check(high + 1n), true);
        assert.equal(w.check(high - W), false, 'now W + 1 behind');
        assert.equal(w.check(high - W + 2n), true, 'now W − 1 behind, unseen');
      }
    });
  }

  test('a counter seen W behind stays refused while the window slides past its block', () => {
    const w = new ReplayWindow();
    const seen = 1000n;
    assert.equal(w.check(seen), true);
    for (let high = seen + 1n; high <= seen + W; high++) {
      assert.equal(w.check(high), true);
      assert.equal(w.check(seen), false, `replay of ${seen} with highest ${high}`);
    }
    assert.equal(w.check(seen + W + 1n), true);
    assert.equal(w.check(seen), false, 'now too old');
  });

  test('a jump clears the ring: counters behind the new highest are fresh once', () => {
    const w = new ReplayWindow();
    for (let i = 0n; i < 9000n; i++) w.check(i);
    const jump = 9000n + 64n * 128n * 3n + 17n;
    assert.equal(w.check(jump), true);
    for (let c = jump - W; c < jump; c++) assert.equal(w.check(c), c >= 9000n, `after jump ${c}`);
  });

  test('jumps of one block less, equal and more than the ring', () => {
    for (const d of [64n * 127n, 64n * 128n, 64n * 128n + 1n, 64n * 129n, 64n * 127n - 1n]) {
      const w = new ReplayWindow();
      for (let i = 0n; i < 200n; i++) w.check(i);
      assert.equal(w.check(199n + d), true);
      for (let c = 199n + d - W; c < 199n + d; c++) {
        assert.equal(w.check(c), c > 199n, `d=${d} c=${c}`);
      }
    }
  });

  test('sliding across the line between the halves keeps the history', () => {
    const w = new ReplayWindow();
    for (let c = TWO32 - 8000n; c < TWO32; c++) assert.equal(w.check(c), true);
    assert.equal(w.check(TWO32 + 3n), true);
    for (let c = TWO32 - 8000n; c < TWO32; c++) assert.equal(w.check(c), false, `replay ${c}`);
    assert.deepEqual(run([TWO32, TWO32 + 1n, TWO32 + 2n, TWO32 + 3n], w), [true, true, true, false]);
  });

  test('the top of the counter space', () => {
    const w = new ReplayWindow();
    assert.deepEqual(run([MAX_COUNTER - 1n, MAX_COUNTER, MAX_COUNTER, MAX_COUNTER - 1n, 0n], w), [
      true,
      true,
      false,
      false,
      false,
    ]);
    assert.equal(w.check(MAX_COUNTER - W), true);
  });

  test('values outside uint64 are refused and leave the window alone', () => {
    const w = new ReplayWindow();
    assert.equal(w.check(-1n), false);
    assert.equal(w.check(MAX_COUNTER + 1n), false);
    assert.equal(w.check(1n << 70n), false);
    assert.equal(w.checkParts(-1, 0), false);
    assert.equal(w.checkParts(0, 2 ** 32), false);
    assert.equal(w.checkParts(0.5, 0), false);
    assert.equal(w.checkParts(Number.NaN, 0), false);
    assert.equal(w.check(0n), true, 'still empty');
  });

  test('checkParts agrees with check on the halves', () => {
    const w = new ReplayWindow();
    assert.equal(w.checkParts(1, 5), true);
    assert.equal(w.check(TWO32 + 5n), false);
    assert.equal(w.check(TWO32 + 6n), true);
    assert.equal(w.checkParts(1, 6), false);
    assert.equal(w.checkParts(0, 0xffff_ffff), true, '7 behind, across the halves');
  });

  test('reset empties the window', () => {
    const w = new ReplayWindow();
    run([0n, 5n, 1_000_000n, 2n ** 40n], w);
    w.reset();
    assert.deepEqual(run([5n, 0n, 5n, 1_000_000n, 70n], w), [true, true, false, true, false]);
  });
});

// ---------------------------------------------------------------------------------------------
// Against the naive reference on random sequences.

/** One step of a random sequence, relative to the highest counter submitted so far. */
type Move =
  | { k: 'next'; d: number } // highest + d, d in 1..3 (in order, with small gaps)
  | { k: 'jump'; d: number } // highest + d, a big jump
  | { k: 'back'; d: number } // highest − d, within or just beyond the window
  | { k: 'edge'; d: number } // highest − (W − 4 .. W + 4)
  | { k: 'dup'; i: number } // a counter submitted earlier
  | { k: 'abs'; v: bigint } // any uint64
  | { k: 'top'; d: number } // MAX_COUNTER − d
  | { k: 'line'; n: number; d: number } // n × 2^32 + d: around the line between the two halves
  | { k: 'bad'; v: bigint } // not a uint64
  | { k: 'reset' };

const move: fc.Arbitrary<Move> = fc.oneof(
  {
    weight: 30,
    arbitrary: fc.record({ k: fc.constant('next' as const), d: fc.integer({ min: 1, max: 3 }) }),
  },
  {
    weight: 4,
    arbitrary: fc.record({ k: fc.constant('jump' as const), d: fc.integer({ min: 4, max: 40_000 }) }),
  },
  {
    weight: 20,
    arbitrary: fc.record({ k: fc.constant('back' as const), d: fc.integer({ min: 0, max: 12_000 }) }),
  },
  {
    weight: 8,
    arbitrary: fc.record({ k: fc.constant('edge' as const), d: fc.integer({ min: -4, max: 4 }) }),
  },
  { weight: 15, arbitrary: fc.record({ k: fc.constant('dup' as const), i: fc.nat() }) },
  {
    weight: 1,
    arbitrary: fc.record({ k: fc.constant('abs' as const), v: fc.bigInt({ min: 0n, max: MAX_COUNTER }) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ k: fc.constant('top' as const), d: fc.integer({ min: 0, max: 20_000 }) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      k: fc.constant('line' as const),
      n: fc.integer({ min: 1, max: 3 }),
      d: fc.integer({ min: -12_000, max: 200 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      k: fc.constant('bad' as const),
      v: fc.oneof(
        fc.bigInt({ min: -(1n << 70n), max: -1n }),
        fc.bigInt({ min: MAX_COUNTER + 1n, max: 1n << 70n }),
      ),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ k: 'reset' as const }) },
);

function clamp(v: bigint): bigint {
  return v < 0n ? 0n : v > MAX_COUNTER ? MAX_COUNTER : v;
}

/** Plays the moves on both windows; returns the first disagreement, or undefined. */
function compare(moves: Move[], useParts: boolean): string | undefined {
  const fast = new ReplayWindow();
  const naive = new NaiveReplayWindow();
  let highest = 0n;
  const history: bigint[] = [];
  for (const [step, m] of moves.entries()) {
    if (m.k === 'reset') {
      fast.reset();
      naive.reset();
      highest = 0n;
      history.length = 0;
      continue;
    }
    let c: bigint;
    switch (m.k) {
      case 'next':
      case 'jump':
        c = clamp(highest + BigInt(m.d));
        break;
      case 'back':
        c = clamp(highest - BigInt(m.d));
        break;
      case 'edge':
        c = clamp(highest - W + BigInt(m.d));
        break;
      case 'dup':
        c = history.length ? history[m.i % history.length] : 0n;
        break;
      case 'abs':
        c = m.v;
        break;
      case 'top':
        c = MAX_COUNTER - BigInt(m.d);
        break;
      case 'line':
        c = BigInt(m.n) * TWO32 + BigInt(m.d);
        break;
      case 'bad':
        c = m.v;
        break;
    }
    const valid = c >= 0n && c <= MAX_COUNTER;
    const got =
      useParts && valid ? fast.checkParts(Number(c >> 32n), Number(c & 0xffff_ffffn)) : fast.check(c);
    const want = naive.check(c);
    if (got !== want) return `step ${step}: counter ${c} (highest ${highest}): fast ${got}, naive ${want}`;
    if (valid) {
      history.push(c);
      if (c > highest) highest = c;
    }
  }
  return undefined;
}

describe('ReplayWindow against the naive reference', () => {
  for (const useParts of [false, true]) {
    test(`random sequences via ${useParts ? 'checkParts' : 'check'}`, () => {
      fc.assert(
        fc.property(fc.array(move, { minLength: 1, maxLength: 400, size: 'max' }), (moves) => {
          const diff = compare(moves, useParts);
          assert.equal(diff, undefined, diff);
        }),
        { numRuns: 3000 },
      );
    });
  }

  test('long reordered streams (packets delayed by up to 1.2 windows)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 31 }),
        fc.array(fc.integer({ min: 0, max: Math.round(WINDOW_SIZE * 1.2) }), {
          minLength: 1000,
          maxLength: 4000,
          size: 'max',
        }),
        fc.boolean(),
        (start, delays, nearTop) => {
          // Packet i is sent at time i and arrives at i + delay; deliver in arrival order.
          const base = nearTop ? MAX_COUNTER - BigInt(delays.length) - 1n : BigInt(start);
          const order = delays
            .map((d, i) => ({ c: base + BigInt(i), at: i + d }))
            .sort((a, b) => a.at - b.at);
          const fast = new ReplayWindow();
          const naive = new NaiveReplayWindow();
          for (const { c } of order) {
            assert.equal(fast.check(c), naive.check(c), `counter ${c}`);
            // Every packet is also replayed once, right away: always refused.
            assert.equal(fast.check(c), false);
            naive.check(c);
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
