import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDatabaseConfig } from './db.ts';
import { StoreError } from './errors.ts';

test('parseDatabaseConfig: postgres URLs, SQLite paths, and a multi-host URL refused with what to use', () => {
  assert.deepEqual(parseDatabaseConfig('postgres://u@db:5432/x'), {
    kind: 'postgres',
    url: 'postgres://u@db:5432/x',
  });
  assert.deepEqual(parseDatabaseConfig('postgresql://u:p,w@db/x?sslmode=require'), {
    kind: 'postgres',
    url: 'postgresql://u:p,w@db/x?sslmode=require',
  });
  assert.deepEqual(parseDatabaseConfig('/var/lib/sallyport/coordinator.db'), {
    kind: 'sqlite',
    path: '/var/lib/sallyport/coordinator.db',
  });
  for (const url of [
    'postgres://u@a:5432,b:5432/x',
    'postgresql://a,b/x',
    'postgres://u:p@a,b?target_session_attrs=read-write',
  ])
    assert.throws(
      () => parseDatabaseConfig(url),
      (e: unknown) =>
        e instanceof StoreError && e.code === 'INVALID' && /several hosts.*Database failover/.test(e.message),
      url,
    );
});
