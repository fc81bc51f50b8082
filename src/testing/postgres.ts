// A private PostgreSQL 15 for tests: Debian's binaries, a data directory in a temporary folder,
// a private unix-socket directory and a free loopback port; stopped by PID. PostgreSQL refuses to
// run as root, so as root the cluster is created and run as the `postgres` user (runuser).
//
//   const pg = await startPostgres();        // or undefined + reason via postgresMissing()
//   ... pg.url  (postgres://sallyport@127.0.0.1:PORT/sallyport)
//   await pg.stop();
//
// Streaming replication (the failover test): startPostgres({ conf: [...] }) for the primary,
// startStandby(primary, 'standby1') for a hot standby made with pg_basebackup; crash() stops a
// server the way a lost host does (immediate shutdown: no checkpoint), promote() makes a standby
// the primary.
import { spawn, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { freePort, sleep } from './ports.ts';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const PG_BIN = process.env.SALLYPORT_PG_BIN ?? '/usr/lib/postgresql/15/bin';

/** Undefined when PostgreSQL can be started here, else why not. */
export function postgresMissing(): string | undefined {
  if (!existsSync(join(PG_BIN, 'postgres')))
    return `PostgreSQL 15 binaries missing in ${PG_BIN} (apt-get install postgresql)`;
  if (process.getuid?.() === 0 && spawnSync('id', ['-u', 'postgres']).status !== 0)
    return 'running as root but there is no postgres user to run the server as';
  return undefined;
}

export interface PostgresInstance {
  url: string;
  port: number;
  pid: number;
  dir: string;
  /** The data directory. */
  data: string;
  stop(): Promise<void>;
  /** Immediate shutdown (SIGQUIT): no checkpoint, clients cut, as when the host is lost. */
  crash(): Promise<void>;
  /** A standby becomes a primary (pg_ctl promote, waiting until it accepts writes). */
  promote(): Promise<void>;
}

export interface PostgresOptions {
  /** postgresql.conf lines added after the test defaults (later lines win). */
  conf?: string[];
}

function idsOf(user: string): { uid: number; gid: number } {
  const uid = Number(spawnSync('id', ['-u', user]).stdout.toString().trim());
  const gid = Number(spawnSync('id', ['-g', user]).stdout.toString().trim());
  return { uid, gid };
}

function clusterDirs(): {
  asRoot: boolean;
  dir: string;
  data: string;
  sock: string;
  run: (cmd: string, args: string[]) => ReturnType<typeof spawnSync>;
} {
  const asRoot = process.getuid?.() === 0;
  const dir = mkdtempSync(join(tmpdir(), 'sallyport-pg-'));
  const data = join(dir, 'data');
  const sock = join(dir, 'sock');
  const run = (cmd: string, args: string[]) =>
    asRoot
      ? spawnSync('runuser', ['-u', 'postgres', '--', cmd, ...args], { cwd: dir })
      : spawnSync(cmd, args, { cwd: dir });
  spawnSync('mkdir', ['-p', sock]);
  if (asRoot) {
    const { uid, gid } = idsOf('postgres');
    chownSync(dir, uid, gid);
    chownSync(sock, uid, gid);
  }
  return { asRoot, dir, data, sock, run };
}

/** Starts a fresh cluster; resolves when it accepts connections. */
export async function startPostgres(o: PostgresOptions = {}): Promise<PostgresInstance> {
  const c = clusterDirs();
  const { dir, data, run } = c;
  const init = run(join(PG_BIN, 'initdb'), [
    '-D',
    data,
    '-U',
    'sallyport',
    '--auth=trust',
    '-E',
    'UTF8',
    '--no-sync',
  ]);
  if (init.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`initdb failed: ${init.stderr.toString()}`);
  }
  const port = await freePort();
  const conf = [
    `listen_addresses = '127.0.0.1'`,
    `port = ${port}`,
    `unix_socket_directories = '${c.sock}'`,
    'fsync = off',
    'synchronous_commit = off',
    'full_page_writes = off',
    'max_connections = 50',
    'shared_buffers = 16MB',
    ...(o.conf ?? []),
  ].join('\n');
  writeFileSync(
    join(data, 'postgresql.conf'),
    `${readFileSync(join(data, 'postgresql.conf'), 'utf8')}\n${conf}\n`,
  );
  return runCluster(c, port, true);
}

/**
 * A hot standby of `primary` (pg_basebackup over the replication protocol), streaming from it
 * under `name` (its application_name, for synchronous_standby_names).
 */
export async function startStandby(primary: PostgresInstance, name: string): Promise<PostgresInstance> {
  const c = clusterDirs();
  const base = c.run(join(PG_BIN, 'pg_basebackup'), [
    ...['-h', '127.0.0.1', '-p', String(primary.port), '-U', 'sallyport'],
    ...['-D', c.data, '-R', '-X', 'stream', '--no-sync', '--checkpoint=fast'],
  ]);
  if (base.status !== 0) {
    rmSync(c.dir, { recursive: true, force: true });
    throw new Error(`pg_basebackup failed: ${String(base.stderr)}`);
  }
  const port = await freePort();
  writeFileSync(
    join(c.data, 'postgresql.conf'),
    `${readFileSync(join(c.data, 'postgresql.conf'), 'utf8')}\nport = ${port}\nunix_socket_directories = '${c.sock}'\nhot_standby = on\n`,
  );
  writeFileSync(
    join(c.data, 'postgresql.auto.conf'),
    `${readFileSync(join(c.data, 'postgresql.auto.conf'), 'utf8')}\nprimary_conninfo = 'host=127.0.0.1 port=${primary.port} user=sallyport application_name=${name}'\n`,
  );
  return runCluster(c, port, false);
}

async function runCluster(
  c: ReturnType<typeof clusterDirs>,
  port: number,
  create: boolean,
): Promise<PostgresInstance> {
  const { asRoot, dir, data, sock, run } = c;
  const cmd = asRoot ? 'runuser' : join(PG_BIN, 'postgres');
  const args = asRoot ? ['-u', 'postgres', '--', join(PG_BIN, 'postgres'), '-D', data] : ['-D', data];
  const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => {
    if (stderr.length < 10_000) stderr += b.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  /** The postmaster's own PID (runuser does not forward signals), from postmaster.pid. */
  const serverPid = (): number | undefined => {
    try {
      const pid = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
      return Number.isInteger(pid) && pid > 0 ? pid : undefined;
    } catch {
      return undefined;
    }
  };
  const signal = (sig: NodeJS.Signals): void => {
    const pid = serverPid() ?? child.pid;
    try {
      if (pid) process.kill(pid, sig);
    } catch {
      /* already gone */
    }
  };
  const crash = async (): Promise<void> => {
    signal('SIGQUIT');
    await Promise.race([exited, sleep(10_000)]);
    if (child.exitCode === null && child.signalCode === null) signal('SIGKILL');
    await exited;
  };
  const promote = async (): Promise<void> => {
    const r = run(join(PG_BIN, 'pg_ctl'), ['promote', '-w', '-t', '30', '-D', data]);
    if (r.status !== 0) throw new Error(`pg_ctl promote failed: ${String(r.stderr)}`);
  };
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      // Smart shutdown first (waits for clients that are closing), then fast, then kill.
      signal('SIGTERM');
      await Promise.race([exited, sleep(3_000)]);
      if (child.exitCode === null && child.signalCode === null) signal('SIGINT');
      await Promise.race([exited, sleep(10_000)]);
      if (child.exitCode === null && child.signalCode === null) signal('SIGKILL');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  // Wait until it accepts connections (pg_isready) or exits.
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) break;
    const ready = spawnSync(join(PG_BIN, 'pg_isready'), ['-h', '127.0.0.1', '-p', String(port), '-q']);
    if (ready.status === 0) {
      if (create) {
        const created = run(join(PG_BIN, 'createdb'), [
          '-h',
          sock,
          '-p',
          String(port),
          '-U',
          'sallyport',
          'sallyport',
        ]);
        if (created.status !== 0) {
          await stop();
          throw new Error(`createdb failed: ${created.stderr.toString()}`);
        }
      }
      const url = `postgres://sallyport@127.0.0.1:${port}/sallyport`;
      return { url, port, pid: child.pid!, dir, data, stop, crash, promote };
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  await stop();
  throw new Error(`PostgreSQL did not start: ${stderr}`);
}
