import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Spool } from './spool.ts';
import { EgressError } from './errors.ts';

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'spool-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
const b = (s: string) => Buffer.from(s);

test('spool: oldest first, survives reopen, seq never repeats', async (t) => {
  const dir = tempDir(t);
  let s = await Spool.open({ dir });
  for (const x of ['a', 'b', 'c']) await s.put(await s.reserveSeq(), b(x));
  await s.ack(1);
  await s.close();
  s = await Spool.open({ dir });
  assert.deepEqual(s.oldest(10), [2, 3]);
  assert.equal((await s.read(2))?.toString(), 'b');
  await s.ack(2);
  await s.ack(3);
  await s.close();
  s = await Spool.open({ dir });
  assert.equal(s.records, 0);
  assert.equal(await s.reserveSeq(), 4, 'an emptied spool still remembers its last seq');
  await s.close();
});

test('spool: drop-oldest keeps the bound and counts each drop', async (t) => {
  const s = await Spool.open({ dir: tempDir(t), maxRecords: 3 });
  t.after(() => s.close());
  for (let i = 0; i < 5; i++) await s.put(await s.reserveSeq(), b(`r${i}`));
  assert.deepEqual(s.oldest(10), [3, 4, 5]);
  assert.equal(s.stats.droppedOldest, 2);
  const big = await Spool.open({ dir: tempDir(t), maxBytes: 300 });
  t.after(() => big.close());
  for (let i = 0; i < 5; i++) await big.put(await big.reserveSeq(), Buffer.alloc(50, i));
  assert.ok(big.bytes <= 300, `${big.bytes} bytes held`);
  assert.deepEqual(big.oldest(10), [4, 5]); // 2 × (header 77 + 50) fit, 3 do not
  assert.equal(big.stats.droppedOldest, 3);
});

test('spool: refuse-new keeps what it has, refuses with EGRESS_SPOOL_FULL and counts', async (t) => {
  const s = await Spool.open({ dir: tempDir(t), maxRecords: 2, policy: 'refuse-new' });
  t.after(() => s.close());
  await s.put(1, b('a'));
  await s.put(2, b('b'));
  await assert.rejects(s.put(3, b('c')), (e: unknown) => (e as EgressError).code === 'EGRESS_SPOOL_FULL');
  await s.put(2, b('B')); // replacing a held record is not growth
  assert.deepEqual(s.oldest(10), [1, 2]);
  assert.equal(s.stats.refusedNew, 1);
  await assert.rejects(
    s.put(4, Buffer.alloc(s.maxBytes)),
    (e: unknown) => (e as EgressError).code === 'EGRESS_SPOOL_TOO_LARGE',
  );
  assert.equal(s.stats.tooLarge, 1);
});

test('spool: a torn or edited record is counted and skipped, never crashes; stray tmp files go', async (t) => {
  const dir = tempDir(t);
  let s = await Spool.open({ dir });
  for (const x of ['one', 'two', 'three', 'four']) await s.put(await s.reserveSeq(), b(x));
  await s.close();
  const q = join(dir, 'q');
  const files = readdirSync(q).sort();
  truncateSync(join(q, files[0]), 20); // torn
  writeFileSync(join(q, files[1]), 'SPR1 3 ' + '0'.repeat(64) + '\ntwo'); // wrong hash
  writeFileSync(join(q, files[2]), Buffer.from([0xff, 0, 1])); // garbage
  writeFileSync(join(q, '0000000000000009.rec.123.tmp'), 'half');
  s = await Spool.open({ dir });
  t.after(() => s.close());
  const got: string[] = [];
  for (const seq of s.oldest(10)) {
    const body = await s.read(seq);
    if (body) got.push(body.toString());
  }
  assert.deepEqual(got, ['four']);
  assert.equal(s.stats.torn, 3);
  assert.equal(s.records, 1);
  assert.ok(!readdirSync(q).some((f) => f.endsWith('.tmp')));
});

test('spool: one live holder per directory; a dead holder is taken over', async (t) => {
  const dir = tempDir(t);
  const s = await Spool.open({ dir });
  await assert.rejects(
    Spool.open({ dir }),
    (e: unknown) => (e as EgressError).code === 'EGRESS_SPOOL_LOCKED',
  );
  await s.close();
  writeFileSync(join(dir, 'LOCK'), '999999999\n'); // no such process
  const again = await Spool.open({ dir });
  await again.close();
  await assert.rejects(
    Spool.open({ dir, policy: 'drop-newest' as never }),
    (e: unknown) => (e as EgressError).code === 'EGRESS_INVALID_OPTIONS',
  );
});
