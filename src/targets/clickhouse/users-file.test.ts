import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { TargetError } from '../errors.ts';
import { nativeGrants, renderUsersFile, validateUsersFile, type UsersFileSpec } from './users-file.ts';
import { childrenNamed, parseXml, textOf, type XmlElement } from './xml.ts';

const router: UsersFileSpec = {
  mode: 'router-auth',
  user: 'sp_alice_g_1_0011aabb',
  grantId: 'g-1',
  passwordSha256: createHash('sha256').update('pw').digest('hex'),
  networks: ['127.0.0.1', '::1'],
  maxExecutionTime: 60,
  quota: 'default',
  access: 'read-only',
};
const native: UsersFileSpec = {
  ...router,
  mode: 'native-cert',
  passwordSha256: undefined,
  commonName: 'alice',
};

const at = (n: XmlElement, ...path: string[]): XmlElement =>
  path.reduce((e, p) => {
    const c = childrenNamed(e, p);
    assert.equal(c.length, 1, `one <${p}> in <${e.name}>`);
    return c[0]!;
  }, n);

test('router-auth: readonly profile with query logging, system database only, password hash only', () => {
  const xml = renderUsersFile(router);
  const r = parseXml(xml);
  assert.equal(r.name, 'yandex'); // ClickHouse 18.16 wants <yandex>
  const p = at(r, 'profiles', router.user);
  assert.equal(textOf(at(p, 'readonly')), '1');
  assert.equal(textOf(at(p, 'log_queries')), '1');
  const u = at(r, 'users', router.user);
  assert.equal(textOf(at(u, 'password_sha256_hex')), router.passwordSha256);
  assert.deepEqual(childrenNamed(at(u, 'allow_databases'), 'database').map(textOf), ['system']);
  assert.equal(textOf(at(u, 'profile')), router.user);
  assert.deepEqual(childrenNamed(at(u, 'networks'), 'ip').map(textOf), ['127.0.0.1', '::1']);
  assert.ok(!xml.includes('<password>'), 'never the password itself');
});

test("native-cert: ClickHouse's documented format (ssl_certificates/common_name, grants/query)", () => {
  const xml = renderUsersFile(native);
  const r = parseXml(xml);
  assert.equal(r.name, 'clickhouse');
  const u = at(r, 'users', native.user);
  assert.equal(textOf(at(u, 'ssl_certificates', 'common_name')), 'alice');
  assert.equal(childrenNamed(u, 'password_sha256_hex').length, 0);
  assert.equal(childrenNamed(u, 'allow_databases').length, 0, 'grants and allow_databases do not mix');
  assert.equal(textOf(at(r, 'profiles', native.user, 'log_comment')), 'g-1');
  const grants = childrenNamed(at(u, 'grants'), 'query').map((q) => textOf(q)!);
  assert.ok(grants.includes('GRANT SELECT ON system.tables') === false, 'tables hides create_table_query');
  assert.ok(grants.includes('GRANT SELECT ON system.one'));
  const ql = grants.find((g) => g.endsWith(' ON system.query_log'))!;
  assert.match(ql, /^GRANT SELECT\(type, event_date, event_time, .*\) ON system\.query_log$/);
  const cols = ql.slice('GRANT SELECT('.length, ql.indexOf(')')).split(', ');
  for (const hidden of ['query', 'exception', 'stack_trace', 'quota_key', 'Settings.Values']) {
    assert.ok(!cols.includes(hidden) && !cols.includes(`\`${hidden}\``), hidden);
  }
  assert.ok(cols.includes('`ProfileEvents.Names`'), 'dotted names are quoted');
  assert.ok(grants.every((g) => /^GRANT SELECT(\(.+\))? ON system\.[a-z_]+$/.test(g)));
  assert.equal(grants.length, nativeGrants().length);
});

test('per access level: read-only is readonly=1; read-write and admin readonly=2 (settings, never writes)', () => {
  for (const spec of [router, native]) {
    const level = (access: UsersFileSpec['access']) =>
      textOf(at(parseXml(renderUsersFile({ ...spec, access })), 'profiles', spec.user, 'readonly'));
    assert.equal(level('read-only'), '1');
    assert.equal(level('read-write'), '2');
    assert.equal(level('admin'), '2');
    // Never readonly=0, and the databases do not widen with the level.
    const xml = renderUsersFile({ ...spec, access: 'admin' });
    assert.ok(!xml.includes('<readonly>0</readonly>'));
    if (spec.mode === 'router-auth')
      assert.deepEqual(
        childrenNamed(at(parseXml(xml), 'users', spec.user, 'allow_databases'), 'database').map(textOf),
        ['system'],
      );
    // A file saying more than its grant's level is refused.
    assert.throws(
      () =>
        validateUsersFile(renderUsersFile({ ...spec, access: 'read-write' }), {
          ...spec,
          access: 'read-only',
        }),
      (e: unknown) => e instanceof TargetError && e.code === 'TARGET_CONFIG',
    );
  }
});

test('names and values are escaped; a CN with markup stays text', () => {
  const cn = 'eve</common_name><password>x</password>';
  const xml = renderUsersFile({ ...native, commonName: cn });
  assert.ok(xml.includes('eve&lt;/common_name&gt;&lt;password&gt;x&lt;/password&gt;'));
  assert.equal(textOf(at(parseXml(xml), 'users', native.user, 'ssl_certificates', 'common_name')), cn);
});

test('validation refuses any file that would mean something else', () => {
  const good = renderUsersFile(router);
  const cases: [string, string][] = [
    ['readonly 0', good.replace('<readonly>1</readonly>', '<readonly>0</readonly>')],
    ['no log_queries', good.replace('<log_queries>1</log_queries>', '')],
    [
      'another database',
      good.replace('<database>system</database>', '<database>system</database><database>default</database>'),
    ],
    [
      'plain password',
      good.replace(/<password_sha256_hex>[0-9a-f]+<\/password_sha256_hex>/, '<password>pw</password>'),
    ],
    ['short hash', good.replace(/<password_sha256_hex>[0-9a-f]+/, '<password_sha256_hex>abc')],
    ['other profile', good.replace(`<profile>${router.user}</profile>`, '<profile>default</profile>')],
    ['second user', good.replace('</users>', '<other><password/></other></users>')],
    ['attribute', good.replace('<networks>', '<networks replace="replace">')],
    ['truncated', good.slice(0, good.length - 20)],
    ['bad network', good.replace('<ip>::1</ip>', '<ip>evil.example</ip>')],
  ];
  for (const [what, xml] of cases) {
    assert.throws(
      () => validateUsersFile(xml, router),
      (e: unknown) => e instanceof TargetError && e.code === 'TARGET_CONFIG',
      what,
    );
  }
  validateUsersFile(good, router);
  assert.throws(() => renderUsersFile({ ...router, passwordSha256: 'nothex' }), TargetError);
  assert.throws(() => renderUsersFile({ ...native, commonName: '' }), TargetError);
  assert.throws(() => renderUsersFile({ ...router, networks: [] }), TargetError);
});
