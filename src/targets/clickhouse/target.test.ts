import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { FakeClock } from '../../clock/index.ts';
import { TargetError } from '../errors.ts';
import { createClickHouseTarget, parseClickHouseOptions } from './target.ts';

const isConfig = (field: string) => (e: unknown) =>
  e instanceof TargetError && e.code === 'TARGET_CONFIG' && e.message.includes(field);

test('options: defaults, and each bad field named', () => {
  const o = parseClickHouseOptions(
    { mode: 'router-auth', usersDir: '/etc/clickhouse-server/users.d' },
    '127.0.0.1:8123',
  );
  assert.deepEqual(o.networks, ['127.0.0.1', '::1']);
  assert.equal(o.maxExecutionTime, 60);
  assert.equal(o.quota, 'default');
  assert.equal(o.admin, undefined);
  assert.deepEqual(
    parseClickHouseOptions({ mode: 'native-cert', usersDir: '/u' }, 'ch.internal:8123').networks,
    ['::/0'],
  );
  const cases: [unknown, string, string?][] = [
    [null, 'target'],
    [{ usersDir: '/u' }, 'mode'],
    [{ mode: 'x', usersDir: '/u' }, 'mode'],
    [{ mode: 'router-auth' }, 'usersDir'],
    [{ mode: 'router-auth', usersDir: 'relative' }, 'usersDir'],
    [{ mode: 'router-auth', usersDir: '/u', networks: [] }, 'networks'],
    [{ mode: 'router-auth', usersDir: '/u', networks: ['evil.example'] }, 'networks'],
    [{ mode: 'router-auth', usersDir: '/u', maxExecutionTime: -1 }, 'maxExecutionTime'],
    [{ mode: 'router-auth', usersDir: '/u', quota: 'a b' }, 'quota'],
    [{ mode: 'router-auth', usersDir: '/u', admin: { user: 'a b' } }, 'admin.user'],
    [
      { mode: 'router-auth', usersDir: '/u', admin: { user: 'a', passwordFile: '/nonexistent/pw' } },
      'admin.passwordFile',
    ],
    [{ mode: 'router-auth', usersDir: '/u', typo: 1 }, 'typo'],
    [{ mode: 'router-auth', usersDir: '/u' }, 'address', 'no-port'],
  ];
  for (const [opts, field, address] of cases) {
    assert.throws(() => parseClickHouseOptions(opts, address ?? '127.0.0.1:8123'), isConfig(field), field);
  }
});

test('the factory: router-auth has a proxy, native-cert only a reconciler; admin password read from its file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sallyport-chtarget-'));
  try {
    writeFileSync(join(dir, 'pw'), 'admin-pw\n');
    const deps = {
      clock: new FakeClock(),
      logger: pino({ level: 'silent' }),
      stateDir: dir,
      audit: { append() {} },
    };
    const base = { service: 'ch', deployment: 'd', address: '127.0.0.1:1' };
    const a = createClickHouseTarget(
      {
        ...base,
        options: {
          mode: 'router-auth',
          usersDir: join(dir, 'u'),
          admin: { user: 'default', passwordFile: join(dir, 'pw') },
        },
      },
      deps,
    );
    assert.ok(a.proxy && a.reconciler);
    await a.close();
    const b = createClickHouseTarget(
      { ...base, options: { mode: 'native-cert', usersDir: join(dir, 'u') } },
      deps,
    );
    assert.ok(!b.proxy && b.reconciler);
    await b.close();
    assert.equal(
      parseClickHouseOptions(
        { mode: 'router-auth', usersDir: '/u', admin: { user: 'd', passwordFile: join(dir, 'pw') } },
        '[::1]:8123',
      ).admin?.password,
      'admin-pw',
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
