// A private Prometheus (Debian's 2.42) for tests and the lab: a config in DIR scraping itself every
// second (plus any extra targets), storage in DIR/data, listening on 127.0.0.1 only.
//
//   startPrometheus ─► pick a free port ─► write DIR/prometheus.yml ─► spawn ─► poll /-/ready
//   stop ─► SIGTERM, SIGKILL after 5 s
//
// With `adminApi` the TSDB admin endpoints (/api/v1/admin/tsdb/…) are on, so a test can show
// that only the router stands between an engineer and delete_series.
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { delimiter, join } from 'node:path';
import { realClock, type Clock } from '../../clock/index.ts';

/** Debian's package installs `prometheus` on PATH. */
export const PROMETHEUS_BINARY = 'prometheus';
const READY_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 5000;

export interface PrometheusOptions {
  /** Working directory (config, data, log). */
  dir: string;
  /** Extra scrape targets, HOST:PORT (Prometheus always scrapes itself). */
  scrapeTargets?: string[];
  /** Enable /api/v1/admin/… (--web.enable-admin-api); default false. */
  adminApi?: boolean;
  /** Enable /-/reload and /-/quit (--web.enable-lifecycle); default false. */
  lifecycle?: boolean;
  /**
   * The whole configuration instead of the self-scraping one (`scrapeTargets` is then ignored);
   * given the port Prometheus will listen on.
   */
  config?: (selfPort: number) => string;
  binary?: string;
  clock?: Clock;
}

export interface PrometheusServer {
  port: number;
  url: string;
  pid: number;
  stop(): Promise<void>;
}

/** The executable's full path (a name is looked up on PATH), or undefined. */
export function prometheusBinary(name = PROMETHEUS_BINARY): string | undefined {
  const dirs = name.includes('/') ? [''] : (process.env.PATH ?? '').split(delimiter).filter(Boolean);
  for (const d of dirs) {
    const p = d ? join(d, name) : name;
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return undefined;
}

export function prometheusInstalled(binary = PROMETHEUS_BINARY): boolean {
  return prometheusBinary(binary) !== undefined;
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

function get(url: string): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get(url, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve(0));
  });
}

export function prometheusConfig(selfPort: number, extra: string[] = []): string {
  const targets = [`127.0.0.1:${selfPort}`, ...extra].map((t) => `'${t.replace(/'/g, '')}'`).join(', ');
  return [
    'global:',
    '  scrape_interval: 1s',
    '  evaluation_interval: 1s',
    'scrape_configs:',
    '  - job_name: prometheus',
    `    static_configs:`,
    `      - targets: [${targets}]`,
    '',
  ].join('\n');
}

export async function startPrometheus(o: PrometheusOptions): Promise<PrometheusServer> {
  const clock = o.clock ?? realClock;
  const sleep = (ms: number) => new Promise<void>((r) => clock.setTimeout(r, ms));
  mkdirSync(join(o.dir, 'data'), { recursive: true });
  const port = await freePort();
  const config = join(o.dir, 'prometheus.yml');
  writeFileSync(config, o.config ? o.config(port) : prometheusConfig(port, o.scrapeTargets));
  const args = [
    `--config.file=${config}`,
    `--storage.tsdb.path=${join(o.dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    ...(o.adminApi ? ['--web.enable-admin-api'] : []),
    ...(o.lifecycle ? ['--web.enable-lifecycle'] : []),
  ];
  const binary = prometheusBinary(o.binary);
  if (!binary)
    throw new Error(`${o.binary ?? PROMETHEUS_BINARY} not found on PATH (Debian package prometheus)`);
  const child: ChildProcess = spawn(binary, args, {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr?.on('data', (d: Buffer) => {
    log = (log + d.toString()).slice(-8192);
  });
  let exited = false;
  const exit = new Promise<void>((r) => child.once('exit', () => ((exited = true), r())));
  child.once('error', () => (exited = true));
  const stop = async (): Promise<void> => {
    if (exited) return;
    child.kill('SIGTERM');
    const t = clock.setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await exit;
    clock.clearTimeout(t);
  };
  const url = `http://127.0.0.1:${port}`;
  const t0 = clock.now();
  while ((await get(`${url}/-/ready`)) !== 200) {
    if (exited || clock.now() - t0 > READY_TIMEOUT_MS) {
      await stop();
      throw new Error(`prometheus did not become ready on ${url}: ${log.split('\n').slice(-5).join(' | ')}`);
    }
    await sleep(100);
  }
  return { port, url, pid: child.pid ?? 0, stop };
}
