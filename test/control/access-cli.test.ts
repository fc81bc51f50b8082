// The access commands against a coordinator: request, requests, approve, deny, grants, revoke,
// extend (human and --json output, exit codes, the server's refusal codes on stderr).
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startFixture, type Fixture } from './fixture.ts';
import { runAccess, type AccessCommand } from '../../src/cli/access.ts';
import { POLICY } from './access-suite.ts';
import { routes } from '../../src/control/index.ts';

let f: Fixture;
const tokens: Record<string, string> = {};
let caFile: string;

async function cli(who: string | undefined, cmd: AccessCommand, ...args: string[]) {
  let out = '';
  let err = '';
  const code = await runAccess(cmd, args, {
    env: {
      SALLYPORT_SERVER: f.coord.url,
      SALLYPORT_CA: caFile,
      ...(who ? { SALLYPORT_TOKEN: tokens[who] } : {}),
    },
    stdout: (s) => (out += s),
    stderr: (s) => (err += s),
  });
  return { code, out, err };
}

before(async () => {
  f = await startFixture();
  caFile = join(f.dir, 'listener.pem');
  writeFileSync(caFile, f.coord.tls.cert);
  const a = f.admin;
  await a.route(routes.deploymentsCreate, { body: { name: 'acme-prod', region: 'us-east-1', cloud: 'aws' } });
  await a.route(routes.servicesPut, {
    params: { deployment: 'acme-prod', name: 'k8s' },
    body: {
      kind: 'kubernetes',
      address: '10.0.0.1:6443',
    },
  });
  for (const g of ['oncall', 'sre-leads', 'acme-admins'])
    await a.route(routes.groupsCreate, { body: { name: g } });
  for (const [u, g] of [
    ['alice', 'oncall'],
    ['bob', 'sre-leads'],
  ]) {
    await a.route(routes.usersCreate, { body: { name: u, password: 'long password' } });
    await a.route(routes.groupMembersAdd, { params: { name: g, user: u } });
    tokens[u] = (await f.anon.route(routes.login, { body: { user: u, password: 'long password' } })).token;
  }
  await a.route(routes.policyPut, { body: POLICY });
});
after(() => f.stop());

test('usage errors exit 2; refusals exit 1 with the code', async () => {
  assert.equal((await cli('alice', 'request', 'acme-prod', '--reason', 'x', '--for', '1h')).code, 2);
  assert.equal((await cli(undefined, 'requests')).code, 2);
  assert.equal((await cli('alice', 'requests', '--bogus')).code, 2);
  const long = await cli('alice', 'request', 'acme-prod', '--service', 'k8s', '--reason', 'x', '--for', '9h');
  assert.equal(long.code, 1);
  assert.match(long.err, /DURATION_EXCEEDS_POLICY \(HTTP 400\)/);
  const help = await cli('alice', 'request', '--help');
  assert.equal(help.code, 0);
  assert.match(help.out, /--service NAME/);
});

test('request, deny; request, approve, extend, revoke; listings in text and JSON', async () => {
  const r1 = await cli(
    'alice',
    'request',
    'acme-prod',
    '--service',
    'k8s',
    '--reason',
    'INC-1',
    '--for',
    '1h',
  );
  assert.equal(r1.code, 0, r1.err);
  const id1 = /request (\S+) is pending/.exec(r1.out)![1];
  assert.match(r1.out, /1 of sre-leads/);
  const d = await cli('bob', 'deny', id1, '--reason', 'use staging');
  assert.equal(d.code, 0, d.err);
  assert.match(d.out, /denied/);

  const r2 = JSON.parse(
    (
      await cli(
        'alice',
        'request',
        'acme-prod',
        '--service',
        'k8s',
        '--reason',
        'INC-2',
        '--for',
        '1h',
        '--json',
      )
    ).out,
  ) as { id: string; grantId: string };
  const list = await cli('bob', 'requests');
  assert.match(list.out, /^ID\s+REQUESTER/);
  assert.match(list.out, new RegExp(`${r2.id}\\s+alice\\s+acme-prod\\s+k8s\\s+60m\\s+pending`));
  const json = JSON.parse((await cli('bob', 'requests', '--json', '--status', 'denied')).out) as {
    id: string;
  }[];
  assert.deepEqual(
    json.map((r) => r.id),
    [id1],
  );
  assert.equal((await cli('bob', 'approve', r2.id)).code, 0);
  const grants = await cli('alice', 'grants');
  assert.match(grants.out, new RegExp(`${r2.grantId}\\s+alice\\s+acme-prod\\s+k8s\\s+read-only\\s+active`));
  const x = await cli('alice', 'extend', r2.grantId, '--for', '30m', '--reason', 'more');
  assert.equal(x.code, 0, x.err);
  const xid = /extension (\S+) pending/.exec(x.out)![1];
  const ax = await cli('bob', 'approve', '--extension', xid);
  assert.equal(ax.code, 0, ax.err);
  assert.equal(ax.out.trim(), `extension ${xid} approved`);
  const rv = await cli('alice', 'revoke', r2.grantId, '--reason', 'done');
  assert.equal(rv.code, 0, rv.err);
  assert.match(rv.out, /revoked/);
  const gj = JSON.parse((await cli('alice', 'grants', '--json')).out) as {
    id: string;
    status: string;
    end: number;
  }[];
  assert.equal(gj.find((g) => g.id === r2.grantId)?.status, 'revoked');
});

test('admin policy set refuses an invalid document with its issues, takes comments; get returns the stored one', async () => {
  const { run: admin } = await import('../../src/cli/admin.ts');
  const { ADMIN } = await import('./fixture.ts');
  const token = (
    await f.anon.route(routes.login, {
      body: {
        user: ADMIN.name,
        password: ADMIN.password,
      },
    })
  ).token;
  const io = () => {
    const o = { out: '', err: '' };
    return {
      o,
      io: {
        env: { SALLYPORT_SERVER: f.coord.url, SALLYPORT_CA: caFile, SALLYPORT_TOKEN: token },
        stdout: (s: string) => void (o.out += s),
        stderr: (s: string) => void (o.err += s),
        stdinLine: () => '',
      },
    };
  };
  const bad = join(f.dir, 'bad-policy.json');
  writeFileSync(bad, JSON.stringify({ version: 1, policies: [{ treshold: 2 }] }));
  const r1 = io();
  assert.equal(await admin(['policy', 'set', bad], r1.io), 1);
  assert.match(r1.o.err, /POLICY_INVALID/);
  const good = join(f.dir, 'policy.json');
  // Policy files are JSON with comments and trailing commas, like the config files.
  writeFileSync(good, `// on-call policy\n${JSON.stringify(POLICY, null, 2).replace(/\n}$/, ', // end\n}')}`);
  const r2 = io();
  assert.equal(await admin(['policy', 'set', good], r2.io), 0, r2.o.err);
  const r3 = io();
  assert.equal(await admin(['policy', 'get'], r3.io), 0, r3.o.err);
  assert.ok(
    JSON.stringify(JSON.parse(r3.o.out)).includes(JSON.stringify(POLICY.policies[0].id)),
    `the stored policy is not the one set:\n${r3.o.out}`,
  );
  const r4 = io();
  assert.equal(await admin(['policy', 'set', join(f.dir, 'missing.json')], r4.io), 2);
});

/** The id of alice's pending request whose reason contains `mark`, once it exists. */
async function pendingWith(mark: string): Promise<string> {
  for (let i = 0; i < 200; i++) {
    const rows = await f.admin.route(routes.requestsList, { query: { status: 'pending' } });
    const r = rows.find((x) => x.reason.includes(mark));
    if (r) return r.id;
    await new Promise((res) => setTimeout(res, 25));
  }
  throw new Error(`no pending request with ${mark}`);
}

test('request --wait answers the moment another user approves, then fetches the certificate', async () => {
  const out = join(f.dir, 'wait-cert');
  const waiting = cli(
    'alice',
    'request',
    'acme-prod',
    '--service',
    'k8s',
    '--reason',
    'INC-9 wait',
    '--for',
    '30m',
    '--wait',
    '--out',
    out,
  );
  const id = await pendingWith('INC-9');
  // The long poll is open: nothing has answered it yet.
  const raced = await Promise.race([
    waiting.then(() => 'done'),
    new Promise((r) => setTimeout(() => r('waiting'), 300)),
  ]);
  assert.equal(raced, 'waiting');
  const t0 = performance.now();
  assert.equal((await cli('bob', 'approve', id)).code, 0);
  const r = await waiting;
  const ms = performance.now() - t0;
  assert.equal(r.code, 0, r.err);
  assert.match(r.err, /waiting for the decision/);
  assert.match(r.err, /approved by bob: grant \S+ is active/);
  assert.match(r.out, new RegExp(`certificate for grant \\S+ in ${out.replace(/[/\\]/g, '\\$&')}`));
  assert.equal(statSync(join(out, 'key.pem')).mode & 0o777, 0o600);
  // Woken by the approval itself (the fixture's clock is fake: no timer could have answered).
  assert.ok(ms < 5000, `${ms} ms`);
});

test('request --wait exits 1 with who denied it and why', async () => {
  const waiting = cli(
    'alice',
    'request',
    'acme-prod',
    '--service',
    'k8s',
    '--reason',
    'INC-10 wait',
    '--for',
    '30m',
    '--wait',
  );
  const id = await pendingWith('INC-10');
  assert.equal((await cli('bob', 'deny', id, '--reason', 'use staging first')).code, 0);
  const r = await waiting;
  assert.equal(r.code, 1);
  assert.match(r.err, new RegExp(`request ${id} was denied by bob: use staging first`));
});
