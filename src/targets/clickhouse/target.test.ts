import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { FakeClock } from '../../clock/index.ts';
import { TargetError } from '../errors.ts';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createClickHouseTarget, parseClickHouseOptions } from './target.ts';
import { parseVersion } from './version.ts';

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
  // Fail closed: mode defaults to router-auth; no target options at all is refused naming usersDir.
  assert.equal(parseClickHouseOptions({ usersDir: '/u' }, '127.0.0.1:8123').mode, 'router-auth');
  const cases: [unknown, string, string?][] = [
    [undefined, 'usersDir'],
    [null, 'target'],
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
    // native-cert cannot start without the admin user its version probe needs.
    await assert.rejects(
      b.start!({}),
      (e: TargetError) => e.code === 'TARGET_CONFIG' && /target\.admin/.test(e.message),
    );
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

test('native-cert: the version probe refuses it on every server, naming the fix', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sallyport-chprobe-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'pw'), 'admin-pw\n');
  let version = '18.16.1';
  const server = createServer((req, res) => {
    assert.equal(req.headers['x-clickhouse-user'], 'default');
    res.end(version + '\n');
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  t.after(() => server.close());
  const port = (server.address() as AddressInfo).port;
  const make = (address: string) =>
    createClickHouseTarget(
      {
        service: 'ch',
        deployment: 'd',
        address,
        options: {
          mode: 'native-cert',
          usersDir: join(dir, 'u'),
          admin: { user: 'default', passwordFile: join(dir, 'pw') },
        },
      },
      { clock: new FakeClock(), logger: pino({ level: 'silent' }), stateDir: dir, audit: { append() {} } },
    );
  const rows: [string, RegExp][] = [
    [
      '18.16.1',
      /ClickHouse 18\.16 cannot authenticate users by certificate \(needs ≥ 22\.3\): use mode router-auth/,
    ],
    ['22.2.3.5', /ClickHouse 22\.2 cannot authenticate/],
    ['23.8.2.7', /ClickHouse 23\.8 could check certificates itself.*use mode router-auth/],
    ['garbage', /could not read the server's version/],
  ];
  for (const [v, want] of rows) {
    version = v;
    const tg = make(`127.0.0.1:${port}`);
    await assert.rejects(tg.start!({}), (e: Error) => want.test(e.message), v);
    await tg.close();
  }
  // Unreachable server: refused too (fail closed), saying so.
  const closed = createServer();
  await new Promise<void>((ok) => closed.listen(0, '127.0.0.1', ok));
  const dead = (closed.address() as AddressInfo).port;
  await new Promise<void>((ok) => closed.close(() => ok()));
  const tg = make(`127.0.0.1:${dead}`);
  await assert.rejects(
    tg.start!({}),
    (e: TargetError) =>
      e.code === 'TARGET_UPSTREAM' && /cannot reach ClickHouse.*refusing to serve it/.test(e.message),
  );
  await tg.close();
  assert.deepEqual(parseVersion('18.16.1'), [18, 16]);
  assert.equal(parseVersion('v1'), undefined);
});
