// Property tests: random chains, one random tampering each, and the verifier must name the first
// bad seq with the right reason. The expected answer is derived from the tampering, not from the
// verifier.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { verifyExport } from './verify.ts';
import {
  chain,
  editRecord,
  exportOf,
  fixedKey,
  parseLineObject as parse,
  recordAt,
  rehashed,
} from './testkit.ts';

const key = fixedKey(7);
const trust = { trustedKeys: [key.verifyKey] };

const setup = fc
  .record({ n: fc.integer({ min: 3, max: 40 }), every: fc.integer({ min: 1, max: 12 }), salt: fc.nat(1000) })
  .chain((s) =>
    fc.record({
      s: fc.constant(s),
      k: fc.integer({ min: 1, max: s.n }),
      m: fc.integer({ min: 1, max: s.n }),
      field: fc.constantFrom('actor', 'action', 'subject', 'time', 'details'),
    }),
  );

function build(n: number, every: number, salt: number) {
  const lines = exportOf(chain(n, salt), key, every);
  const isCp = (seq: number) => seq % every === 0 || seq === n;
  return { lines, isCp };
}

function verdict(lines: string[]) {
  const rep = verifyExport(lines, trust);
  return { code: rep.failure?.code, seq: rep.failure?.seq, fromSeq: rep.failure?.fromSeq };
}

const change = (r: Record<string, unknown>, field: string) => {
  if (field === 'time') r.time = (r.time as number) + 1;
  else if (field === 'details') r.details = { ...(r.details as object), extra: true };
  else r[field] = `${r[field] as string}!`;
};

const runs = { numRuns: 150 };

test('edit without rehash → EDITED at k', () => {
  fc.assert(
    fc.property(setup, ({ s, k, field }) => {
      const { lines } = build(s.n, s.every, s.salt);
      assert.deepEqual(verdict(editRecord(lines, k, (r) => change(r, field))), {
        code: 'EDITED',
        seq: k,
        fromSeq: undefined,
      });
    }),
    runs,
  );
});

test('edit with its own hash recomputed → the checkpoint at k, else BROKEN_LINK at k+1 naming k', () => {
  fc.assert(
    fc.property(setup, ({ s, k, field }) => {
      const { lines, isCp } = build(s.n, s.every, s.salt);
      const v = verdict(editRecord(lines, k, (r) => change(r, field), true));
      if (isCp(k)) assert.deepEqual([v.code, v.seq], ['CHECKPOINT_MISMATCH', k]);
      else assert.deepEqual(v, { code: 'BROKEN_LINK', seq: k + 1, fromSeq: k });
    }),
    runs,
  );
});

test('edit with the whole rest of the chain rehashed → CHECKPOINT_MISMATCH at the first checkpoint ≥ k', () => {
  fc.assert(
    fc.property(setup, ({ s, k, field }) => {
      const { lines, isCp } = build(s.n, s.every, s.salt);
      let l = editRecord(lines, k, (r) => change(r, field), true);
      for (let q = k + 1; q <= s.n; q++) {
        const prev = parse(l[recordAt(l, q - 1)]).hash as string;
        l = editRecord(l, q, (r) => (r.prevHash = prev), true);
      }
      let c = k;
      while (!isCp(c)) c++;
      const v = verdict(l);
      assert.deepEqual([v.code, v.seq], ['CHECKPOINT_MISMATCH', c]);
      assert.ok(v.fromSeq! <= k, `fromSeq ${v.fromSeq} covers ${k}`);
    }),
    runs,
  );
});

test('removal → REMOVED at k (TRUNCATED when k is the last, its checkpoint left behind)', () => {
  fc.assert(
    fc.property(setup, ({ s, k }) => {
      const { lines } = build(s.n, s.every, s.salt);
      const i = recordAt(lines, k);
      const v = verdict(lines.filter((_, j) => j !== i));
      assert.deepEqual([v.code, v.seq], [k < s.n ? 'REMOVED' : 'TRUNCATED', k]);
    }),
    runs,
  );
});

test('moving a record anywhere else → REORDERED at the first seq out of place', () => {
  fc.assert(
    fc.property(setup, ({ s, k, m }) => {
      fc.pre(m !== k);
      const { lines } = build(s.n, s.every, s.salt);
      const moved = lines[recordAt(lines, k)];
      const rest = lines.filter((l) => l !== moved);
      // Put it right before record m (m > k: after record m, so that it really moves).
      const at = m > k ? recordAt(rest, m) + 1 : recordAt(rest, m);
      rest.splice(at, 0, moved);
      const v = verdict(rest);
      assert.deepEqual([v.code, v.seq], ['REORDERED', Math.min(k, m)]);
    }),
    runs,
  );
});

test('insertion of a copy of record j anywhere → INSERTED at j', () => {
  fc.assert(
    fc.property(setup, fc.boolean(), ({ s, k, m }, atEnd) => {
      const { lines } = build(s.n, s.every, s.salt);
      const l = [...lines];
      l.splice(atEnd ? l.length : recordAt(l, k), 0, lines[recordAt(lines, m)]);
      const v = verdict(l);
      assert.deepEqual([v.code, v.seq], ['INSERTED', m]);
    }),
    runs,
  );
});

test('insertion of a forged record, correctly chained, before record k → INSERTED at k', () => {
  fc.assert(
    fc.property(setup, ({ s, k, field }) => {
      const { lines } = build(s.n, s.every, s.salt);
      const forged = parse(lines[recordAt(lines, k)]);
      change(forged, field);
      forged.hash = rehashed(forged);
      const l = [...lines];
      l.splice(recordAt(l, k), 0, JSON.stringify(forged));
      const v = verdict(l);
      assert.deepEqual([v.code, v.seq], ['INSERTED', k]);
    }),
    runs,
  );
});

test('prev_hash rewritten (with or without rehash) → BROKEN_LINK at k', () => {
  fc.assert(
    fc.property(setup, fc.boolean(), fc.stringMatching(/^[0-9a-f]{64}$/), ({ s, k }, rehash, h) => {
      const { lines } = build(s.n, s.every, s.salt);
      fc.pre(h !== parse(lines[recordAt(lines, k)]).prevHash);
      const v = verdict(editRecord(lines, k, (r) => (r.prevHash = h), rehash));
      assert.deepEqual([v.code, v.seq], ['BROKEN_LINK', k]);
    }),
    runs,
  );
});

test('seq field rewritten → EDITED at k', () => {
  fc.assert(
    fc.property(setup, fc.integer({ min: 1, max: 10_000 }), ({ s, k }, seq) => {
      fc.pre(seq !== k);
      const { lines } = build(s.n, s.every, s.salt);
      const v = verdict(editRecord(lines, k, (r) => (r.seq = seq)));
      assert.deepEqual([v.code, v.seq], ['EDITED', k]);
    }),
    runs,
  );
});

test('records cut from the tail, checkpoints kept → TRUNCATED at the first missing seq', () => {
  fc.assert(
    fc.property(setup, ({ s, k }) => {
      fc.pre(k < s.n);
      const { lines } = build(s.n, s.every, s.salt);
      const cut = lines.filter((l) => {
        const o = parse(l);
        return !(o.type === 'record' && (o.seq as number) > k);
      });
      const v = verdict(cut);
      assert.deepEqual([v.code, v.seq], ['TRUNCATED', k + 1]);
    }),
    runs,
  );
});

test('a clean random export always verifies, signed through its head', () => {
  fc.assert(
    fc.property(setup, ({ s }) => {
      const { lines } = build(s.n, s.every, s.salt);
      const rep = verifyExport(lines, trust);
      assert.deepEqual([rep.ok, rep.lastSeq, rep.signedThrough], [true, s.n, s.n]);
    }),
    { numRuns: 50 },
  );
});
