// A private ClickHouse server on loopback, for the lab and the tests (COMPONENTS.md "ClickHouse
// 18.16"). Copies the distribution's config.xml into DIR, points every path (data, tmp, user
// files, logs) below DIR, listens on 127.0.0.1 only with fresh HTTP, native and interserver ports
// (the last one defaults to 9009 and would collide), and writes its own users.xml: one admin user
// (`default`, random password, loopback only) and nothing else — the distribution's password-less
// `readonly` user is left out. Grant users arrive later as DIR/users.d/*.xml (hot-reloaded).
//
//   startClickHouse ─► copy+rewrite config ─► spawn (PID from the child; --pid-file did nothing)
//                  ─► poll GET /ping until "Ok." ─► { ports, usersDir, admin, stop() }
//   stop() ─► SIGTERM ─► wait ≤ 5 s ─► SIGKILL
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { realClock, type Clock } from '../../clock/index.ts';

/** Where Debian (and the upstream packages) put the server binary. */
const BINARIES = ['/usr/bin/clickhouse-server', '/usr/sbin/clickhouse-server'];
/** The distribution's server config, copied and rewritten. */
const CONFIG_SOURCE = '/etc/clickhouse-server/config.xml';
const READY_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 5_000;

export interface ClickHouseOptions {
  /** Directory for config, data and logs (created if missing; the caller removes it). */
  dir: string;
  logger?: Logger;
  /** Aborting it stops the server (also while starting). */
  signal?: AbortSignal;
  /** Default realClock. */
  clock?: Clock;
  /** The server binary; default: SALLYPORT_CLICKHOUSE_SERVER, else the first of BINARIES present. */
  binary?: string;
  /** The config.xml to copy; default the distribution's. */
  configSource?: string;
}

export interface ClickHouseServer {
  pid: number;
  httpPort: number;
  tcpPort: number;
  /** `http://127.0.0.1:<httpPort>` */
  url: string;
  /** The users.d directory ClickHouse watches (the reconciler's `usersDir`). */
  usersDir: string;
  /** A full-rights user (the connector's admin for the audit poller; the tests' customer). */
  adminUser: { user: string; password: string };
  /** Stops the server (idempotent). */
  stop(): Promise<void>;
}

/** The server binary, or undefined when ClickHouse is not installed. */
export function clickhouseBinary(): string | undefined {
  const env = process.env.SALLYPORT_CLICKHOUSE_SERVER;
  if (env) return existsSync(env) ? env : undefined;
  return BINARIES.find((b) => existsSync(b));
}

export function clickhouseInstalled(): boolean {
  return clickhouseBinary() !== undefined && existsSync(CONFIG_SOURCE);
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((ok, ko) => s.once('error', ko).listen(0, '127.0.0.1', ok));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((ok) => s.close(() => ok()));
  return port;
}

function tag(xml: string, name: string, value: string): string {
  const re = new RegExp(`<${name}>[^<]*</${name}>`);
  if (!re.test(xml)) throw new Error(`clickhouse config: no <${name}> to rewrite`);
  return xml.replace(re, `<${name}>${value}</${name}>`);
}

/** The distribution's config with every path below dir, loopback only, and the given ports. */
export function rewriteConfig(xml: string, dir: string, ports: { http: number; tcp: number; inter: number }) {
  const d = resolve(dir);
  // Commented-out listen_host lines stay comments; the one added below is the only live one.
  let out = xml.replace(/<listen_host>[^<]*<\/listen_host>/g, (m, off: number) =>
    xml.lastIndexOf('<!--', off) > xml.lastIndexOf('-->', off) ? m : '',
  );
  out = out
    .replaceAll('/var/lib/clickhouse/', `${d}/data/`)
    .replaceAll('/var/log/clickhouse-server/', `${d}/log/`);
  out = tag(out, 'http_port', String(ports.http));
  out = tag(out, 'tcp_port', String(ports.tcp));
  out = tag(out, 'interserver_http_port', String(ports.inter));
  out = tag(out, 'users_config', 'users.xml');
  const root = out.match(/<(yandex|clickhouse)>/);
  if (!root || root.index === undefined) throw new Error('clickhouse config: no <yandex> root');
  const at = root.index + root[0].length;
  return `${out.slice(0, at)}\n    <listen_host>127.0.0.1</listen_host>${out.slice(at)}`;
}

/** users.xml: the admin (`default`) with a SHA-256 password, loopback only; no other user. */
export function adminUsersXml(password: string): string {
  const sha = createHash('sha256').update(password).digest('hex');
  return `<?xml version="1.0"?>
<yandex>
    <profiles>
        <default><max_memory_usage>2000000000</max_memory_usage></default>
    </profiles>
    <users>
        <default>
            <password_sha256_hex>${sha}</password_sha256_hex>
            <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
            <profile>default</profile>
            <quota>default</quota>
        </default>
    </users>
    <quotas>
        <default><interval><duration>3600</duration><queries>0</queries><errors>0</errors>
        <result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time></interval></default>
    </quotas>
</yandex>
`;
}

function ping(port: number): Promise<boolean> {
  return new Promise((ok) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/ping', timeout: 1000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => ok(res.statusCode === 200 && body.startsWith('Ok')));
      res.on('error', () => ok(false));
    });
    req.on('error', () => ok(false));
    req.on('timeout', () => req.destroy());
  });
}

function tail(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/** Starts a private ClickHouse server; resolves once it answers /ping. */
export async function startClickHouse(o: ClickHouseOptions): Promise<ClickHouseServer> {
  const binary = o.binary ?? clickhouseBinary();
  if (!binary) throw new Error('clickhouse-server is not installed (apt-get install clickhouse-server)');
  const clock = o.clock ?? realClock;
  const sleep = (ms: number) => new Promise<void>((r) => clock.setTimeout(r, ms));
  const dir = resolve(o.dir);
  const usersDir = join(dir, 'users.d');
  for (const d of [dir, usersDir, join(dir, 'data'), join(dir, 'log')]) mkdirSync(d, { recursive: true });
  const ports = { http: await freePort(), tcp: await freePort(), inter: await freePort() };
  const password = randomBytes(18).toString('base64url');
  const config = join(dir, 'config.xml');
  writeFileSync(config, rewriteConfig(readFileSync(o.configSource ?? CONFIG_SOURCE, 'utf8'), dir, ports));
  writeFileSync(join(dir, 'users.xml'), adminUsersXml(password), { mode: 0o600 });

  const child: ChildProcess = spawn(binary, [`--config-file=${config}`], {
    cwd: dir,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (c: string) => (stderr = (stderr + c).slice(-4000)));
  let exited = false;
  const exit = new Promise<void>((r) =>
    child.once('exit', () => {
      exited = true;
      r();
    }),
  );
  const log = o.logger?.child({ component: 'clickhouse', pid: child.pid });

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      o.signal?.removeEventListener('abort', onAbort);
      if (exited) return;
      child.kill('SIGTERM');
      const t = clock.setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await exit;
      clock.clearTimeout(t);
      log?.info('clickhouse stopped');
    })());
  const onAbort = () => void stop();
  o.signal?.addEventListener('abort', onAbort, { once: true });

  const t0 = clock.now();
  for (;;) {
    if (o.signal?.aborted) {
      await stop();
      throw new Error('clickhouse start aborted');
    }
    if (exited) {
      throw new Error(
        `clickhouse-server exited during start: ${stderr.trim().slice(-800)}\n${tail(join(dir, 'log', 'clickhouse-server.err.log'))}`,
      );
    }
    if (await ping(ports.http)) break;
    if (clock.now() - t0 > READY_TIMEOUT_MS) {
      await stop();
      throw new Error(`clickhouse-server did not answer /ping within ${READY_TIMEOUT_MS} ms`);
    }
    await sleep(100);
  }
  log?.info({ httpPort: ports.http, ms: Math.round(clock.now() - t0) }, 'clickhouse ready');
  return {
    pid: child.pid ?? -1,
    httpPort: ports.http,
    tcpPort: ports.tcp,
    url: `http://127.0.0.1:${ports.http}`,
    usersDir,
    adminUser: { user: 'default', password },
    stop,
  };
}
