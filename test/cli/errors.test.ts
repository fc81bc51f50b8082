// Exit codes and errors that say what to do next, for the commands that talk to the coordinator:
// bad usage 2, unreachable 3, token rejected 4, refused 1; progress on stderr, never with --json.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ADMIN, startFixture, type Fixture } from '../control/fixture.ts';
import { POLICY } from '../control/access-suite.ts';
import { run as admin } from '../../src/cli/admin.ts';
import { runAccess, type AccessCommand } from '../../src/cli/access.ts';
import { EXIT, apiFailure } from '../../src/cli/exit.ts';
import { ApiError } from '../../src/control/api-client.ts';
import { ControlError } from '../../src/control/errors.ts';

type Env = Record<string, string | undefined>;

async function adminCli(env: Env, ...argv: string[]) {
  let out = '';
  let err = '';
  const code = await admin(argv, {
    env,
    stdout: (s) => void (out += s),
    stderr: (s) => void (err += s),
    stdinLine: () => '',
  });
  return { code, out, err };
}

async function accessCli(env: Env, cmd: AccessCommand, ...argv: string[]) {
  let out = '';
  let err = '';
  const code = await runAccess(cmd, argv, {
    env,
    stdout: (s) => void (out += s),
    stderr: (s) => void (err += s),
  });
  return { code, out, err };
}

/** A loopback port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe('classifying failures (unit)', () => {
  test('HTTP 401 is 4 with how to log in; 403 and 409 are 1; other errors are not ours', () => {
    const u = apiFailure(new ApiError(401, 'UNAUTHORIZED', 'bad token'));
    assert.equal(u?.code, EXIT.UNAUTHENTICATED);
    assert.match(u!.message, /sallyport login https:\/\/COORDINATOR/);
    assert.equal(apiFailure(new ApiError(403, 'FORBIDDEN', 'admins only'))?.code, EXIT.FAILED);
    assert.match(apiFailure(new ApiError(403, 'FORBIDDEN', 'x'))!.message, /may not do this/);
    assert.equal(apiFailure(new ApiError(409, 'CONFLICT', 'exists'))?.code, EXIT.FAILED);
    assert.equal(apiFailure(new Error('boom')), undefined);
  });

  test('a connection failure is 3, and the hint follows its cause', () => {
    const refused = new ControlError('CONNECT', 'https://127.0.0.1:1: connect ECONNREFUSED', {
      cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
    });
    const f = apiFailure(refused, 'https://127.0.0.1:1');
    assert.equal(f?.code, EXIT.UNREACHABLE);
    assert.match(f!.message, /is 'sallyport coordinator' running/);
    const untrusted = new ControlError('CONNECT', 'self-signed certificate', {
      cause: Object.assign(new Error('self-signed certificate'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }),
    });
    assert.match(apiFailure(untrusted)!.message, /--ca FILE .*--fingerprint HEX/);
    // A pinned fingerprint that does not match: the server answered, it is not the one we trust.
    assert.equal(apiFailure(new ControlError('TLS_PIN', 'not the pinned one'))?.code, EXIT.FAILED);
  });
});

describe('against a coordinator', () => {
  let f: Fixture;
  let dir: string;
  let env: Env;
  const tokens: Record<string, string> = {};
  const as = (who: string): Env => ({ ...env, SALLYPORT_TOKEN: tokens[who] });

  before(async () => {
    f = await startFixture({ console: false });
    dir = mkdtempSync(join(tmpdir(), 'sallyport-cli-errors-'));
    const caFile = join(dir, 'listener.pem');
    writeFileSync(caFile, f.coord.tls.cert);
    env = { SALLYPORT_SERVER: f.coord.url, SALLYPORT_CA: caFile };
    const a = f.admin;
    await a.call('POST', '/api/v1/deployments', { name: 'acme-prod', region: 'us-east-1', cloud: 'aws' });
    await a.call('PUT', '/api/v1/deployments/acme-prod/services/k8s', {
      kind: 'kubernetes',
      address: '10.0.0.1:6443',
    });
    for (const g of ['oncall', 'sre-leads']) await a.call('POST', '/api/v1/groups', { name: g });
    for (const [u, g] of [
      ['alice', 'oncall'],
      ['bob', 'sre-leads'],
    ]) {
      await a.call('POST', '/api/v1/users', { name: u, password: 'long password' });
      await a.call('PUT', `/api/v1/groups/${g}/members/${u}`);
      tokens[u] = (
        await f.anon.call<{ token: string }>('POST', '/api/v1/login', { user: u, password: 'long password' })
      ).token;
    }
    await a.call('PUT', '/api/v1/policy', POLICY);
  });
  after(async () => {
    await f.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('no token: exit 2 and how to log in; a plain http:// server: exit 2', async () => {
    const r = await accessCli(env, 'requests');
    assert.equal(r.code, EXIT.USAGE);
    assert.match(r.err, /not logged in.*sallyport login https:\/\/COORDINATOR/);
    const h = await accessCli({ ...as('alice'), SALLYPORT_SERVER: 'http://127.0.0.1:1' }, 'requests');
    assert.equal(h.code, EXIT.USAGE);
    assert.match(h.err, /must be an https:\/\/ URL/);
    const m = await adminCli({ SALLYPORT_TOKEN: 'x' }, 'users', 'list');
    assert.equal(m.code, EXIT.USAGE);
    assert.match(m.err, /sallyport login https:\/\/HOST:PORT.*--server https:\/\/HOST:PORT/);
    const ca = await adminCli({ ...env, SALLYPORT_CA: join(dir, 'missing.pem') }, 'users', 'list');
    assert.equal(ca.code, EXIT.USAGE);
    assert.match(ca.err, /cannot read the CA file .*ENOENT/);
  });

  test('nothing listening: exit 3, naming the coordinator to start', async () => {
    const port = await closedPort();
    const r = await adminCli({ ...env, SALLYPORT_SERVER: `https://127.0.0.1:${port}` }, 'users', 'list');
    assert.equal(r.code, EXIT.UNREACHABLE, r.err);
    assert.match(r.err, /cannot reach the coordinator.*\n.*is 'sallyport coordinator' running/);
    const g = await accessCli({ ...as('alice'), SALLYPORT_SERVER: `https://127.0.0.1:${port}` }, 'grants');
    assert.equal(g.code, EXIT.UNREACHABLE);
  });

  test('a certificate not trusted: exit 3, saying to pass --ca or --fingerprint', async () => {
    const r = await adminCli({ SALLYPORT_SERVER: f.coord.url, SALLYPORT_TOKEN: 't' }, 'users', 'list');
    assert.equal(r.code, EXIT.UNREACHABLE, r.err);
    assert.match(r.err, /not trusted.*--ca FILE/);
  });

  test('a token the coordinator rejects: exit 4 with how to log in again', async () => {
    const r = await adminCli({ ...env, SALLYPORT_TOKEN: 'not-a-token' }, 'users', 'list');
    assert.equal(r.code, EXIT.UNAUTHENTICATED, r.err);
    assert.match(r.err, /HTTP 401.*\n.*sallyport login https:\/\/COORDINATOR/);
    const g = await accessCli({ ...env, SALLYPORT_TOKEN: 'not-a-token' }, 'grants', '--json');
    assert.equal(g.code, EXIT.UNAUTHENTICATED);
    assert.equal(g.out, '');
  });

  test('signed in but not allowed: exit 1 with the code and who to ask', async () => {
    const r = await adminCli(as('alice'), 'users', 'list');
    assert.equal(r.code, EXIT.FAILED);
    assert.match(r.err, /HTTP 403.*\n.*ask an administrator/);
  });

  test('admin commands with nothing to list say what they did; --json says it as JSON', async () => {
    const admin = {
      ...env,
      SALLYPORT_TOKEN: (
        await f.anon.call<{ token: string }>('POST', '/api/v1/login', {
          user: ADMIN.name,
          password: ADMIN.password,
        })
      ).token,
    };
    assert.equal((await adminCli(admin, 'groups', 'create', 'tmp')).code, 0);
    const add = await adminCli(admin, 'groups', 'add', 'tmp', 'alice');
    assert.equal(add.out, 'added alice to group tmp\n');
    const del = await adminCli(admin, 'groups', 'delete', 'tmp', '--json');
    assert.deepEqual(JSON.parse(del.out), { ok: true, deleted: 'tmp' });
    const again = await adminCli(admin, 'groups', 'delete', 'tmp');
    assert.equal(again.code, EXIT.FAILED);
    assert.equal(again.out, '');
    assert.match(again.err, /HTTP 404.*\n.*check the name or ID/);
  });

  test('cert with no active grant: exit 1, saying how to request one', async () => {
    const r = await accessCli(as('alice'), 'cert', '--out', join(dir, 'none'));
    assert.equal(r.code, EXIT.FAILED);
    assert.match(r.err, /hold no active grant: ask with 'sallyport request DEPLOYMENT/);
  });

  test('cert shows progress on stderr, and none with --json (stdout is one JSON document)', async () => {
    const req = await accessCli(
      as('alice'),
      'request',
      'acme-prod',
      '--service',
      'k8s',
      '--reason',
      'INC-9',
      '--for',
      '1h',
      '--json',
    );
    assert.equal(req.code, 0, req.err);
    const { id } = JSON.parse(req.out) as { id: string };
    assert.equal((await accessCli(as('bob'), 'approve', id)).code, 0);
    const human = await accessCli(as('alice'), 'cert', '--out', join(dir, 'c1'));
    assert.equal(human.code, 0, human.err);
    assert.match(human.err, /making a private key .* on this machine/);
    assert.match(human.err, /asking the coordinator to sign/);
    assert.equal(statSync(join(dir, 'c1', 'key.pem')).mode & 0o777, 0o600);
    const json = await accessCli(as('alice'), 'cert', '--out', join(dir, 'c2'), '--json');
    assert.equal(json.code, 0, json.err);
    assert.equal(json.err, '');
    const doc = JSON.parse(json.out) as { dir: string; notAfter: number };
    assert.equal(doc.dir, join(dir, 'c2'));
    assert.match(readFileSync(join(dir, 'c2', 'cert.pem'), 'utf8'), /BEGIN CERTIFICATE/);
  });
});
