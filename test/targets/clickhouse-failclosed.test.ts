// Fail closed (issue 13), against the `sallyport agent` command and Debian's ClickHouse 18.16:
//
//  - every configuration that used to give the engineer a raw pipe is refused at start with a
//    message naming the fix: passthrough on a kind with a target, a clickhouse service without
//    target options (the `--serve ch=…,kind=clickhouse` of the docs), tcp/http without a written
//    tls mode, and native-cert on 18.16 (found by a version probe: the service is never registered);
//  - a connector restarted with a config where its clickhouse service has no target any more
//    still removes the grant users it created, at start, and ClickHouse forgets them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as agentCli from '../../src/cli/agent.ts';
import { PrivateKey } from '../../src/crypto/index.ts';
import { chQuery, type ClickHouseReconciler } from '../../src/targets/clickhouse/index.ts';
import {
  clickhouseInstalled,
  startClickHouse,
  type ClickHouseServer,
} from '../../src/lab/servers/clickhouse.ts';
import { Harness, waitFor } from '../../src/testing/harness.ts';
import { needs } from '../../src/testing/require.ts';

const missing = clickhouseInstalled()
  ? undefined
  : 'needs clickhouse-server (apt-get install clickhouse-server)';
let tmp: string;
let ch: ClickHouseServer;
let pwFile: string;

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'sallyport-failclosed-'));
  if (missing) return;
  ch = await startClickHouse({ dir: join(tmp, 'clickhouse') });
  pwFile = join(tmp, 'admin-password');
  writeFileSync(pwFile, ch.adminUser.password + '\n', { mode: 0o600 });
});

after(async () => {
  await ch?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

/** Runs `sallyport agent ARGS` in this process; its exit code and what it wrote. */
async function agent(args: string[]): Promise<{ code: number; text: string }> {
  const err = process.stderr.write.bind(process.stderr);
  let text = '';
  process.stderr.write = ((c: string) => ((text += c), true)) as typeof process.stderr.write;
  const state = mkdtempSync(join(tmp, 'state-'));
  const ac = new AbortController();
  // A configuration the agent accepts keeps it running: stop it after a while (exit 0 = started).
  const stop = setTimeout(() => ac.abort(), 5000);
  let code: number;
  try {
    code = await agentCli.run(
      [
        '--state',
        state,
        // Nothing listens here: a refused configuration must fail before any dial.
        '--coordinator',
        'https://127.0.0.1:9',
        '--coordinator-key',
        PrivateKey.generate().publicKey.base64(),
        '--no-direct',
        '--log-level',
        'silent',
        ...args,
      ],
      { signal: ac.signal },
    );
  } finally {
    clearTimeout(stop);
    process.stderr.write = err;
  }
  return { code, text };
}

test('refused at start, each with the fix named: the configurations that gave a raw pipe', async (t) => {
  const port = ch?.httpPort ?? 8123;
  const config = (svc: Record<string, unknown>) => {
    const f = join(tmp, `c-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(f, JSON.stringify({ services: [{ name: 'ch', address: `127.0.0.1:${port}`, ...svc }] }));
    return f;
  };
  const rows: [string, string[], number, RegExp, boolean?][] = [
    [
      'the docs example: clickhouse without target options',
      ['--serve', `ch=127.0.0.1:${port},kind=clickhouse`],
      1,
      /no target options.*usersDir/,
    ],
    [
      'clickhouse with tls=passthrough',
      ['--serve', `ch=127.0.0.1:${port},kind=clickhouse,tls=passthrough`],
      2,
      /drop tls=passthrough.*kind=tcp/,
    ],
    [
      'prometheus with tls=passthrough',
      ['--serve', 'prom=127.0.0.1:9090,kind=prometheus,tls=passthrough'],
      2,
      /drop tls=passthrough/,
    ],
    [
      'kubernetes with tls=passthrough (config file)',
      ['--config', config({ kind: 'kubernetes', tls: 'passthrough' })],
      2,
      /drop tls=passthrough/,
    ],
    ['http without a tls mode', ['--serve', 'web=127.0.0.1:8080,kind=http'], 2, /write tls=passthrough/],
    ['tcp without a tls mode', ['--serve', 'db=127.0.0.1:5432'], 2, /write tls=passthrough/],
    [
      'native-cert on 18.16 (version probe)',
      [
        '--config',
        config({
          kind: 'clickhouse',
          target: {
            mode: 'native-cert',
            usersDir: ch?.usersDir ?? '/u',
            admin: { user: 'default', passwordFile: pwFile },
          },
        }),
      ],
      1,
      /ClickHouse 18\.16 cannot authenticate users by certificate \(needs ≥ 22\.3\): use mode router-auth/,
      true,
    ],
    [
      'native-cert, server unreachable',
      [
        '--config',
        config({
          kind: 'clickhouse',
          address: '127.0.0.1:9',
          target: {
            mode: 'native-cert',
            usersDir: join(tmp, 'u'),
            admin: { user: 'default', passwordFile: pwFile },
          },
        }),
      ],
      1,
      /cannot reach ClickHouse at 127\.0\.0\.1:9.*refusing to serve it/,
      true,
    ],
  ];
  for (const [what, args, code, want, needsCh] of rows) {
    if (needsCh && missing) {
      t.diagnostic(`skipped (${missing}): ${what}`);
      continue;
    }
    const r = await agent(args);
    assert.equal(r.code, code, `${what}: exit ${r.code}: ${r.text}`);
    assert.match(r.text, want, what);
  }
  if (!needs(t, missing)) return;
  // native-cert never wrote a users file.
  assert.deepEqual(
    (await import('node:fs')).readdirSync(ch.usersDir).filter((f) => f.startsWith('sallyport-')),
    [],
  );
});

test('restarted without a target, the connector removes the grant users it created, at start', async (t) => {
  if (!needs(t, missing)) return;
  const h = await Harness.start();
  t.after(() => h.stop());
  await h.deployment('acme-prod');
  await h.user('alice');
  const stateDir = join(tmp, 'connector-state');
  const conn = await h.connector({
    deployment: 'acme-prod',
    stateDir,
    services: [
      {
        name: 'clickhouse',
        kind: 'clickhouse',
        address: `127.0.0.1:${ch.httpPort}`,
        tls: 'terminate',
        target: {
          mode: 'router-auth',
          usersDir: ch.usersDir,
          admin: { user: 'default', passwordFile: pwFile },
        },
      },
    ],
  });
  await h.engineer({ user: 'alice' });
  const grantId = await h.grantFor({ type: 'user', name: 'alice' }, 'acme-prod', ['clickhouse'], 600_000);
  const rec = conn.agent.targets!.get('clickhouse')!.reconciler as ClickHouseReconciler;
  let cred: { user: string; password: string } | undefined;
  const at = { host: '127.0.0.1', port: ch.httpPort };
  await waitFor(
    async () => {
      cred ??= rec.credentials(grantId);
      return !!cred && (await chQuery(at, cred, 'SELECT 1')).status === 200;
    },
    5000,
    'grant user at ClickHouse',
  );
  const file = join(ch.usersDir, `sallyport-${cred!.user}.xml`);
  assert.ok(existsSync(file));
  await h.stopAgent(conn);
  assert.ok(existsSync(file), 'stopping alone does not remove it (the grant still runs)');

  // Same state directory, same grant still running; the service is now a plain pipe with no target.
  const again = await h.connector({
    deployment: 'acme-prod',
    stateDir,
    services: [{ name: 'clickhouse', kind: 'tcp', address: `127.0.0.1:${ch.httpPort}`, tls: 'passthrough' }],
  });
  assert.equal(again.agent.targets!.get('clickhouse'), undefined);
  assert.ok(!existsSync(file), 'the users file is removed at start');
  assert.ok(again.logs.find(/left by an earlier config removed/).length >= 1);
  await waitFor(
    async () => (await chQuery(at, cred!, 'SELECT 1')).status !== 200,
    5000,
    'ClickHouse no longer knows the user',
  );
});
