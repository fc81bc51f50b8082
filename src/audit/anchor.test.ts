// Anchors: the signer's extension rule, table-driven, and `verifyExport` against the customer's
// anchors (a rewrite the export's own checkpoints cannot show, a truncation, a forged anchor).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { anchorLines, extensionProblem, ANCHOR_ACTION } from './anchor.ts';
import { signCheckpoint } from './checkpoint.ts';
import { checkpointLine, recordLine, writeExport } from './export.ts';
import { appendRecord, hashRecord, type AuditRecord } from './record.ts';
import { chain, fixedKey, T0 } from './testkit.ts';
import { verifyExport } from './verify.ts';

/** `records` with record `seq` edited and every later one re-hashed (what a DB writer can do). */
function rewritten(records: AuditRecord[], seq: number): AuditRecord[] {
  const out = records.slice(0, seq - 1);
  for (const r of records.slice(seq - 1)) {
    const prevHash = out.at(-1)?.hash ?? r.prevHash;
    const subject = r.seq === seq ? 'grant:nothing-to-see' : r.subject;
    out.push({ ...r, subject, prevHash, hash: hashRecord(prevHash, { ...r, subject }) });
  }
  return out;
}

describe('extensionProblem: sign only a head that extends the anchor', () => {
  const recs = chain(12);
  const head = (rs: AuditRecord[], at = rs.length) => ({ seq: at, hash: rs[at - 1].hash });
  const anchor = { seq: 5, hash: recs[4].hash };
  const cases: [string, AuditRecord[], { seq: number; hash: string }, RegExp | undefined][] = [
    ['the chain grows from the anchor', recs.slice(4), head(recs), undefined],
    ['the head is the anchor itself', recs.slice(4, 5), head(recs, 5), undefined],
    [
      'a record before the anchor edited and rehashed',
      rewritten(recs, 3).slice(4),
      head(rewritten(recs, 3)),
      /rewritten/,
    ],
    [
      'the anchored record edited and rehashed',
      rewritten(recs, 5).slice(4),
      head(rewritten(recs, 5)),
      /rewritten/,
    ],
    ['records removed below the anchor', recs.slice(0, 3), head(recs, 3), /below the anchored seq/],
    ['the anchored record deleted', recs.slice(5), head(recs), /is gone/],
    ['a gap after the anchor', [...recs.slice(4, 6), ...recs.slice(7)], head(recs), /seq 7 is missing/],
    [
      'a record after the anchor edited without its hash',
      recs.slice(4).map((r) => (r.seq === 8 ? { ...r, subject: 'x' } : r)),
      head(recs),
      /seq 8: its contents/,
    ],
    ['a head that is not the chain end', recs.slice(4, 9), head(recs), /ends at seq 9/],
  ];
  for (const [name, chainFromAnchor, h, want] of cases)
    test(name, () => {
      const p = extensionProblem(anchor, h, chainFromAnchor);
      if (want === undefined) assert.equal(p, undefined);
      else assert.match(p ?? '', want);
    });
  test('an edit after the anchor, rehashed, is an extension: the window the anchor cannot see', () => {
    const r = rewritten(recs, 8);
    assert.equal(extensionProblem(anchor, head(r), r.slice(4)), undefined);
  });
});

describe('verifyExport with the customer anchors', () => {
  const key = fixedKey(3);
  const recs = chain(20);
  const anchorsAt = (rs: AuditRecord[], seqs: number[]) =>
    seqs.map((s, i) => ({ checkpoint: signCheckpoint(rs[s - 1], key, T0 + s), line: i + 1 }));
  const anchors = anchorsAt(recs, [5, 10, 15]);
  /** The export a DB writer produces: rewritten from `seq`, checkpoints ≥ seq gone. */
  const tampered = (seq: number) => {
    const rs = rewritten(recs, seq);
    return writeExport({
      records: rs,
      checkpoints: [5, 10, 15, 20]
        .filter((s) => s < seq)
        .map((s) => signCheckpoint(recs[s - 1], key, T0 + s)),
      keys: [key.verifyKey],
      exportedAt: T0 + 1e6,
    });
  };
  const trustedKeys = [key.verifyKey];

  test('an untouched export agrees with every anchor', () => {
    const text = writeExport({ records: recs, checkpoints: [], keys: [key.verifyKey], exportedAt: T0 });
    const rep = verifyExport(text, { trustedKeys, anchors });
    assert.equal(rep.ok, true, JSON.stringify(rep.failure));
    assert.deepEqual([rep.anchors, rep.anchoredThrough], [3, 15]);
  });

  test('a rewrite the export alone hides is named: the first anchor after it, from the last agreeing one', () => {
    const text = tampered(7);
    assert.equal(verifyExport(text, { trustedKeys }).ok, true, 'the control: no anchors, no finding');
    const f = verifyExport(text, { trustedKeys, anchors }).failure;
    assert.deepEqual([f?.code, f?.seq, f?.fromSeq, f?.anchorLine], ['ANCHOR_MISMATCH', 10, 6, 2]);
    const exact = verifyExport(tampered(10), { trustedKeys, anchors }).failure;
    assert.deepEqual([exact?.code, exact?.seq, exact?.fromSeq], ['ANCHOR_MISMATCH', 10, 6]);
  });

  test('an export cut before an anchored seq is TRUNCATED', () => {
    const text = writeExport({
      records: recs.slice(0, 12),
      checkpoints: [],
      keys: [key.verifyKey],
      exportedAt: T0,
    });
    const f = verifyExport(text, { trustedKeys, anchors }).failure;
    assert.deepEqual([f?.code, f?.seq, f?.anchorLine], ['TRUNCATED', 13, 3]);
  });

  test('an anchor not signed by a trusted key is BAD_ANCHOR, before anything else', () => {
    const text = writeExport({ records: recs, checkpoints: [], keys: [key.verifyKey], exportedAt: T0 });
    const forged = [{ checkpoint: signCheckpoint(recs[4], fixedKey(9), T0), line: 7 }];
    const f = verifyExport(text, { trustedKeys, anchors: forged }).failure;
    assert.deepEqual([f?.code, f?.anchorLine], ['BAD_ANCHOR', 7]);
    const altered = [{ checkpoint: { ...anchors[0].checkpoint, hash: recs[5].hash }, line: 1 }];
    assert.equal(verifyExport(text, { trustedKeys, anchors: altered }).failure?.code, 'BAD_ANCHOR');
  });
});

test('anchorLines reads checkpoint lines and the audit.anchor records of a local log', () => {
  const key = fixedKey(4);
  const cp = signCheckpoint(chain(3)[2], key, T0);
  let local: AuditRecord | undefined;
  const lines: string[] = [];
  local = appendRecord(local, {
    time: T0,
    actor: 'node:c',
    action: 'stream.served',
    subject: 's',
    details: {},
  });
  lines.push(recordLine(local));
  local = appendRecord(local, {
    time: T0,
    actor: 'node:c',
    action: ANCHOR_ACTION,
    subject: `audit:${cp.keyId}`,
    details: { ...cp, publicKey: key.verifyKey.base64() },
  });
  lines.push(recordLine(local), checkpointLine(cp));
  const got = anchorLines(lines.join('\n') + '\n');
  assert.deepEqual(got.problems, []);
  assert.deepEqual(
    got.anchors.map((a) => [a.line, a.checkpoint]),
    [
      [2, cp],
      [3, cp],
    ],
  );
  assert.deepEqual(
    anchorLines('{"type":"header"}\nnot json\n').problems.map((p) => p.line),
    [1, 2],
  );
});
