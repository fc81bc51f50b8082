// The CLI end to end: `sallyport coordinator` as a child process (first start creates keys, a
// self-signed certificate and the admin password under --data), then `sallyport admin` commands
// against it through the HTTPS API, and a clean stop on SIGTERM.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { run as runAdmin } from '../../src/cli/admin.ts';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnCli } from '../../src/testing/spawn-cli.ts';

/** Runs `sallyport admin ARGS` in this process with its own environment and captured output. */
async function admin(
  env: Record<string, string>,
  ...args: string[]
): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runAdmin(args, {
    env,
    stdout: (s) => (out += s),
    stderr: (s) => (err += s),
    stdinLine: () => '',
  });
  return { code, out, err };
}

test('sallyport coordinator + sallyport admin through the API', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sallyport-cli-'));
  const child = spawnCli('coordinator', [
    '--data',
    dir,
    '--listen',
    '127.0.0.1:0',
    '--suffix',
    'byoc.example.com',
    '--relay',
    'eu=https://127.0.0.1:9443,stun=3478',
    '--log-level',
    'warn',
    '--audit-checkpoint-every',
    '3',
  ]);
  try {
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    let err = '';
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    const deadline = Date.now() + 30_000;
    while (!/TLS fingerprint/.test(out) && Date.now() < deadline && child.exitCode === null)
      await new Promise((r) => setTimeout(r, 50));
    const url = /listening on (https:\/\/\S+)/.exec(out)?.[1];
    const fp = /TLS fingerprint \(SHA-256\):\s+(\S+)/.exec(out)?.[1];
    assert.ok(url && fp, `no start banner: ${out} ${err}`);
    for (const f of ['coordinator.key', 'signing.key', 'tls/key.pem', 'initial-admin-password'])
      assert.equal(statSync(join(dir, f)).mode & 0o777, 0o600, f);
    const env: Record<string, string> = {
      SALLYPORT_SERVER: url,
      SALLYPORT_FINGERPRINT: fp,
      SALLYPORT_PASSWORD: readFileSync(join(dir, 'initial-admin-password'), 'utf8').trim(),
    };
    const login = await admin(env, 'login', '--user', 'admin');
    assert.equal(login.code, 0, login.err);
    env.SALLYPORT_TOKEN = login.out.trim();
    assert.equal(
      (await admin(env, 'deployments', 'create', 'acme-prod', '--region', 'us-east-1', '--cloud', 'aws'))
        .code,
      0,
    );
    const set = await admin(
      env,
      'services',
      'set',
      'acme-prod/k8s',
      '--kind',
      'kubernetes',
      '--address',
      '10.0.0.1:6443',
      '--label',
      'tier=ops',
    );
    assert.equal(set.code, 0, set.err);
    assert.match(set.out, /k8s\.acme-prod\.us-east-1\.aws\.byoc\.example\.com/);
    // services bind: --release frees the service; --node must name a live connector; one of the two
    const rel = await admin(env, 'services', 'bind', 'acme-prod/k8s', '--release', '--json');
    assert.equal(rel.code, 0, rel.err);
    assert.equal(JSON.parse(rel.out).connectorKey, null);
    const noConn = await admin(env, 'services', 'bind', 'acme-prod/k8s', '--node', `${'A'.repeat(43)}=`);
    assert.equal(noConn.code, 1);
    assert.match(noConn.err, /no live connector of acme-prod/);
    assert.equal((await admin(env, 'services', 'bind', 'acme-prod/k8s')).code, 2);
    const list = await admin(env, 'deployments', 'list', '--json');
    assert.deepEqual(
      JSON.parse(list.out).map((d: { name: string }) => d.name),
      ['acme-prod'],
    );
    const key = await admin(env, 'keys', 'create', '--deployment', 'acme-prod', '--expires', '1h');
    assert.match(key.out, /^sppk_/);
    assert.equal(
      (await admin({ ...env, SALLYPORT_NEW_PASSWORD: 'long password' }, 'users', 'create', 'bob')).code,
      0,
    );
    assert.equal((await admin(env, 'groups', 'create', 'oncall')).code, 0);
    assert.equal((await admin(env, 'groups', 'add', 'oncall', 'bob')).code, 0);
    const g = await admin(
      env,
      'grants',
      'create',
      '--group',
      'oncall',
      '--deployment',
      'acme-prod',
      '--service',
      'k8s',
      '--expires',
      '8h',
      '--json',
    );
    assert.equal(g.code, 0, g.err);
    assert.deepEqual(JSON.parse(g.out).services, ['k8s']);
    assert.equal(JSON.parse(g.out).access, 'read-only', 'the default level');
    const rw = await admin(
      env,
      ...[
        'grants',
        'create',
        '--user',
        'bob',
        '--deployment',
        'acme-prod',
        '--access',
        'read-write',
        '--json',
      ],
    );
    assert.equal(rw.code, 0, rw.err);
    assert.equal(JSON.parse(rw.out).access, 'read-write');
    const badLevel = await admin(
      env,
      'grants',
      'create',
      '--user',
      'bob',
      '--deployment',
      'acme-prod',
      '--access',
      'root',
    );
    assert.equal(badLevel.code, 1);
    const grants = await admin(env, 'grants', 'list');
    assert.match(grants.out, /group\s+oncall\s+acme-prod\s+k8s\s+read-only/);
    assert.match(grants.out, /user\s+bob\s+acme-prod\s+\*\s+read-write/);
    // refusals: bad input → exit 1 with the API's code; usage → exit 2; wrong pin → exit 1
    const dup = await admin(
      env,
      'deployments',
      'create',
      'acme-prod',
      '--region',
      'us-east-1',
      '--cloud',
      'aws',
    );
    assert.equal(dup.code, 1);
    assert.match(dup.err, /CONFLICT \(HTTP 409\)/);
    assert.equal(
      (await admin(env, 'deployments', 'create', 'Bad Name', '--region', 'r', '--cloud', 'c')).code,
      1,
    );
    assert.equal((await admin(env, 'grants', 'create', '--deployment', 'acme-prod')).code, 2);
    assert.equal((await admin(env, 'nope')).code, 2);
    assert.equal(
      (await admin({ ...env, SALLYPORT_FINGERPRINT: '00'.repeat(32) }, 'deployments', 'list')).code,
      1,
    );
    const audit = await admin(env, 'audit', '--json');
    assert.ok(JSON.parse(audit.out).some((r: { action: string }) => r.action === 'grant.create'));
    // --audit-checkpoint-every 3: the signer has anchored a checkpoint outside the database
    assert.equal(statSync(join(dir, 'audit-anchor.json')).mode & 0o777, 0o600);
    child.kill('SIGTERM');
    const code = await new Promise((r) => child.once('exit', r));
    assert.equal(code, 0);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

test('sallyport coordinator --audit-checkpoint-every refuses what is not a positive number (exit 2)', async () => {
  const { run } = await import('../../src/cli/coordinator.ts');
  const dir = mkdtempSync(join(tmpdir(), 'sallyport-cli-every-'));
  const err = process.stderr.write.bind(process.stderr);
  let said = '';
  process.stderr.write = ((s: string) => ((said += s), true)) as typeof process.stderr.write;
  try {
    for (const bad of ['0', '-1', 'ten'])
      assert.equal(
        await run(['--data', dir, '--suffix', 'byoc.example.com', '--audit-checkpoint-every', bad]),
        2,
      );
  } finally {
    process.stderr.write = err;
    rmSync(dir, { recursive: true, force: true });
  }
  assert.match(said, /--audit-checkpoint-every wants a positive number of records, got '0'/);
});
