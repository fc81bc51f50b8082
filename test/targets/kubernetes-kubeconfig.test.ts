// `sallyport kubeconfig`: the file it writes is read by real kubectl as meant (server = tailnet
// name, proxy-url = the SOCKS5 address, the grant certificate's files, the coordinator root as
// CA data), it is 0600, it never contains the private key, and usage errors say what to do.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { needs } from '../../src/testing/require.ts';
import { missingBinary } from '../../src/testing/netns.ts';
import { run } from '../../src/cli/kubeconfig.ts';
import { clientCert, tempDir, testPki } from './http-target-fixture.ts';

const KUBECTL = 'kubectl';
const noKubectl = missingBinary(KUBECTL);
const NAME = 'k8s.acme-prod.us-east-1.aws.byoc.test';
const tmp = tempDir('sallyport-kubeconfig-');
after(() => tmp.remove());

async function cli(...argv: string[]) {
  let out = '';
  let err = '';
  const code = await run(argv, {
    env: { SALLYPORT_STATE: join(tmp.dir, 'state') },
    stdout: (s) => (out += s),
    stderr: (s) => (err += s),
  });
  return { code, out, err };
}

test('writes a kubeconfig kubectl reads: tailnet server, SOCKS5 proxy-url, grant certificate, root CA', async (t) => {
  const pki = await testPki();
  const dir = join(tmp.dir, 'state', 'certs', 'g-1');
  mkdirSync(dir, { recursive: true });
  const c = await clientCert(pki, dir, 'engineer', 'g-1');
  // --cert defaults to the only certificate directory under STATE/certs.
  const r = await cli('acme-prod', '--name', NAME, '--socks', '127.0.0.1:1055', '--namespace', 'prod');
  assert.equal(r.code, 0, r.err);
  const file = join(tmp.dir, 'state', 'kube', 'acme-prod-k8s.yaml');
  assert.match(r.out, new RegExp(file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
  assert.equal(statSync(file).mode & 0o777, 0o600);
  const text = readFileSync(file, 'utf8');
  assert.ok(!text.includes(c.keyPem.split('\n')[1]), 'the private key is referred to, not copied');
  if (!needs(t, noKubectl)) return;
  const v = spawnSync(KUBECTL, ['config', 'view', '--raw', '-o', 'json', '--kubeconfig', file], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: tmp.dir },
  });
  assert.equal(v.status, 0, v.stderr);
  const cfg = JSON.parse(v.stdout) as {
    clusters: { cluster: Record<string, string> }[];
    users: { user: Record<string, string> }[];
    contexts: { context: Record<string, string> }[];
    'current-context': string;
  };
  const cl = cfg.clusters[0].cluster;
  assert.equal(cl.server, `https://${NAME}`);
  assert.equal(cl['proxy-url'], 'socks5://127.0.0.1:1055');
  assert.equal(Buffer.from(cl['certificate-authority-data'], 'base64').toString(), pki.root.certPem);
  assert.equal(cfg.users[0].user['client-certificate'], c.certFile);
  assert.equal(cfg.users[0].user['client-key'], c.keyFile);
  assert.equal(cfg.contexts[0].context.namespace, 'prod');
  assert.equal(cfg['current-context'], 'sallyport-acme-prod-k8s');
});

test('usage errors: exit 2 with what to do', async () => {
  const none = await cli();
  assert.equal(none.code, 2);
  assert.match(none.err, /DEPLOYMENT/);
  const badSocks = await cli('acme-prod', '--socks', 'nope', '--name', NAME);
  assert.equal(badSocks.code, 2);
  assert.match(badSocks.err, /HOST:PORT/);
  const noCert = await cli(
    'acme-prod',
    '--cert',
    join(tmp.dir, 'missing'),
    '--name',
    NAME,
    '--socks',
    '127.0.0.1:1',
  );
  assert.equal(noCert.code, 2);
  assert.match(noCert.err, /sallyport cert/);
  // Without --name and ca.pem the coordinator is needed; without a server, say so.
  const dir = join(tmp.dir, 'bare');
  mkdirSync(dir);
  await clientCert(await testPki(), dir, 'engineer', 'g-2');
  const noServer = await cli('acme-prod', '--cert', dir, '--socks', '127.0.0.1:1');
  assert.equal(noServer.code, 2);
  assert.match(noServer.err, /--server|SALLYPORT_SERVER/);
  const help = await cli('--help');
  assert.equal(help.code, 0);
  assert.match(help.out, /example:/);
});
