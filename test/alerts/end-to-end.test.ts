// Alerts end to end with the real Debian components: Prometheus scrapes a target this test serves
// (as job="clickhouse", labelled deployment="acme-prod") and evaluates the shipped ClickHouse rules
// (deploy/prometheus/rules/clickhouse.yml, `for:` shortened); Alertmanager routes to the
// coordinator's webhook with a receiver token in a credentials file, as deploy/alertmanager does.
// The target stops → ClickHouseDown fires → an incident opens in the API and a notification
// reaches the webhook receiver; the target comes back → resolved → the incident is closed.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { needs } from '../../src/testing/require.ts';
import { startFixture, type Fixture } from '../control/fixture.ts';
import { startReceiver, waitFor, type Hook } from './helpers.ts';

const root = new URL('../..', import.meta.url).pathname;
const PROMETHEUS = '/usr/bin/prometheus';
const ALERTMANAGER = '/usr/bin/prometheus-alertmanager';
const missing = !existsSync(PROMETHEUS)
  ? 'prometheus missing (Debian package prometheus)'
  : !existsSync(ALERTMANAGER)
    ? 'prometheus-alertmanager missing (Debian package prometheus-alertmanager)'
    : undefined;

/** A free loopback port (bound, then released). */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** The scrape target: a tiny /metrics endpoint that can be stopped and started on its port. */
class Target {
  #server: Server | undefined;
  constructor(readonly port: number) {}
  async start(): Promise<void> {
    this.#server = createServer((_req, res) =>
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end('ClickHouseMetrics_Query 0\n'),
    );
    await new Promise<void>((resolve, reject) => {
      this.#server!.once('error', reject);
      this.#server!.listen(this.port, '127.0.0.1', () => resolve());
    });
  }
  async stop(): Promise<void> {
    const s = this.#server;
    this.#server = undefined;
    if (!s) return;
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
}

let f: Fixture;
let hook: Hook;
let dir: string;
let target: Target;
const procs: ChildProcess[] = [];
const output: string[] = [];

function run(bin: string, args: string[]): ChildProcess {
  const p = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const keep = (b: Buffer) => {
    if (output.length < 2000) output.push(b.toString());
  };
  p.stdout!.on('data', keep);
  p.stderr!.on('data', keep);
  procs.push(p);
  return p;
}

type Incident = { id: string; alertname: string; state: string; deployment: string | null };

before(async () => {
  if (missing) return;
  dir = mkdtempSync(join(tmpdir(), 'sallyport-alerts-'));
  hook = await startReceiver();
  f = await startFixture({ webhooks: [hook.url] });
  await f.admin.call('POST', '/api/v1/deployments', { name: 'acme-prod', region: 'us-east-1', cloud: 'aws' });
  const { token } = await f.admin.call<{ token: string }>('POST', '/api/v1/alert-tokens', {
    name: 'alertmanager',
  });
  writeFileSync(join(dir, 'token'), `${token}\n`, { mode: 0o600 });
  writeFileSync(join(dir, 'coordinator-ca.pem'), f.coord.tls.cert);

  target = new Target(await freePort());
  await target.start();
  const promPort = await freePort();
  const amPort = await freePort();

  // The shipped ClickHouse rules, with `for:` cut to 1 s so the test takes seconds, not minutes.
  const rules = readFileSync(join(root, 'deploy/prometheus/rules/clickhouse.yml'), 'utf8').replace(
    /for: \d+m/g,
    'for: 1s',
  );
  writeFileSync(join(dir, 'rules.yml'), rules);
  writeFileSync(
    join(dir, 'prometheus.yml'),
    [
      'global: { scrape_interval: 1s, evaluation_interval: 1s, scrape_timeout: 900ms }',
      'rule_files: [rules.yml]',
      `alerting: { alertmanagers: [ { static_configs: [ { targets: ['127.0.0.1:${amPort}'] } ] } ] }`,
      'scrape_configs:',
      '  - job_name: clickhouse',
      `    static_configs: [ { targets: ['127.0.0.1:${target.port}'], labels: { deployment: acme-prod } } ]`,
      '',
    ].join('\n'),
  );
  // deploy/alertmanager/alertmanager.yml with test timings, the test's URL, token file and CA.
  const am = readFileSync(join(root, 'deploy/alertmanager/alertmanager.yml'), 'utf8')
    .replace('resolve_timeout: 5m', 'resolve_timeout: 10s')
    .replace('group_wait: 30s', 'group_wait: 1s')
    .replace('group_interval: 5m', 'group_interval: 1s')
    .replace(
      "url: 'https://coordinator.example.net/api/v1/alerts/alertmanager'",
      `url: '${f.coord.url}/api/v1/alerts/alertmanager'`,
    )
    .replace(
      'credentials_file: /etc/prometheus/sallyport-alert-token',
      `credentials_file: ${join(dir, 'token')}
          tls_config:
            ca_file: ${join(dir, 'coordinator-ca.pem')}`,
    );
  assert.ok(
    am.includes(f.coord.url) && am.includes('ca_file'),
    'the shipped Alertmanager config was rewritten',
  );
  writeFileSync(join(dir, 'alertmanager.yml'), am);

  run(ALERTMANAGER, [
    `--config.file=${join(dir, 'alertmanager.yml')}`,
    `--storage.path=${join(dir, 'am-data')}`,
    `--web.listen-address=127.0.0.1:${amPort}`,
    '--cluster.listen-address=',
  ]);
  run(PROMETHEUS, [
    `--config.file=${join(dir, 'prometheus.yml')}`,
    `--storage.tsdb.path=${join(dir, 'prom-data')}`,
    `--web.listen-address=127.0.0.1:${promPort}`,
  ]);
});

after(async () => {
  for (const p of procs) if (p.exitCode === null && p.pid) p.kill('SIGTERM');
  await Promise.all(
    procs.map(
      (p) =>
        new Promise<void>((r) => {
          if (p.exitCode !== null) return r();
          const t = setTimeout(() => {
            p.kill('SIGKILL');
            r();
          }, 5000);
          p.once('exit', () => {
            clearTimeout(t);
            r();
          });
        }),
    ),
  );
  await target?.stop();
  await f?.stop();
  await new Promise((r) => hook?.server.close(r));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('a ClickHouse target goes down and comes back: the incident opens and closes, notified', async (t) => {
  if (!needs(t, missing)) return;
  const incidents = (state: string) => f.admin.call<Incident[]>('GET', `/api/v1/incidents?state=${state}`);
  const diagnose = () => output.join('').split('\n').slice(-30).join('\n');
  // Let Prometheus see the target up first, then take it away.
  await new Promise((r) => setTimeout(r, 3000));
  assert.deepEqual(await incidents('all'), [], diagnose());
  await target.stop();

  try {
    await waitFor(async () => (await incidents('open')).length > 0, 60_000, 'incident opened');
  } catch (e) {
    throw new Error(`${(e as Error).message}\n${diagnose()}`);
  }
  const [open] = await incidents('open');
  assert.equal(open.alertname, 'ClickHouseDown');
  assert.equal(open.deployment, 'acme-prod');
  await waitFor(
    () => hook.bodies.some((b) => b.text.includes('Incident opened') && b.text.includes('ClickHouseDown')),
    10_000,
    'notification of the open incident',
  );

  await target.start();
  try {
    await waitFor(async () => (await incidents('open')).length === 0, 60_000, 'incident closed');
  } catch (e) {
    throw new Error(`${(e as Error).message}\n${diagnose()}`);
  }
  const closed = await incidents('closed');
  assert.equal(closed.length, 1);
  assert.equal(closed[0].id, open.id);
  await waitFor(
    () => hook.bodies.some((b) => b.text.includes('Incident resolved') && b.text.includes('ClickHouseDown')),
    10_000,
    'notification of the resolved incident',
  );
  const audit = await f.admin.call<{ action: string; actor: string }[]>('GET', '/api/v1/audit?limit=10000');
  assert.deepEqual(
    audit.filter((a) => a.action.startsWith('incident.')).map((a) => [a.action, a.actor]),
    [
      ['incident.open', 'alert-token:alertmanager'],
      ['incident.close', 'alert-token:alertmanager'],
    ],
  );
});
