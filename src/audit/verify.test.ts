import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { signCheckpoint } from './checkpoint.ts';
import { checkpointLine, writeExport } from './export.ts';
import { GENESIS_PREV_HASH } from './record.ts';
import { verifyExport, type VerifyReport } from './verify.ts';
import {
  T0,
  chain,
  checkpoints,
  editRecord,
  exportOf,
  fixedKey,
  parseLineObject as parse,
  recordAt,
  rehashed,
} from './testkit.ts';

const key = fixedKey(1);
const trust = { trustedKeys: [key.verifyKey] };
const failure = (r: VerifyReport) => [r.failure?.code, r.failure?.seq];

describe('verifyExport: a clean export', () => {
  test('1,000 records with checkpoints every 100 verify, signed through the head', () => {
    const records = chain(1000);
    const lines = exportOf(records, key, 100);
    assert.equal(lines.length, 1 + 1000 + 10);
    const rep = verifyExport(lines, trust);
    assert.equal(rep.ok, true, JSON.stringify(rep.failure));
    assert.deepEqual(
      [rep.records, rep.lastSeq, rep.headHash, rep.checkpoints, rep.signedThrough, rep.trusted],
      [1000, 1000, records[999].hash, 10, 1000, true],
    );
    assert.deepEqual(rep.notes, []);
    // As text, with its final newline, and with Windows line ends.
    assert.equal(verifyExport(lines.join('\n') + '\n', trust).ok, true);
    assert.equal(verifyExport(lines.join('\r\n') + '\r\n', trust).ok, true);
  });

  test('an empty log exports and verifies', () => {
    const rep = verifyExport(exportOf([], key, 10), trust);
    assert.deepEqual([rep.ok, rep.lastSeq, rep.headHash], [true, 0, GENESIS_PREV_HASH]);
  });

  test('without trusted keys it checks against the header keys, and says what that is worth', () => {
    const rep = verifyExport(exportOf(chain(10), key, 5));
    assert.equal(rep.ok, true);
    assert.equal(rep.trusted, false);
    assert.match(rep.notes.join(' '), /whoever wrote the file controls/);
  });

  test('records after the last checkpoint are chain-checked and reported as unsigned', () => {
    const records = chain(25);
    const text = writeExport({
      records,
      checkpoints: checkpoints(records.slice(0, 20), key, 10),
      keys: [key.verifyKey],
      exportedAt: T0,
    });
    const rep = verifyExport(text, trust);
    assert.deepEqual([rep.ok, rep.signedThrough, rep.lastSeq], [true, 20, 25]);
    assert.match(rep.notes.join(' '), /records 21\.\.25 .*cannot be seen in the export alone/);
    assert.deepEqual(failure(verifyExport(text, { ...trust, requireSigned: true })), ['UNSIGNED', 21]);
    // ...and are still chain-checked.
    const edited = editRecord(text.split('\n').slice(0, -1), 23, (r) => (r.actor = 'user:mallory'));
    assert.deepEqual(failure(verifyExport(edited, trust)), ['EDITED', 23]);
  });

  test('checkpoint lines may come anywhere after the header', () => {
    const lines = exportOf(chain(30), key, 10);
    const cps = lines.filter((l) => parse(l).type === 'checkpoint');
    const recs = lines.filter((l) => parse(l).type === 'record');
    for (const order of [
      [lines[0], ...cps, ...recs],
      [lines[0], ...recs, ...cps],
    ]) {
      const rep = verifyExport(order, trust);
      assert.deepEqual([rep.ok, rep.signedThrough, rep.checkpoints], [true, 30, 3]);
    }
  });
});

describe('verifyExport: tampering, named at the first bad seq', () => {
  const records = chain(40);
  const lines = exportOf(records, key, 10);

  test('edited field (hash kept) → EDITED at that seq', () => {
    for (const [field, value] of [
      ['actor', 'user:mallory'],
      ['action', 'grant.create'],
      ['subject', 'grant:other'],
      ['time', T0 + 1],
      ['details', { i: 0 }],
      ['hash', 'f'.repeat(64)],
    ] as const) {
      const rep = verifyExport(
        editRecord(lines, 17, (r) => (r[field] = value)),
        trust,
      );
      assert.deepEqual(failure(rep), ['EDITED', 17], field);
      assert.equal(rep.failure!.line, recordAt(lines, 17) + 1);
      assert.equal(rep.lastSeq, 16);
    }
  });

  test('edited and rehashed → BROKEN_LINK at the next seq, naming both', () => {
    const rep = verifyExport(
      editRecord(lines, 17, (r) => (r.actor = 'user:mallory'), true),
      trust,
    );
    assert.deepEqual(failure(rep), ['BROKEN_LINK', 18]);
    assert.equal(rep.failure!.fromSeq, 17);
  });

  test('edited, with the rest of the chain rehashed → CHECKPOINT_MISMATCH at the next checkpoint', () => {
    let l = editRecord(lines, 17, (r) => (r.actor = 'user:mallory'), true);
    for (let s = 18; s <= 40; s++) {
      const prev = parse(l[recordAt(l, s - 1)]).hash as string;
      l = editRecord(l, s, (r) => (r.prevHash = prev), true);
    }
    const rep = verifyExport(l, trust);
    assert.deepEqual(failure(rep), ['CHECKPOINT_MISMATCH', 20]);
    assert.equal(rep.failure!.fromSeq, 11);
  });

  test('a validly signed checkpoint over another hash → CHECKPOINT_MISMATCH', () => {
    const wrong = checkpointLine(
      signCheckpoint({ seq: 5, hash: records[4].hash.replace(/^./, 'a') }, key, T0),
    );
    const l = [...lines];
    l.splice(recordAt(l, 5) + 1, 0, wrong);
    assert.deepEqual(failure(verifyExport(l, trust)), ['CHECKPOINT_MISMATCH', 5]);
  });

  test('removed, reordered, inserted, relinked, truncated', () => {
    const del = (l: string[], i: number) => l.filter((_, j) => j !== i);
    assert.deepEqual(failure(verifyExport(del(lines, recordAt(lines, 1)), trust)), ['REMOVED', 1]);
    assert.deepEqual(failure(verifyExport(del(lines, recordAt(lines, 25)), trust)), ['REMOVED', 25]);
    const swapped = [...lines];
    [swapped[recordAt(lines, 25)], swapped[recordAt(lines, 26)]] = [
      lines[recordAt(lines, 26)],
      lines[recordAt(lines, 25)],
    ];
    assert.deepEqual(failure(verifyExport(swapped, trust)), ['REORDERED', 25]);
    const dup = [...lines];
    dup.splice(recordAt(lines, 30), 0, lines[recordAt(lines, 12)]);
    assert.deepEqual(failure(verifyExport(dup, trust)), ['INSERTED', 12]);
    const relinked = editRecord(lines, 9, (r) => (r.prevHash = 'e'.repeat(64)), true);
    assert.deepEqual(failure(verifyExport(relinked, trust)), ['BROKEN_LINK', 9]);
    const first = editRecord(lines, 1, (r) => (r.prevHash = 'e'.repeat(64)), true);
    assert.deepEqual(failure(verifyExport(first, trust)), ['BROKEN_LINK', 1]);
    const seqEdit = editRecord(lines, 9, (r) => (r.seq = 90));
    assert.deepEqual(failure(verifyExport(seqEdit, trust)), ['EDITED', 9]);
    // Records cut from the tail, the last checkpoint kept: TRUNCATED at the first missing seq.
    const cut = lines.filter((l) => {
      const o = parse(l);
      return !(o.type === 'record' && (o.seq as number) > 33);
    });
    const rep = verifyExport(cut, trust);
    assert.deepEqual(failure(rep), ['TRUNCATED', 34]);
    assert.match(rep.failure!.message, /covers seq 40 but the export ends at seq 33/);
  });

  test('a tail cut together with its checkpoints looks like an older export; expectSeq catches it', () => {
    const cut = lines.slice(0, recordAt(lines, 30) + 2); // through the checkpoint at 30
    const rep = verifyExport(cut, trust);
    assert.deepEqual([rep.ok, rep.lastSeq, rep.signedThrough], [true, 30, 30]);
    assert.deepEqual(failure(verifyExport(cut, { ...trust, expectSeq: 40 })), ['TRUNCATED', 31]);
    assert.equal(verifyExport(lines, { ...trust, expectSeq: 40 }).ok, true);
  });

  test('a forged record chained in before the real one → INSERTED at its seq', () => {
    const real = parse(lines[recordAt(lines, 8)]);
    const forged: Record<string, unknown> = { ...real, actor: 'user:mallory' };
    forged.hash = rehashed(forged);
    const l = [...lines];
    l.splice(recordAt(lines, 8), 0, JSON.stringify(forged));
    assert.deepEqual(failure(verifyExport(l, trust)), ['INSERTED', 8]);
  });

  test('appending a well-chained record after the last checkpoint is not detectable, only unsigned', () => {
    const last = parse(lines[recordAt(lines, 40)]);
    const extra: Record<string, unknown> = { ...last, seq: 41, prevHash: last.hash, subject: 'grant:sneaky' };
    extra.hash = rehashed(extra);
    const rep = verifyExport([...lines, JSON.stringify(extra)], trust);
    assert.deepEqual([rep.ok, rep.lastSeq, rep.signedThrough], [true, 41, 40]);
    assert.equal(rep.notes.length, 1);
  });
});

describe('verifyExport: checkpoint signatures and keys', () => {
  const records = chain(20);
  const lines = exportOf(records, key, 5);
  const cpAt = (l: string[], seq: number) =>
    l.findIndex((x) => parse(x).type === 'checkpoint' && parse(x).seq === seq);

  test('a flipped signature bit, or an edited signed field → BAD_CHECKPOINT_SIGNATURE', () => {
    const i = cpAt(lines, 10);
    const cp = parse(lines[i]);
    const sig = Buffer.from(cp.signature as string, 'base64');
    sig[0] ^= 0x80;
    for (const patch of [{ signature: sig.toString('base64') }, { time: (cp.time as number) + 1 }]) {
      const l = [...lines];
      l[i] = JSON.stringify({ ...cp, ...patch });
      const rep = verifyExport(l, trust);
      assert.deepEqual(failure(rep), ['BAD_CHECKPOINT_SIGNATURE', 10]);
      assert.equal(rep.failure!.line, i + 1);
    }
  });

  test('a chain rewritten and re-signed by another key: UNTRUSTED_KEY with trust, passes without', () => {
    const mallory = fixedKey(9);
    const forged = exportOf(chain(20, 3), mallory, 5);
    const rep = verifyExport(forged, trust);
    assert.deepEqual(failure(rep), ['UNTRUSTED_KEY', 5]);
    const naive = verifyExport(forged);
    assert.deepEqual([naive.ok, naive.trusted], [true, false]);
    // Mallory claiming our keyId does not help.
    const l = forged.map((x) => {
      const o = parse(x);
      return o.type === 'checkpoint'
        ? JSON.stringify({ ...o, keyId: lines.map(parse).find((c) => c.keyId)!.keyId })
        : x;
    });
    assert.deepEqual(failure(verifyExport(l, trust)), ['BAD_CHECKPOINT_SIGNATURE', 5]);
  });

  test('an empty trusted list trusts nothing', () => {
    assert.deepEqual(failure(verifyExport(lines, { trustedKeys: [] })), ['UNTRUSTED_KEY', 5]);
  });

  test('keys listed in the header must match their ids', () => {
    const h = parse(lines[0]) as { keys: { keyId: string }[] };
    h.keys[0].keyId = '0123456789abcdef';
    const rep = verifyExport([JSON.stringify(h), ...lines.slice(1)], trust);
    assert.deepEqual([rep.failure?.code, rep.failure?.line], ['MALFORMED', 1]);
  });
});

describe('verifyExport: malformed input never throws', () => {
  const lines = exportOf(chain(12), key, 4);

  test('table of broken lines → MALFORMED with the line number', () => {
    const rec = parse(lines[recordAt(lines, 5)]);
    const cases: [string, string][] = [
      ['not JSON', '{"type":"record",'],
      ['an array', '[]'],
      ['a number', '42'],
      ['empty line', ''],
      ['unknown type', '{"type":"note"}'],
      ['an extra member', JSON.stringify({ ...rec, note: 'unhashed' })],
      ['a missing member', JSON.stringify({ ...rec, details: undefined })],
      ['seq as a string', JSON.stringify({ ...rec, seq: '5' })],
      ['upper-case hash', JSON.stringify({ ...rec, hash: (rec.hash as string).toUpperCase() })],
      ['details an array', JSON.stringify({ ...rec, details: [] })],
      ['a number too big', JSON.stringify(rec).replace('"details":{', '"details":{"big":1e400,')],
      ['a lone surrogate', JSON.stringify({ ...rec, actor: 'a\ud800' })],
      ['a second header', lines[0]],
      ['an overlong line', JSON.stringify({ ...rec, subject: 'x'.repeat(300_000) })],
    ];
    for (const [what, bad] of cases) {
      const l = [...lines];
      const i = recordAt(lines, 5);
      l[i] = bad;
      const rep = verifyExport(l, trust);
      assert.deepEqual([rep.failure?.code, rep.failure?.line], ['MALFORMED', i + 1], what);
      assert.equal(rep.lastSeq, 4, what);
    }
    for (const first of ['', 'garbage', lines[1], JSON.stringify({ ...parse(lines[0]), version: 2 })]) {
      const rep = verifyExport([first, ...lines.slice(1)], trust);
      assert.deepEqual([rep.failure?.code, rep.failure?.line], ['MALFORMED', 1]);
    }
    assert.deepEqual(verifyExport('', trust).failure?.code, 'MALFORMED');
  });

  test('property: random text, random lines and mutated exports give a report, never a throw', () => {
    const text = lines.join('\n');
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: 'binary', maxLength: 300 }),
          fc.array(fc.string({ maxLength: 40 }), { maxLength: 10 }),
          fc
            .tuple(fc.nat(text.length), fc.nat(40), fc.string({ unit: 'binary', maxLength: 20 }))
            .map(([at, del, ins]) => text.slice(0, at) + ins + text.slice(at + del)),
        ),
        (input) => {
          const rep = verifyExport(input, trust);
          assert.equal(typeof rep.ok, 'boolean');
          if (!rep.ok) assert.ok(rep.failure!.line >= 1 && rep.failure!.message.length > 0);
        },
      ),
      { numRuns: 500 },
    );
  });
});
