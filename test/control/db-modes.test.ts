// The coordinator's SQLite database holds password hashes and token hashes: the file and its WAL
// and shared-memory files are created 0600, whatever the process umask, and stay so after writes
// and a restart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { startFixture } from './fixture.ts';
import { routes } from '../../src/control/index.ts';

test('coordinator.db, -wal and -shm are 0600 after start, writes and a restart', async (t) => {
  const old = process.umask(0o022);
  t.after(() => process.umask(old));
  const f = await startFixture();
  t.after(() => f.stop());
  const modes = () => {
    const out: Record<string, string> = {};
    for (const suffix of ['', '-wal', '-shm']) {
      const file = join(f.dir, `coordinator.db${suffix}`);
      if (existsSync(file)) out[`coordinator.db${suffix}`] = (statSync(file).mode & 0o777).toString(8);
    }
    return out;
  };
  const want = { 'coordinator.db': '600', 'coordinator.db-wal': '600', 'coordinator.db-shm': '600' };
  assert.deepEqual(modes(), want, 'after start');
  for (let i = 0; i < 20; i++) await f.admin.route(routes.groupsCreate, { body: { name: `g${i}` } });
  assert.deepEqual(modes(), want, 'after writes');
  await f.restart();
  await f.admin.route(routes.groupsCreate, { body: { name: 'after-restart' } });
  assert.deepEqual(modes(), want, 'after a restart');
});
