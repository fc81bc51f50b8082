// docs/alerts.md stays true: its table lists exactly the alerts of each shipped rule file; its
// promtool lines pass; its `sallyport admin alert-tokens` and `sallyport incidents` lines run
// against a coordinator exactly as written; its `sallyport connect` line parses (it then wants a
// running agent); and its federation scrape configuration passes `promtool check config`
// (test/targets/federate-overlay.test.ts runs that configuration and the `cert --agent` line).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run as runAdmin } from '../../src/cli/admin.ts';
import { run as runConnect } from '../../src/cli/connect.ts';
import { run as runIncidents } from '../../src/cli/incidents.ts';
import { needs } from '../../src/testing/require.ts';
import { ADMIN, startFixture, type Fixture } from '../control/fixture.ts';

const root = new URL('../..', import.meta.url).pathname;
const doc = readFileSync(join(root, 'docs/alerts.md'), 'utf8');
const blocks = (lang: string) =>
  [...doc.matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))].map((m) =>
    m[1]
      .split('\n')
      .map((l) => l.replace(/^ {3}/, ''))
      .join('\n'),
  );
const shLines = blocks('sh').flatMap((b) =>
  b
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean),
);
const promtoolMissing = existsSync('/usr/bin/promtool')
  ? undefined
  : 'promtool missing (Debian package prometheus)';

let f: Fixture | undefined;
let dir = '';
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sallyport-alerts-doc-'));
});
after(async () => {
  await f?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test("the doc's table names exactly the alerts of each rule file", () => {
  const rows = [...doc.matchAll(/^\| `([a-z-]+\.yml)` +\| `([a-z-]+)` +\| ([^|]+)\|$/gm)];
  const files =
    readFileSync(join(root, 'deploy/prometheus/rules', 'clickhouse.yml'), 'utf8') && rows.map((r) => r[1]);
  assert.equal(rows.length, 5, 'five rule files in the table');
  for (const [, file, job, alerts] of rows) {
    const text = readFileSync(join(root, 'deploy/prometheus/rules', file), 'utf8');
    const names = [...text.matchAll(/- alert: (\S+)/g)].map((m) => m[1]);
    assert.deepEqual(alerts.trim().split(/,\s*/), names, file);
    assert.ok(text.includes(`job="${job}"`), `${file} uses job ${job}`);
  }
  assert.equal(new Set(files).size, 5);
});

test('the promtool lines pass as written', (t) => {
  if (!needs(t, promtoolMissing)) return;
  const lines = shLines.filter((l) => l.startsWith('promtool '));
  assert.equal(lines.length, 2);
  for (const l of lines) {
    const r = spawnSync('sh', ['-c', l], { cwd: root, encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 0, `${l}\n${r.stdout}${r.stderr}`);
  }
});

test('the sallyport admin alert-tokens and sallyport incidents lines run as written', async () => {
  f = await startFixture();
  await f.admin.call('POST', '/api/v1/deployments', { name: 'acme-prod', region: 'us-east-1', cloud: 'aws' });
  const login = await f.anon.raw('POST', '/api/v1/login', { user: ADMIN.name, password: ADMIN.password });
  const env = {
    SALLYPORT_SERVER: f.coord.url,
    SALLYPORT_TOKEN: (login.body as { token: string }).token,
    SALLYPORT_FINGERPRINT: f.coord.tls.fingerprint,
  };
  const lines = shLines.filter((l) => /^sallyport (admin alert-tokens|incidents)\b/.test(l));
  assert.ok(lines.length >= 7, `only ${lines.length} lines`);
  for (const l of lines) {
    const args = l.split(/\s+/).slice(1);
    let out = '';
    let err = '';
    const io = {
      env,
      stdout: (s: string) => (out += s),
      stderr: (s: string) => (err += s),
      stdinLine: () => '',
    };
    const code =
      args[0] === 'admin' ? await runAdmin(args.slice(1), io) : await runIncidents(args.slice(1), io);
    assert.equal(code, 0, `${l}\n${err}`);
    assert.ok(out.length > 0, l);
  }
});

test('the sallyport connect line parses (and then wants a running agent)', async () => {
  const lines = shLines.filter((l) => l.startsWith('sallyport connect '));
  assert.equal(lines.length, 1);
  const prev = process.env.SALLYPORT_STATE;
  process.env.SALLYPORT_STATE = dir;
  try {
    assert.equal(await runConnect(lines[0].split(/\s+/).slice(2)), 1, 'usage is right; no agent runs here');
  } finally {
    if (prev === undefined) delete process.env.SALLYPORT_STATE;
    else process.env.SALLYPORT_STATE = prev;
  }
});

test('the federation scrape configuration passes promtool check config', (t) => {
  if (!needs(t, promtoolMissing)) return;
  const yaml = blocks('yaml');
  assert.equal(yaml.length, 1);
  // The referenced files must exist for promtool: the same names under a temporary directory.
  let cfg = yaml[0];
  mkdirSync(join(dir, 'metrics-puller'), { recursive: true });
  for (const name of ['ca.pem', 'cert.pem', 'key.pem']) {
    const file = `metrics-puller/${name}`;
    writeFileSync(join(dir, file), '');
    cfg = cfg.replace(`/etc/prometheus/${file}`, join(dir, file));
  }
  assert.ok(!cfg.includes('/etc/prometheus/'));
  writeFileSync(join(dir, 'prometheus.yml'), cfg);
  const r = spawnSync('promtool', ['check', 'config', join(dir, 'prometheus.yml')], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
});
