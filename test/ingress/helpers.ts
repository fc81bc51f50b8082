// Shared by the ingress tests: a running `sallyport ingress` process, TLS clients, backends.
import type { ChildProcessByStdio } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { connect, type TLSSocket } from 'node:tls';
import type { Readable } from 'node:stream';
import { spawnCli } from '../../src/testing/spawn-cli.ts';
import { sleep } from '../../src/testing/ports.ts';

export interface Running {
  proc: ChildProcessByStdio<null, Readable, Readable>;
  out: () => string;
  err: () => string;
  stop(): Promise<number | null>;
}

/** Starts `sallyport ingress ARGS` and waits for "ingress listening" (or its exit). */
export async function startIngress(args: string[], ms = 30_000): Promise<Running> {
  const proc = spawnCli('ingress', args);
  let out = '';
  let err = '';
  proc.stdout.on('data', (d: Buffer) => (out += d));
  proc.stderr.on('data', (d: Buffer) => (err += d));
  const r: Running = {
    proc,
    out: () => out,
    err: () => err,
    stop: async () => {
      if (proc.exitCode === null) proc.kill('SIGTERM');
      if (proc.exitCode === null) await new Promise((res) => proc.once('exit', res));
      return proc.exitCode;
    },
  };
  const end = Date.now() + ms;
  while (!/ingress listening/.test(out)) {
    if (proc.exitCode !== null) throw new Error(`ingress exited ${proc.exitCode}: ${err}${out}`);
    if (Date.now() > end) {
      await r.stop();
      throw new Error(`ingress did not start: ${err}${out}`);
    }
    await sleep(50);
  }
  return r;
}

/** Runs `sallyport ingress ARGS` to its exit (usage errors and refusals to start). */
export async function runIngress(args: string[]): Promise<{ code: number | null; stderr: string }> {
  const proc = spawnCli('ingress', args);
  let err = '';
  proc.stderr.on('data', (d: Buffer) => (err += d));
  proc.stdout.resume();
  await new Promise((res) => proc.once('exit', res));
  return { code: proc.exitCode, stderr: err };
}

/** An echo backend that prefixes each reply with its name: "NAME:" + bytes. */
export async function echoBackend(
  name: string,
  host = '127.0.0.1',
): Promise<{ server: Server; port: number }> {
  const server = createServer((s) => {
    s.on('error', () => {});
    s.on('data', (d) => s.write(Buffer.concat([Buffer.from(`${name}:`), d])));
    s.on('end', () => s.end());
  });
  await new Promise<void>((r) => server.listen(0, host, () => r()));
  return { server, port: (server.address() as { port: number }).port };
}

export type Outcome = { ok: true; reply: string; socket: TLSSocket } | { ok: false; error: string };

/** A TLS client: connect, send `msg`, wait for a reply. Refusals show as ok: false. */
export function tlsRequest(o: {
  host?: string;
  port: number;
  servername?: string;
  ca?: string;
  msg?: string;
  localAddress?: string;
  keepOpen?: boolean;
}): Promise<Outcome> {
  return new Promise((resolve) => {
    const s = connect({
      host: o.host ?? '127.0.0.1',
      port: o.port,
      ...(o.servername ? { servername: o.servername } : {}),
      ...(o.ca ? { ca: o.ca } : { rejectUnauthorized: false }),
      ...(o.localAddress ? { localAddress: o.localAddress } : {}),
    });
    let reply = '';
    const t = setTimeout(() => finish({ ok: false, error: 'timeout' }), 5000);
    let done = false;
    function finish(r: Outcome): void {
      if (done) return;
      done = true;
      clearTimeout(t);
      if (!(r.ok && o.keepOpen)) s.destroy();
      resolve(r);
    }
    s.on('secureConnect', () => s.write(o.msg ?? 'hello'));
    s.on('data', (d) => {
      reply += d;
      if (reply.length >= (o.msg ?? 'hello').length + 2) finish({ ok: true, reply, socket: s });
    });
    s.on('error', (e) => finish({ ok: false, error: e.message }));
    s.on('close', () => finish({ ok: false, error: 'closed' }));
  });
}

/** One counter line of a Prometheus text, 0 when absent. */
export function metric(text: string, re: RegExp): number {
  const m = re.exec(text);
  return m ? Number(m[1]) : 0;
}
