// What the egress integration tests share: the S3 and SQS stand-ins on 127.0.0.1, a cgroup v2
// child cgroup of the test's own with a busy process in it, and the CLI run as a child process.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, rmdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseCgroup2Mount, parseCpuStat } from '../../src/egress/cgroup.ts';

export const bin = fileURLToPath(new URL('../../bin/sallyport.js', import.meta.url));
export const FULL = process.env.SALLYPORT_FULL === '1';
/** The outage the tests impose on the bucket and the queue: 60 s in the full run, else 5 s. */
export const OUTAGE_MS = FULL ? 60_000 : 5_000;

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function until(what: string, fn: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await fn()) return;
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${what}`);
}

export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

interface S3rverInstance {
  run(): Promise<{ port: number }>;
  close(): Promise<void>;
}
type S3rverCtor = new (o: Record<string, unknown>) => S3rverInstance;
const S3rver = createRequire(import.meta.url)('s3rver') as S3rverCtor;

/** s3rver on 127.0.0.1:port, storing in `dir` (a restart with the same dir keeps the objects). */
export async function startS3(dir: string, port: number, bucket: string): Promise<S3rverInstance> {
  const s = new S3rver({
    address: '127.0.0.1',
    port,
    directory: dir,
    silent: true,
    configureBuckets: [{ name: bucket }],
  });
  await s.run();
  return s;
}

/** A child cgroup under the cgroup v2 hierarchy, or the reason it cannot be made. */
export function makeCgroup(name: string): { dir: string; remove: () => void } | string {
  const mount = parseCgroup2Mount(readFileSync('/proc/self/mounts', 'utf8'));
  if (!mount) return 'no cgroup v2 hierarchy mounted';
  const own = /^0::(\/.*)$/m.exec(readFileSync('/proc/self/cgroup', 'utf8'))?.[1] ?? '/';
  const dir = join(mount, own, name);
  try {
    mkdirSync(dir);
  } catch (e) {
    return `cannot create a cgroup under ${join(mount, own)}: ${(e as Error).message} (needs root and cgroup v2)`;
  }
  return {
    dir,
    remove: () => {
      try {
        rmdirSync(dir);
      } catch {
        /* a process still inside: left for the host to clean */
      }
    },
  };
}

export const usageUsec = (cg: string): number =>
  parseCpuStat(readFileSync(join(cg, 'cpu.stat'), 'utf8')).usageUsec;

/** A process spinning on one core inside cgroup `cg` (moved there before it starts to spin). */
export function busyIn(cg: string): ChildProcess {
  const p = spawn('sh', ['-c', `echo $$ > '${join(cg, 'cgroup.procs')}' && exec sha256sum /dev/zero`], {
    stdio: 'ignore',
  });
  return p;
}

/** The CLI as a child process; `out` collects stdout+stderr. */
export function cli(args: string[], env: Record<string, string>): { p: ChildProcess; out: () => string } {
  let out = '';
  const p = spawn(process.execPath, [bin, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  p.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  p.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  return { p, out: () => out };
}

export async function exited(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  await new Promise((r) => p.once('exit', r));
}

/**
 * A TCP forwarder to `target` on a fixed port that can be taken down (listener closed, live
 * connections cut) and brought back: the queue's outage as its clients see it, while the SQS
 * stand-in (which keeps messages in memory only) keeps what it already has.
 */
export async function outageProxy(
  target: number,
): Promise<{ port: number; down: () => Promise<void>; up: () => Promise<void>; close: () => Promise<void> }> {
  const { createConnection } = await import('node:net');
  const port = await freePort();
  const sockets = new Set<import('node:net').Socket>();
  let server: import('node:net').Server | undefined;
  const up = async () => {
    server = createServer((c) => {
      const u = createConnection({ host: '127.0.0.1', port: target });
      sockets.add(c).add(u);
      const end = () => {
        c.destroy();
        u.destroy();
        sockets.delete(c);
        sockets.delete(u);
      };
      c.on('error', end).on('close', end);
      u.on('error', end).on('close', end);
      c.pipe(u).pipe(c);
    });
    await new Promise<void>((r) => server!.listen(port, '127.0.0.1', r));
  };
  const down = async () => {
    const s = server;
    server = undefined;
    for (const x of sockets) x.destroy();
    sockets.clear();
    if (s) await new Promise((r) => s.close(r));
  };
  await up();
  return { port, down, up, close: down };
}
