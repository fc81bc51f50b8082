import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { recordFile, rememberUsersDir, serviceStateDir, sweepLeftoverUsers } from './leftovers.ts';

test('leftover grant users: only ours, only in remembered directories no target uses now', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'sallyport-leftovers-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const state = join(root, 'state');
  const [old, kept, foreign] = ['old', 'kept', 'foreign'].map((d) => join(root, d));
  for (const d of [old, kept, foreign]) mkdirSync(d);
  for (const d of [old, kept, foreign]) {
    writeFileSync(join(d, 'sallyport-sp_alice_g1_0123abcd.xml'), '<yandex/>');
    writeFileSync(join(d, 'customer.xml'), '<yandex/>');
  }
  const pw = join(serviceStateDir(state, 'ch'), 'passwords');
  mkdirSync(pw, { recursive: true });
  writeFileSync(join(pw, 'sp_alice_g1_0123abcd.password'), 'x');
  rememberUsersDir(state, 'ch', old);
  rememberUsersDir(state, 'ch2', kept);
  rememberUsersDir(state, 'ch2', kept); // once
  assert.equal(JSON.parse(readFileSync(recordFile(state), 'utf8')).dirs.length, 2);

  const audit: string[] = [];
  const removed = await sweepLeftoverUsers(state, new Set([kept]), {
    logger: pino({ level: 'silent' }),
    audit: { append: (action, subject) => audit.push(`${action} ${subject}`) },
  });
  assert.deepEqual(removed, ['sp_alice_g1_0123abcd']);
  assert.deepEqual(readdirSync(old), ['customer.xml']);
  assert.equal(readdirSync(kept).length, 2, 'a directory still in use is left to its target');
  assert.equal(readdirSync(foreign).length, 2, 'a directory never written is never touched');
  assert.ok(!existsSync(join(pw, 'sp_alice_g1_0123abcd.password')));
  assert.deepEqual(audit, ['clickhouse.user.removed clickhouse:sp_alice_g1_0123abcd']);
  // The emptied directory is forgotten; the one in use stays remembered.
  assert.deepEqual(
    JSON.parse(readFileSync(recordFile(state), 'utf8')).dirs.map((e: { service: string }) => e.service),
    ['ch2'],
  );
  // No record at all (a connector that never had a clickhouse target): nothing to do.
  assert.deepEqual(
    await sweepLeftoverUsers(join(root, 'none'), new Set(), {
      logger: pino({ level: 'silent' }),
      audit: { append() {} },
    }),
    [],
  );
});
