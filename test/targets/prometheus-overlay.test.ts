// Debian's Prometheus through the overlay: a connector serving the prometheus target, an engineer
// agent with SOCKS5 and a grant certificate made on it; curl speaks TLS with that certificate to
// the tailnet name through SOCKS5. A query returns data; delete_series is refused by the router's
// target (with Prometheus's admin API on, so nothing else would have stopped it).
//
// Fail closed (issue 13): a second service, `prom-defaults`, is written the least a user writes
// (kind prometheus, no tls, no target): it is TLS-terminated and goes through the target too, so
// /api/v1/status/config and POST /api/v1/admin/tsdb/snapshot are refused there as well.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Harness, type AgentHandle } from '../../src/testing/harness.ts';
import { needs } from '../../src/testing/require.ts';
import { missingBinary } from '../../src/testing/netns.ts';
import { LocalAudit } from '../../src/agent/local-audit.ts';
import { readConfigFile } from '../../src/agent/index.ts';
import { targetKinds } from '../../src/targets/index.ts';
import {
  prometheusInstalled,
  startPrometheus,
  type PrometheusServer,
} from '../../src/lab/servers/prometheus.ts';
import { tempDir } from './http-target-fixture.ts';

const missing = !prometheusInstalled()
  ? 'needs prometheus on PATH (Debian package prometheus)'
  : (missingBinary('curl') ??
    (!targetKinds().includes('prometheus')
      ? 'the prometheus target is not registered in src/targets/registry.ts (lead wiring)'
      : undefined));

let tmp: ReturnType<typeof tempDir>;
let prom: PrometheusServer;
let h: Harness;
let conn: AgentHandle;
let eng: AgentHandle;
let grantId: string;
let certDir: string;
let url: string;
let url2: string;

function curl(
  path: string,
  ...extra: string[]
): Promise<{ code: number | null; status: number; body: string; err: string }> {
  const socks = `${eng.agent.socksAddress!.host}:${eng.agent.socksAddress!.port}`;
  return new Promise((resolve) => {
    const p = spawn(
      'curl',
      [
        '-sS',
        '--max-time',
        '10',
        '--socks5-hostname',
        socks,
        '--cacert',
        join(certDir, 'ca.pem'),
        '--cert',
        join(certDir, 'cert.pem'),
        '--key',
        join(certDir, 'key.pem'),
        '-w',
        '\n%{http_code}',
        ...extra,
        path.startsWith('https://') ? path : `${url}${path}`,
      ],
      { timeout: 20_000 },
    );
    let out = '';
    let err = '';
    p.stdout.on('data', (b: Buffer) => (out += b.toString()));
    p.stderr.on('data', (b: Buffer) => (err += b.toString()));
    p.on('close', (code) => {
      const i = out.lastIndexOf('\n');
      resolve({ code, status: Number(out.slice(i + 1)), body: out.slice(0, i), err });
    });
  });
}

before(async () => {
  if (missing) return;
  tmp = tempDir('sallyport-prom-overlay-');
  prom = await startPrometheus({ dir: join(tmp.dir, 'prom'), adminApi: true });
  h = await Harness.start();
  await h.deployment('acme-prod');
  await h.user('alice');
  const config = join(tmp.dir, 'connector.json');
  writeFileSync(
    config,
    JSON.stringify({
      services: [
        {
          name: 'prometheus',
          kind: 'prometheus',
          address: `127.0.0.1:${prom.port}`,
          tls: 'terminate',
          target: {},
        },
        { name: 'prom-defaults', kind: 'prometheus', address: `127.0.0.1:${prom.port}` },
      ],
    }),
  );
  conn = await h.connector({ deployment: 'acme-prod', services: readConfigFile(config) });
  const rootPem = await h.serviceCertRoot(conn.agent, ['prometheus', 'prom-defaults']);
  eng = await h.engineer({ user: 'alice', socks5: true });
  grantId = await h.grant({ type: 'user', name: 'alice' }, 'acme-prod', ['prometheus', 'prom-defaults']);
  await h.connected(eng, conn);
  const c = await eng.agent.grantCertificate(grantId);
  certDir = join(tmp.dir, 'cert');
  mkdirSync(certDir, { mode: 0o700 });
  writeFileSync(join(certDir, 'key.pem'), c.keyPem, { mode: 0o600 });
  writeFileSync(join(certDir, 'cert.pem'), c.chainPem);
  writeFileSync(join(certDir, 'ca.pem'), rootPem);
  url = `https://${eng.agent.netmap!.services.find((s) => s.name === 'prometheus')!.tailnetName}`;
  url2 = `https://${eng.agent.netmap!.services.find((s) => s.name === 'prom-defaults')!.tailnetName}`;
});

after(async () => {
  await h?.stop();
  await prom?.stop();
  tmp?.remove();
});

test('through the overlay: a query returns data, delete_series is refused', async (t) => {
  if (!needs(t, missing)) return;
  let result: { metric: Record<string, string>; value: [number, string] }[] = [];
  const t0 = performance.now();
  while (performance.now() - t0 < 15_000) {
    const r = await curl('/api/v1/query?query=up');
    assert.equal(r.code, 0, r.err);
    assert.equal(r.status, 200, r.body);
    result = (JSON.parse(r.body) as { data: { result: typeof result } }).data.result;
    if (result.length) break;
    await new Promise((ok) => setTimeout(ok, 250));
  }
  assert.equal(result[0]?.metric.job, 'prometheus');
  assert.equal(result[0].value[1], '1');

  const del = await curl('/api/v1/admin/tsdb/delete_series?match[]=up', '-X', 'POST');
  assert.equal(del.status, 403, del.body);
  assert.equal((JSON.parse(del.body) as { errorType: string }).errorType, 'forbidden');
  // The series is still there.
  const still = await curl('/api/v1/query?query=count(up)');
  assert.equal(
    (JSON.parse(still.body) as { data: { result: { value: [number, string] }[] } }).data.result[0].value[1],
    '1',
  );

  const audit = LocalAudit.read(conn.agent.targets!.audit.file).filter(
    (a) => a.action === 'prometheus.request',
  );
  assert.ok(
    audit.some((a) => a.details.refused === 'path' && String(a.details.target).includes('delete_series')),
  );
  assert.ok(audit.every((a) => a.subject === 'alice' && a.details.grantId === grantId));
});

test('prometheus without tls (the least a user writes): config and snapshot refused, queries work', async (t) => {
  if (!needs(t, missing)) return;
  for (const base of [url, url2]) {
    const q = await curl(`${base}/api/v1/query?query=up`);
    assert.equal(q.status, 200, `${base}: ${q.err} ${q.body}`);
    const cfg = await curl(`${base}/api/v1/status/config`);
    assert.equal(cfg.status, 403, `${base} status/config: ${cfg.status} ${cfg.body.slice(0, 200)}`);
    assert.ok(!cfg.body.includes('scrape_configs'), base);
    const snap = await curl(`${base}/api/v1/admin/tsdb/snapshot`, '-X', 'POST');
    assert.equal(snap.status, 403, `${base} snapshot: ${snap.status} ${snap.body.slice(0, 200)}`);
    assert.ok(!snap.body.includes('"name"'), base);
  }
  // And Prometheus made no snapshot.
  const { readdirSync, existsSync } = await import('node:fs');
  const snaps = join(tmp.dir, 'prom', 'data', 'snapshots');
  assert.ok(!existsSync(snaps) || readdirSync(snaps).length === 0);
});
