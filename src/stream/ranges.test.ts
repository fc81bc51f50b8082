import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { RangeSet } from './ranges.ts';

/** The naive reference: a plain set of integers, turned into ranges when compared. */
class NaiveRanges {
  s = new Set<number>();
  add(lo: number, hi: number): boolean {
    let fresh = false;
    for (let v = lo; v <= hi; v++) {
      if (this.s.has(v)) continue;
      this.s.add(v);
      fresh = true;
    }
    return fresh;
  }
  remove(lo: number, hi: number): void {
    for (let v = lo; v <= hi; v++) this.s.delete(v);
  }
  removeBelow(v: number): void {
    for (const x of [...this.s]) if (x < v) this.s.delete(x);
  }
  toArray(): Array<[number, number]> {
    const xs = [...this.s].sort((a, b) => a - b);
    const out: Array<[number, number]> = [];
    for (const x of xs) {
      const last = out[out.length - 1];
      if (last && last[1] + 1 === x) last[1] = x;
      else out.push([x, x]);
    }
    return out;
  }
  gaps(lo: number, hi: number): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    for (let v = lo; v <= hi; v++) {
      if (this.s.has(v)) continue;
      const last = out[out.length - 1];
      if (last && last[1] + 1 === v) last[1] = v;
      else out.push([v, v]);
    }
    return out;
  }
}

const op = fc.tuple(
  fc.constantFrom('add', 'add', 'add', 'remove', 'below', 'gaps', 'has'),
  fc.nat({ max: 200 }),
  fc.nat({ max: 12 }),
);

test('RangeSet matches the naive reference over random operations', () => {
  fc.assert(
    fc.property(fc.array(op, { maxLength: 120 }), (ops) => {
      const r = new RangeSet();
      const n = new NaiveRanges();
      for (const [kind, a, len] of ops) {
        const lo = a;
        const hi = a + len;
        if (kind === 'add') assert.equal(r.add(lo, hi), n.add(lo, hi));
        else if (kind === 'remove') {
          r.remove(lo, hi);
          n.remove(lo, hi);
        } else if (kind === 'below') {
          r.removeBelow(lo);
          n.removeBelow(lo);
        } else if (kind === 'has') {
          assert.equal(r.has(lo), n.s.has(lo));
          assert.equal(r.covers(lo, hi), n.gaps(lo, hi).length === 0);
        } else {
          const got: Array<[number, number]> = [];
          r.gaps(lo, hi, (x, y) => got.push([x, y]));
          assert.deepEqual(got, n.gaps(lo, hi));
        }
        assert.deepEqual(r.toArray(), n.toArray());
      }
      assert.equal(r.min(), n.toArray()[0]?.[0]);
      assert.equal(r.max(), n.toArray().at(-1)?.[1]);
    }),
    { numRuns: 500 },
  );
});

test('keepHighest drops the lowest ranges', () => {
  const r = new RangeSet();
  for (let i = 0; i < 10; i++) r.add(i * 3);
  r.keepHighest(3);
  assert.deepEqual(r.toArray(), [
    [21, 21],
    [24, 24],
    [27, 27],
  ]);
});
