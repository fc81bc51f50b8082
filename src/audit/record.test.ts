import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { AuditError } from './errors.ts';
import { GENESIS_PREV_HASH, appendRecord, hashRecord, recordBody, type AuditRecord } from './record.ts';
import { verifyChain } from './verify.ts';
import { chain, T0 } from './testkit.ts';

const fields = {
  time: T0,
  actor: 'user:alice',
  action: 'request.create',
  subject: 'request:r1',
  details: {},
};

describe('records and the hash chain', () => {
  test('record 1 links to 32 zero bytes; hash = SHA-256(prev bytes ‖ JCS(body)), recomputed here by hand', () => {
    const r1 = appendRecord(undefined, { ...fields, details: { reason: 'INC-42', for: 7_200_000 } });
    assert.equal(r1.seq, 1);
    assert.equal(r1.prevHash, GENESIS_PREV_HASH);
    assert.equal(GENESIS_PREV_HASH, '00'.repeat(32));
    const body =
      '{"action":"request.create","actor":"user:alice","details":{"for":7200000,"reason":"INC-42"},' +
      `"seq":1,"subject":"request:r1","time":${T0}}`;
    assert.equal(recordBody(r1), body);
    const want = createHash('sha256').update(Buffer.alloc(32)).update(body).digest('hex');
    assert.equal(r1.hash, want);
    const r2 = appendRecord(r1, { ...fields, action: 'request.approve', actor: 'user:bob' });
    assert.equal(r2.seq, 2);
    assert.equal(r2.prevHash, r1.hash);
    assert.equal(r2.hash, hashRecord(r1.hash, r2));
    assert.notEqual(r2.hash, hashRecord(GENESIS_PREV_HASH, r2), 'the previous hash is bound in');
  });

  test('the same chain as the store writes (store/audit.ts appendAudit), fixed vector', () => {
    // Frozen so that a change to canonical JSON or the hash input shows up as a test failure.
    const r = appendRecord(undefined, {
      time: 1_700_000_000_000,
      actor: 'admin',
      action: 'deployment.create',
      subject: 'deployment:acme-prod',
      details: { region: 'us-east-1', cloud: 'aws', id: 'd1' },
    });
    const body =
      '{"action":"deployment.create","actor":"admin","details":{"cloud":"aws","id":"d1","region":"us-east-1"},' +
      '"seq":1,"subject":"deployment:acme-prod","time":1700000000000}';
    assert.equal(r.hash, createHash('sha256').update(Buffer.alloc(32)).update(body).digest('hex'));
  });

  test('a chain of 1,000 records verifies; its head commits to all of it', () => {
    const c = chain(1000);
    const rep = verifyChain(c);
    assert.equal(rep.ok, true, JSON.stringify(rep.failure));
    assert.equal(rep.lastSeq, 1000);
    assert.equal(rep.headHash, c[999].hash);
    const other = chain(1000, 1);
    assert.notEqual(other[999].hash, c[999].hash);
  });

  test('verifyChain names the first bad record of an in-memory list', () => {
    const c = chain(20);
    const edited: AuditRecord[] = c.map((r) => (r.seq === 7 ? { ...r, actor: 'user:mallory' } : r));
    assert.deepEqual([verifyChain(edited).failure?.code, verifyChain(edited).failure?.seq], ['EDITED', 7]);
    const gap = c.filter((r) => r.seq !== 12);
    assert.deepEqual([verifyChain(gap).failure?.code, verifyChain(gap).failure?.seq], ['REMOVED', 12]);
    const bad = [...c.slice(0, 3), { ...c[3], details: 'x' as unknown as Record<string, unknown> }];
    assert.deepEqual([verifyChain(bad).failure?.code, verifyChain(bad).failure?.line], ['MALFORMED', 4]);
  });

  test('appendRecord refuses what cannot be hashed or read back', () => {
    const bad: [string, object][] = [
      ['time not an integer', { time: 1.5 }],
      ['negative time', { time: -1 }],
      ['empty actor', { actor: '' }],
      ['a lone surrogate in the subject', { subject: 'grant:\ud800' }],
      ['huge subject', { subject: 'x'.repeat(2000) }],
      ['details an array', { details: [] }],
      ['details null', { details: null }],
      ['NaN in details', { details: { n: NaN } }],
      ['undefined in details', { details: { n: undefined } }],
      ['a Date in details', { details: { at: new Date(0) } }],
      ['huge details', { details: { s: 'x'.repeat(70_000) } }],
    ];
    for (const [what, patch] of bad)
      assert.throws(
        () => appendRecord(undefined, { ...fields, ...patch } as typeof fields),
        (e: unknown) => e instanceof AuditError && e.code === 'RECORD_INVALID',
        what,
      );
    assert.throws(() => appendRecord({ seq: 0, hash: 'zz' } as AuditRecord, fields), {
      code: 'RECORD_INVALID',
    });
    assert.throws(() => hashRecord('00', { seq: 1, ...fields }), { code: 'RECORD_INVALID' });
  });
});
