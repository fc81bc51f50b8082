import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { FakeClock } from '../../clock/index.ts';
import type { GrantIdentity } from '../types.ts';
import { clickhouseUserName } from './names.ts';
import { ClickHouseReconciler, type ReconcilerOptions } from './reconciler.ts';

const T0 = 1_700_000_000_000;
const g = (
  grantId: string,
  user: string,
  notAfter: number | null = null,
  access: GrantIdentity['access'] = 'read-only',
): GrantIdentity => ({
  grantId,
  user,
  service: 'ch',
  deployment: 'd',
  notAfter,
  access,
});

function setup(o: Partial<ReconcilerOptions> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'sallyport-chrec-'));
  const clock = new FakeClock({ wallMs: T0 });
  const audit: string[] = [];
  const changes: { active: string[]; removed: string[] }[] = [];
  let reloads = 0;
  const rec = new ClickHouseReconciler({
    service: 'ch',
    mode: 'router-auth',
    usersDir: join(dir, 'users.d'),
    secretsDir: join(dir, 'state', 'passwords'),
    networks: ['127.0.0.1'],
    maxExecutionTime: 60,
    quota: 'default',
    clock,
    logger: pino({ level: 'silent' }),
    audit: { append: (action, subject) => audit.push(`${action} ${subject}`) },
    reload: async () => void reloads++,
    onChange: (a, r) => changes.push({ active: [...a.keys()], removed: r.map((x) => x.user) }),
    ...o,
  });
  return {
    dir,
    clock,
    rec,
    audit,
    changes,
    reloads: () => reloads,
    users: join(dir, 'users.d'),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

test('writes one file per grant, passwords 0600 outside users.d, idempotent', async () => {
  const s = setup();
  try {
    const a = g('g1', 'alice');
    await s.rec.reconcile([a, g('g2', 'bob'), { ...g('g3', 'carol'), service: 'other' }]);
    const files = readdirSync(s.users).sort();
    assert.deepEqual(
      files,
      [
        `sallyport-${clickhouseUserName(a)}.xml`,
        `sallyport-${clickhouseUserName(g('g2', 'bob'))}.xml`,
      ].sort(),
    );
    const cred = s.rec.credentials('g1')!;
    assert.equal(cred.user, clickhouseUserName(a));
    const pwFile = join(s.dir, 'state', 'passwords', `${cred.user}.password`);
    assert.equal(statSync(pwFile).mode & 0o777, 0o600);
    assert.equal(readFileSync(pwFile, 'utf8').trim(), cred.password);
    for (const f of files)
      assert.ok(!readFileSync(join(s.users, f), 'utf8').includes(cred.password), 'password never in users.d');
    assert.equal(s.reloads(), 1);
    const m = statSync(join(s.users, `sallyport-${cred.user}.xml`)).mtimeMs;
    await s.rec.reconcile([a, g('g2', 'bob')]);
    assert.equal(s.reloads(), 1, 'nothing changed: no write, no reload');
    assert.equal(statSync(join(s.users, `sallyport-${cred.user}.xml`)).mtimeMs, m);
    assert.deepEqual(s.audit.filter((x) => x.startsWith('clickhouse.user.created')).length, 2);
  } finally {
    s.cleanup();
  }
});

test('removal deletes file and password; foreign and temporary files are left alone', async () => {
  const s = setup();
  try {
    await s.rec.reconcile([g('g1', 'alice')]);
    const cred = s.rec.credentials('g1')!;
    writeFileSync(join(s.users, 'customer.xml'), '<yandex/>');
    await s.rec.reconcile([]);
    assert.deepEqual(readdirSync(s.users), ['customer.xml']);
    assert.deepEqual(readdirSync(join(s.dir, 'state', 'passwords')), []);
    assert.equal(s.rec.credentials('g1'), undefined);
    assert.deepEqual(s.changes.at(-1), { active: [], removed: [cred.user] });
    assert.ok(s.audit.includes('clickhouse.user.removed grant:g1'));
  } finally {
    s.cleanup();
  }
});

test('expiry: the user goes at notAfter without another reconcile; ended grants are never written', async () => {
  const s = setup();
  try {
    await s.rec.reconcile([g('g1', 'alice', T0 + 5000), g('g0', 'old', T0 - 1)]);
    assert.equal(readdirSync(s.users).length, 1);
    s.clock.advance(4999);
    await new Promise((r) => setImmediate(r));
    assert.equal(readdirSync(s.users).length, 1);
    s.clock.advance(1);
    for (let i = 0; i < 20 && readdirSync(s.users).length; i++) await new Promise((r) => setTimeout(r, 5));
    assert.equal(readdirSync(s.users).length, 0);
  } finally {
    s.cleanup();
  }
});

test('a restart converges: stale users of ours go, live ones keep their password', async () => {
  const s = setup();
  try {
    await s.rec.reconcile([g('g1', 'alice'), g('g2', 'bob')]);
    const pw = s.rec.credentials('g1')!.password;
    await s.rec.close();
    const again = setup({ usersDir: s.users, secretsDir: join(s.dir, 'state', 'passwords') });
    await again.rec.reconcile([g('g1', 'alice')]);
    assert.equal(readdirSync(s.users).length, 1);
    assert.equal(again.rec.credentials('g1')!.password, pw);
    assert.equal(again.reloads(), 1);
    again.cleanup();
  } finally {
    s.cleanup();
  }
});

test('a file changed by hand is rewritten', async () => {
  const s = setup();
  try {
    await s.rec.reconcile([g('g1', 'alice')]);
    const f = join(s.users, readdirSync(s.users)[0]!);
    const good = readFileSync(f, 'utf8');
    await s.rec.close();
    writeFileSync(f, good.replace('<readonly>1</readonly>', '<readonly>0</readonly>'));
    const again = setup({ usersDir: s.users, secretsDir: join(s.dir, 'state', 'passwords') });
    await again.rec.reconcile([g('g1', 'alice')]);
    assert.equal(readFileSync(f, 'utf8'), good);
    again.cleanup();
  } finally {
    s.cleanup();
  }
});

test('native-cert: one user per certificate CN (the longest grant wins)', async () => {
  const s = setup({ mode: 'native-cert' });
  try {
    await s.rec.reconcile([g('g1', 'alice', T0 + 1000), g('g2', 'alice', T0 + 9000), g('g3', 'bob')]);
    const files = readdirSync(s.users);
    assert.equal(files.length, 2);
    assert.ok(files.includes(`sallyport-${clickhouseUserName(g('g2', 'alice'))}.xml`));
    assert.match(readFileSync(join(s.users, files[0]!), 'utf8'), /<common_name>/);
  } finally {
    s.cleanup();
  }
});

test('a grant that cannot be written is skipped and audited; the others still converge', async () => {
  const s = setup({ mode: 'native-cert' });
  try {
    await s.rec.reconcile([g('g1', 'bad\u0001name'), g('g2', 'bob')]);
    assert.deepEqual(readdirSync(s.users), [`sallyport-${clickhouseUserName(g('g2', 'bob'))}.xml`]);
    assert.ok(s.audit.includes('clickhouse.user.failed grant:g1'));
  } finally {
    s.cleanup();
  }
});

test("a grant's access level is in its user's profile; a changed level rewrites the file", async () => {
  const s = setup();
  try {
    const ro = g('g1', 'alice');
    const file = join(s.users, `sallyport-${clickhouseUserName(ro)}.xml`);
    await s.rec.reconcile([ro]);
    assert.match(readFileSync(file, 'utf8'), /<readonly>1<\/readonly>/);
    await s.rec.reconcile([{ ...ro, access: 'read-write' }]);
    assert.match(readFileSync(file, 'utf8'), /<readonly>2<\/readonly>/);
    assert.equal(s.reloads(), 2);
  } finally {
    s.cleanup();
  }
});
