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
