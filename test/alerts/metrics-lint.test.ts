// Every component's Prometheus exposition passes `promtool check metrics` (the lint Prometheus
// ships: HELP on every metric, counters named *_total, no reserved suffixes, units in names): the
// coordinator's and the relay's /metrics, both agents' (connector and engineer, through their
// control socket's `metrics` command — here straight from their registries), and the billing
// scraper's and state exporter's --metrics-listen endpoints, each after some traffic so that
// labelled series exist, not only empty families.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { needs } from '../../src/testing/require.ts';
import { Harness, waitFor, type AgentHandle } from '../../src/testing/harness.ts';

const root = new URL('../..', import.meta.url).pathname;
const bin = join(root, 'bin/sallyport.js');

function which(name: string): string | undefined {
  for (const d of (process.env.PATH ?? '').split(':'))
    if (d && existsSync(join(d, name))) return join(d, name);
  return undefined;
}

/** promtool's verdict on one exposition: exit status and what it printed. */
function lint(text: string): { status: number | null; out: string } {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, out: `${r.stdout}${r.stderr}`.trim() };
}

function assertClean(what: string, text: string): void {
  assert.match(text, /^# HELP sallyport_/m, `${what}: has sallyport metrics`);
  const r = lint(text);
  assert.equal(r.status, 0, `${what}: promtool check metrics\n${r.out}`);
  assert.equal(r.out, '', `${what}: promtool check metrics printed problems\n${r.out}`);
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

let h: Harness | undefined;
let conn: AgentHandle;
let eng: AgentHandle;
const children: ChildProcess[] = [];
const dir = mkdtempSync(join(tmpdir(), 'sallyport-metrics-lint-'));

before(async () => {
  if (!which('promtool')) return;
  h = await Harness.start();
  await h.deployment('acme-prod');
  await h.user('alice');
  conn = await h.connector({
    deployment: 'acme-prod',
    services: [{ name: 'web', kind: 'tcp', address: '127.0.0.1:9', tls: 'passthrough' }],
  });
  eng = await h.engineer({ user: 'alice' });
  await h.grant({ type: 'user', name: 'alice' }, 'acme-prod', ['web']);
  await waitFor(() => (eng.agent.netmap?.peers.length ?? 0) === 1, 15_000, 'the connector in the netmap');
});

after(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await h?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('the coordinator, the relay and both agents: promtool check metrics is clean', async (t) => {
  if (!needs(t, which('promtool') ? undefined : 'promtool missing (Debian package prometheus)')) return;
  // Some refusals and traffic first, so that labelled series are in the expositions.
  const refused = await fetch(`${h!.coordinator.url}/api/v1/deployments`).catch(() => undefined);
  void refused;
  await h!.connected(eng, conn);
  assertClean('coordinator', await h!.coordinator.metrics.registry.metrics());
  assertClean('relay', await h!.relay.registry.metrics());
  assertClean('connector agent', await conn.agent.metrics.registry.metrics());
  assertClean('engineer agent', await eng.agent.metrics.registry.metrics());
});

test('the billing scraper and the state exporter: promtool check metrics is clean', async (t) => {
  if (!needs(t, which('promtool') ? undefined : 'promtool missing (Debian package prometheus)')) return;
  // An endpoint nobody listens on: uploads fail and are counted, which is what we want to see.
  const dead = `http://127.0.0.1:${await freePort()}`;
  const env = {
    ...process.env,
    AWS_ACCESS_KEY_ID: 'lint',
    AWS_SECRET_ACCESS_KEY: 'lint',
    AWS_REGION: 'us-east-1',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
  const roles = [
    {
      name: 'billing-scraper',
      args: (port: number) => [
        'billing-scraper',
        '--deployment',
        'acme-prod',
        '--bucket',
        'usage',
        '--path-style',
        '--endpoint',
        dead,
        '--pid',
        String(process.pid),
        '--interval',
        '200ms',
        '--batch',
        '2',
        '--spool-dir',
        join(dir, 'billing'),
        '--metrics-listen',
        `127.0.0.1:${port}`,
        '--log-level',
        'silent',
      ],
    },
    {
      name: 'state-exporter',
      args: (port: number) => [
        'state-exporter',
        '--deployment',
        'acme-prod',
        '--queue-url',
        `${dead}/000000000000/state.fifo`,
        '--endpoint',
        dead,
        '--interval',
        '200ms',
        '--disk-path',
        dir,
        '--spool-dir',
        join(dir, 'state'),
        '--metrics-listen',
        `127.0.0.1:${port}`,
        '--log-level',
        'silent',
      ],
    },
  ];
  for (const role of roles) {
    const port = await freePort();
    const c = spawn(process.execPath, [bin, ...role.args(port)], {
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    children.push(c);
    let err = '';
    c.stderr!.on('data', (b: Buffer) => (err += b.toString()));
    let text = '';
    await waitFor(
      async () => {
        if (c.exitCode !== null) throw new Error(`${role.name} exited ${c.exitCode}: ${err}`);
        const r = await fetch(`http://127.0.0.1:${port}/metrics`).catch(() => undefined);
        if (!r?.ok) return false;
        text = await r.text();
        // Wait until a sample or snapshot has been taken and an upload tried.
        return /_samples_total\{[^}]*\} [1-9]/.test(text) || /_samples_total [1-9]/.test(text);
      },
      20_000,
      `${role.name} serving metrics with a sample taken`,
    );
    assertClean(role.name, text);
    c.kill('SIGTERM');
  }
});
