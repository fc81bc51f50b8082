import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { exportLines, parseLine, writeExport, EXPORT_FORMAT } from './export.ts';
import { keyIdOf, signCheckpoint } from './checkpoint.ts';
import { verifyExport } from './verify.ts';
import { chain, checkpoints, fixedKey, T0 } from './testkit.ts';

const key = fixedKey(5);

describe('export format', () => {
  test('header first, then records in order, each checkpoint right after its record, orphans last', () => {
    const records = chain(7);
    const cps = [...checkpoints(records, key, 3), signCheckpoint({ seq: 9, hash: 'a'.repeat(64) }, key, T0)];
    const lines = [
      ...exportLines({ records, checkpoints: cps.reverse(), keys: [key.verifyKey], exportedAt: T0 }),
    ];
    const shape = lines.map((l) => {
      const p = parseLine(l);
      return p.kind === 'record'
        ? `r${p.record.seq}`
        : p.kind === 'checkpoint'
          ? `c${p.checkpoint.seq}`
          : p.kind;
    });
    assert.deepEqual(shape, ['header', 'r1', 'r2', 'r3', 'c3', 'r4', 'r5', 'r6', 'c6', 'r7', 'c7', 'c9']);
    assert.equal(
      lines[0],
      `{"exportedAt":${T0},"format":"${EXPORT_FORMAT}","keys":[{"keyId":"${keyIdOf(key.verifyKey)}",` +
        `"publicKey":"${key.verifyKey.base64()}"}],"type":"header","version":1}`,
    );
    // Every line is canonical JSON: keys sorted, no whitespace.
    for (const l of lines) assert.equal(JSON.stringify(JSON.parse(l)).length, l.length);
    const rec = parseLine(lines[1]);
    assert.deepEqual(rec.kind === 'record' && rec.record, records[0]);
  });

  test('strict by default; lenient writes bad records as they are, for the verifier to name', () => {
    const records = chain(5);
    const bad = records.map((r) => (r.seq === 3 ? { ...r, actor: 'a\ud800' } : r));
    const input = { records: bad, checkpoints: [], keys: [], exportedAt: T0 };
    assert.throws(() => writeExport(input), { code: 'RECORD_INVALID' });
    const text = writeExport({ ...input, lenient: true });
    const rep = verifyExport(text);
    assert.deepEqual([rep.failure?.code, rep.failure?.seq, rep.failure?.line], ['MALFORMED', 3, 4]);
    assert.match(rep.failure!.message, /lone surrogate/);
  });
});

describe('scoped exports (a customer): records outside the scope are elided', () => {
  const records = chain(9);
  const cps = checkpoints(records, key, 3);
  const scoped = (shown: (seq: number) => boolean) => [
    ...exportLines({
      records,
      checkpoints: cps,
      keys: [key.verifyKey],
      exportedAt: T0,
      shown: (r) => shown(r.seq),
    }),
  ];
  const even = (s: number) => s % 2 === 0;

  test('the chain and the checkpoints verify across elided records; the report counts them', () => {
    const lines = scoped(even);
    assert.equal(lines.filter((l) => l.includes('"type":"elided"')).length, 5);
    assert.ok(lines.filter((l) => l.includes('"type":"elided"')).every((l) => !l.includes('"actor"')));
    const rep = verifyExport(lines, { trustedKeys: [key.verifyKey] });
    assert.ok(rep.ok, JSON.stringify(rep.failure));
    assert.equal(rep.records, 9);
    assert.equal(rep.elided, 5);
    assert.equal(rep.signedThrough, 9);
    assert.ok(rep.notes.some((n) => n.includes('5 records are elided')));
  });

  test('a shown record edited, an elided one removed, or an elided hash changed: each is caught', () => {
    const lines = scoped(even);
    const at = (seq: number) =>
      lines.findIndex((l) => JSON.parse(l).seq === seq && !l.includes('checkpoint'));
    const edited = [...lines];
    edited[at(4)] = edited[at(4)].replace(/"actor":"[^"]*"/, '"actor":"mallory"');
    assert.equal(verifyExport(edited, { trustedKeys: [key.verifyKey] }).failure?.code, 'EDITED');
    const removed = lines.filter((_, i) => i !== at(5));
    assert.equal(verifyExport(removed, { trustedKeys: [key.verifyKey] }).failure?.code, 'REMOVED');
    const swapped = [...lines];
    swapped[at(5)] = swapped[at(5)].replace(/"hash":"[0-9a-f]{64}"/, `"hash":"${'b'.repeat(64)}"`);
    assert.equal(verifyExport(swapped, { trustedKeys: [key.verifyKey] }).failure?.code, 'BROKEN_LINK');
    // The last record elided and its hash changed: the checkpoint over it catches it.
    const tail = scoped((s) => s !== 9);
    const i9 = tail.findIndex((l) => l.includes('"type":"elided"'));
    tail[i9] = tail[i9].replace(/"hash":"[0-9a-f]{64}"/, `"hash":"${'c'.repeat(64)}"`);
    assert.equal(verifyExport(tail, { trustedKeys: [key.verifyKey] }).failure?.code, 'CHECKPOINT_MISMATCH');
    assert.equal(parseLine('{"hash":"x","prevHash":"y","seq":1,"type":"elided"}').kind, 'malformed');
  });
});
