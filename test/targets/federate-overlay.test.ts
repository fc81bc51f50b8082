// The vendor's metrics pull end to end (issue 18, docs/alerts.md "Metrics pull through the
// overlay"): the customer's Prometheus (Debian's, scraping itself, admin and lifecycle APIs on)
// behind a connector as a `prometheus` service; the vendor's puller is a machine user with a
// standing grant from the policy's `standing` entry; its agent makes the grant certificate
// (`sallyport cert --agent`) and a local forward (`sallyport connect`); a SECOND Debian Prometheus
// on the vendor side runs the scrape configuration of docs/alerts.md as written (paths, port and
// server name substituted) and federates through the forward. The vendor Prometheus's own query API
// then returns the customer's series; a write and an admin call through the same forward with the
// same certificate are refused by the connector's target and never reach the customer Prometheus.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, readdirSync, existsSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { join } from 'node:path';
import { Harness, withTimeout, type AgentHandle } from '../../src/testing/harness.ts';
import { needs } from '../../src/testing/require.ts';
import { readConfigFile } from '../../src/agent/index.ts';
import { targetKinds } from '../../src/targets/index.ts';
import { run as runConnect } from '../../src/cli/connect.ts';
import { runAccess } from '../../src/cli/access.ts';
import {
  prometheusInstalled,
  startPrometheus,
  type PrometheusServer,
} from '../../src/lab/servers/prometheus.ts';
import { tempDir } from './http-target-fixture.ts';
import { writeFileSync } from 'node:fs';

const missing = !prometheusInstalled()
  ? 'needs prometheus on PATH (Debian package prometheus)'
  : !targetKinds().includes('prometheus')
    ? 'the prometheus target is not registered in src/targets/registry.ts'
    : undefined;

const root = new URL('../..', import.meta.url).pathname;
const section = (() => {
  const doc = readFileSync(join(root, 'docs/alerts.md'), 'utf8');
  const from = doc.indexOf('## Metrics pull through the overlay');
  return doc.slice(from, doc.indexOf('\n## ', from + 1));
})();
const block = (lang: string): string => {
  const m = new RegExp('```' + lang + '\\n([\\s\\S]*?)```').exec(section);
  assert.ok(m, `docs/alerts.md's metrics pull section has a ${lang} block`);
  return m[1]
    .split('\n')
    .map((l) => l.replace(/^ {3}/, ''))
    .join('\n');
};
/** The section's `sallyport …` lines, as written, with this run's directory for /etc/prometheus. */
function docsCommand(prefix: string, etc: string): string[] {
  const lines = block('sh')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith(prefix));
  assert.equal(lines.length, 1, prefix);
  return lines[0].replaceAll('/etc/prometheus/', `${etc}/`).split(/\s+/).slice(2);
}

let tmp: ReturnType<typeof tempDir>;
let customer: PrometheusServer | undefined;
let vendor: PrometheusServer | undefined;
let h: Harness | undefined;
let puller: AgentHandle;
let grantId: string;
let certDir: string;
let tailnetName: string;
let forwardPort: number;
const stopForward = new AbortController();
let connectDone: Promise<number> | undefined;

before(async () => {
  if (missing) return;
  tmp = tempDir('sallyport-federate-');
  customer = await startPrometheus({ dir: join(tmp.dir, 'customer'), adminApi: true, lifecycle: true });
  h = await Harness.start();
  await h.deployment('acme-prod');
  const config = join(tmp.dir, 'connector.json');
  writeFileSync(
    config,
    JSON.stringify({
      services: [{ name: 'prometheus', kind: 'prometheus', address: `127.0.0.1:${customer.port}` }],
    }),
  );
  const conn = await h.connector({ deployment: 'acme-prod', services: readConfigFile(config) });
  await h.serviceCertRoot(conn.agent, ['prometheus']);

  // The machine identity and its standing grant, from the policy document.
  await h.user('metrics-puller');
  await h.api.call('PUT', '/api/v1/policy', {
    version: 1,
    policies: [],
    standing: [
      {
        id: 'metrics',
        description: 'vendor metrics federation',
        machines: ['metrics-puller'],
        deployments: '*',
        services: { labels: { kind: 'prometheus' } },
        access: 'read-only',
      },
    ],
  });
  puller = await h.engineer({ user: 'metrics-puller', name: 'metrics-puller' });
  await h.coordinator.standing.reconcile();
  await h.connected(puller, conn);
  const nm = await withTimeout(
    puller.agent.whenNetmap((n) => n.grants.length > 0),
    15_000,
    'the standing grant in the puller’s netmap',
  );
  assert.equal(nm.grants.length, 1);
  assert.equal(nm.grants[0].notAfter, null, 'a standing grant has no end');
  grantId = nm.grants[0].id;

  // `sallyport cert --agent`: the running agent makes the key and fetches the certificate.
  const etc = join(tmp.dir, 'etc');
  mkdirSync(etc, { recursive: true });
  const certArgs = docsCommand('sallyport cert ', etc);
  certDir = certArgs[certArgs.indexOf('--out') + 1];
  let err = '';
  const code = await runAccess('cert', [...certArgs, '--state', puller.stateDir], {
    env: {},
    stdout: () => {},
    stderr: (s: string) => (err += s),
  });
  assert.equal(code, 0, err);

  // `sallyport connect acme-prod/prometheus --local 127.0.0.1:0`, until the test ends.
  const ready = new Promise<string>((ok) => {
    // As written, but on a port the system picks.
    const args = docsCommand('sallyport connect ', etc).map((a) => a.replace(/:19090$/, ':0'));
    connectDone = runConnect([...args, '--state', puller.stateDir], {
      signal: stopForward.signal,
      onReady: ok,
    });
    void connectDone.then((c) => ok(`exited ${c}`));
  });
  const local = await ready;
  const port = /:(\d+)$/.exec(local);
  assert.ok(port, `sallyport connect: ${local}`);
  forwardPort = Number(port[1]);
  tailnetName = puller.agent.netmap!.services.find(
    (s) => s.name === 'prometheus' && s.deployment === 'acme-prod',
  )!.tailnetName;
});

after(async () => {
  stopForward.abort();
  await connectDone;
  await vendor?.stop();
  await h?.stop();
  await customer?.stop();
  tmp?.remove();
});

function getJson<T>(url: string): Promise<T> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        let b = '';
        res.on('data', (d: Buffer) => (b += d.toString()));
        res.on('end', () => {
          try {
            resolve(JSON.parse(b) as T);
          } catch (e) {
            reject(e as Error);
          }
        });
      })
      .on('error', reject);
  });
}

/** A call through the local forward with the grant certificate, as the vendor Prometheus makes. */
function viaForward(method: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port: forwardPort,
        servername: tailnetName,
        method,
        path,
        ca: readFileSync(join(certDir, 'ca.pem')),
        cert: readFileSync(join(certDir, 'cert.pem')),
        key: readFileSync(join(certDir, 'key.pem')),
        timeout: 10_000,
      },
      (res) => {
        let b = '';
        res.on('data', (d: Buffer) => (b += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: b }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

test('a vendor Prometheus federates the customer Prometheus through the overlay; writes are refused', async (t) => {
  if (!needs(t, missing)) return;
  // The scrape configuration of docs/alerts.md, with this run's files, forward port and name.
  const docs = block('yaml');
  assert.ok(docs.includes('server_name: prometheus.acme-prod.'), docs);
  let scrape = docs
    .replace(/server_name: \S+/, `server_name: ${tailnetName}`)
    .replace("'127.0.0.1:19090'", `'127.0.0.1:${forwardPort}'`);
  scrape = scrape.replaceAll('/etc/prometheus/', `${join(tmp.dir, 'etc')}/`);
  assert.ok(!scrape.includes('/etc/prometheus/') && !scrape.includes('19090'), scrape);
  vendor = await startPrometheus({
    dir: join(tmp.dir, 'vendor'),
    config: () => `global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n${scrape}`,
  });

  // The vendor's own query API returns the customer's series (its instance is the customer's
  // address, which the vendor never scrapes; `deployment` is the scrape config's label).
  type Result = { metric: Record<string, string>; value: [number, string] }[];
  let result: Result = [];
  const q = encodeURIComponent('prometheus_build_info{deployment="acme-prod"}');
  const t0 = performance.now();
  while (performance.now() - t0 < 30_000) {
    result = (await getJson<{ data: { result: Result } }>(`${vendor.url}/api/v1/query?query=${q}`)).data
      .result;
    if (result.length) break;
    await new Promise((ok) => setTimeout(ok, 500));
  }
  assert.equal(result.length, 1, 'the customer’s prometheus_build_info reached the vendor within 30 s');
  assert.equal(result[0].metric.instance, `127.0.0.1:${customer!.port}`);
  assert.equal(result[0].metric.job, 'prometheus');
  const up = (
    await getJson<{ data: { result: Result } }>(
      `${vendor.url}/api/v1/query?query=${encodeURIComponent('up{job="federate-acme-prod"}')}`,
    )
  ).data.result;
  assert.equal(up[0]?.value[1], '1', 'the vendor’s federation target is up');

  // A write and an admin call through the same forward, with the same certificate: refused.
  for (const path of [
    '/api/v1/admin/tsdb/snapshot',
    '/-/reload',
    '/api/v1/admin/tsdb/delete_series?match[]=up',
  ]) {
    const r = await viaForward('POST', path);
    assert.equal(r.status, 403, `${path}: ${r.status} ${r.body.slice(0, 200)}`);
  }
  // …and they never reached the customer Prometheus: no snapshot, and its own request counter has
  // no snapshot, reload or delete_series request (the admin API and lifecycle are on there).
  const snaps = join(tmp.dir, 'customer', 'data', 'snapshots');
  assert.ok(!existsSync(snaps) || readdirSync(snaps).length === 0);
  const seen = (
    await getJson<{ data: { result: Result } }>(
      `${customer!.url}/api/v1/query?query=${encodeURIComponent(
        'prometheus_http_requests_total{handler=~".*(snapshot|reload|delete_series).*"}',
      )}`,
    )
  ).data.result;
  assert.ok(
    seen.every((s) => s.value[1] === '0'),
    JSON.stringify(seen),
  );
  // The federation did reach it (its counter is scraped every second: poll a little).
  let federated = 0;
  for (let i = 0; i < 20 && federated === 0; i++) {
    if (i) await new Promise((ok) => setTimeout(ok, 250));
    const fed = (
      await getJson<{ data: { result: Result } }>(
        `${customer!.url}/api/v1/query?query=${encodeURIComponent('prometheus_http_requests_total{handler="/federate"}')}`,
      )
    ).data.result;
    federated = Number(fed[0]?.value[1] ?? 0);
  }
  assert.ok(federated > 0, 'the customer Prometheus served /federate');
  assert.ok(grantId);
});
