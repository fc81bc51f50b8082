// docs/sso.md stays true: its coordinator line is accepted by the coordinator's parser and gives
// the OIDC settings it describes; its `sallyport login` lines parse as written; a coordinator
// started with --oidc-issuer but no client secret or public URL refuses to start, saying which.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { OPTIONS as COORDINATOR } from '../../src/cli/coordinator.ts';
import { OPTIONS as LOGIN } from '../../src/cli/login.ts';
import { parseOidcFlags } from '../../src/cli/oidc-flags.ts';
import { UsageError } from '../../src/cli/io.ts';
import { spawnCli } from '../../src/testing/spawn-cli.ts';

const doc = readFileSync(new URL('../../docs/sso.md', import.meta.url), 'utf8');
const shell = [...doc.matchAll(/```sh\n([\s\S]*?)```/g)].flatMap((m) => m[1].trim().split('\n'));

test('the coordinator line parses as written and gives the settings the doc describes', () => {
  const line = shell.find((l) => l.startsWith('sallyport coordinator '))!;
  const a = parseArgs({ args: line.split(/\s+/).slice(2), options: COORDINATOR, strict: true }).values;
  assert.equal(a['oidc-client-secret-file'], '/etc/sallyport/oidc-secret');
  // The secret file is the reader's: here a temporary one stands in for it.
  const dir = mkdtempSync(join(tmpdir(), 'sallyport-sso-doc-'));
  writeFileSync(join(dir, 'secret'), 'the-client-secret\n');
  const c = parseOidcFlags({ ...a, 'oidc-client-secret-file': join(dir, 'secret') }, {});
  assert.equal(c.publicUrl, 'https://coord.example.com:8443');
  assert.equal(c.approvalMaxAgeMs, 30 * 60_000);
  assert.equal(c.oidc!.issuer, 'https://idp.example.com/realms/acme');
  assert.equal(c.oidc!.clientSecret, 'the-client-secret');
  assert.equal(c.oidc!.recheckMs, 5 * 60_000);
  assert.deepEqual(
    [...c.oidc!.mapping.groupMap],
    [
      ['sre', 'sre-leads'],
      ['eng-oncall', 'oncall'],
    ],
  );
});

test('every sallyport login / whoami / logout line parses as written', () => {
  const logins = shell.filter((l) => l.startsWith('sallyport login '));
  assert.ok(logins.length >= 3);
  for (const l of logins)
    parseArgs({ args: l.split(/\s+/).slice(2), options: LOGIN, strict: true, allowPositionals: true });
  assert.ok(shell.includes('sallyport whoami') && shell.includes('sallyport logout'));
});

test('what cannot work refuses to start, saying how to fix it', () => {
  const bad: [Record<string, string>, RegExp][] = [
    [{ 'oidc-issuer': 'http://idp.example.com' }, /must be an https:\/\/ URL/],
    [{ 'oidc-issuer': 'https://idp.example.com' }, /needs --oidc-client-id/],
    [{ 'oidc-issuer': 'https://idp.example.com', 'oidc-client-id': 'x' }, /client secret/],
    [
      { 'oidc-issuer': 'https://idp.example.com', 'oidc-client-id': 'x', 'public-url': 'http://c' },
      /--public-url wants https/,
    ],
    [{ 'oidc-group': 'a=b' } as Record<string, string>, /needs --oidc-issuer/],
    [{ 'approval-max-age': '5s' }, /--approval-max-age wants a duration/],
  ];
  for (const [flags, msg] of bad) {
    const f = { ...flags, ...(flags['oidc-group'] ? { 'oidc-group': [flags['oidc-group']] } : {}) };
    assert.throws(
      () => parseOidcFlags(f as never, { SALLYPORT_OIDC_CLIENT_SECRET: flags['oidc-client-id'] ? '' : 's' }),
      (e: Error) => e instanceof UsageError && msg.test(e.message),
      JSON.stringify(flags),
    );
  }
});

test('the coordinator command exits 2 before starting anything', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sallyport-sso-doc-'));
  const p = spawnCli('coordinator', [
    '--data',
    dir,
    '--suffix',
    'byoc.example.com',
    '--oidc-issuer',
    'https://idp.example.com',
    '--oidc-client-id',
    'sallyport',
  ]);
  let err = '';
  p.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const code = await new Promise<number | null>((r) => p.on('exit', r));
  assert.equal(code, 2, err);
  assert.match(
    err,
    /--oidc-issuer needs the client secret: --oidc-client-secret-file FILE or SALLYPORT_OIDC_CLIENT_SECRET/,
  );
});
