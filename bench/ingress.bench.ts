// The ingress beside nginx (Debian's, stream module: TLS termination to the same backend), both on
// loopback with the same ECDSA certificate and one worker each: bulk throughput through one TLS
// connection, and TLS handshakes per second (8 concurrent clients, each connect → handshake → one
// byte back → close). Goal (issue 17): ≥ 0.8× nginx.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { goals, type Bench } from './framework.ts';
import { createSelfSigned } from '../src/pki/index.ts';
import { freePort, sleep } from '../src/testing/ports.ts';
import { spawnCli } from '../src/testing/spawn-cli.ts';

const NAME = 'ch.acme.test';
const BULK = 4 * 1024 * 1024;
const STREAM_MODULE = '/usr/lib/nginx/modules/ngx_stream_module.so';

/** Backend: "b" → BULK bytes then close; anything else → one byte back. */
async function backend(): Promise<{ server: Server; port: number }> {
  const chunk = Buffer.alloc(64 * 1024, 7);
  const server = createServer((s) => {
    s.on('error', () => {});
    s.once('data', (d) => {
      if (d[0] !== 0x62) return void s.end('k');
      let left = BULK;
      const pump = (): void => {
        while (left > 0) {
          const n = Math.min(left, chunk.length);
          left -= n;
          if (!s.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return void s.once('drain', pump);
        }
        s.end();
      };
      pump();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { server, port: (server.address() as { port: number }).port };
}

function once(port: number, ca: string, what: 'b' | 'k'): Promise<number> {
  return new Promise((resolve, reject) => {
    let n = 0;
    const s = connect({ host: '127.0.0.1', port, servername: NAME, ca }, () => s.write(what));
    s.on('data', (d: Buffer) => (n += d.length));
    s.on('end', () => {
      s.destroy();
      resolve(n);
    });
    s.on('error', reject);
  });
}

async function waitPort(port: number, proc: ChildProcess, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (proc.exitCode !== null) throw new Error(`${what} exited ${proc.exitCode}`);
    const ok = await new Promise<boolean>((r) => {
      const s = createServer();
      s.once('error', () => r(true));
      s.listen(port, '127.0.0.1', () => s.close(() => r(false)));
    });
    if (ok) return;
    await sleep(50);
  }
  throw new Error(`${what} did not listen on ${port}`);
}

export async function run(b: Bench): Promise<void> {
  if (spawnSync('sh', ['-c', 'command -v nginx']).status !== 0 || !existsSync(STREAM_MODULE)) {
    b.note('ingress: skipped (needs nginx and libnginx-mod-stream)');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'sallyport-bench-ingress-'));
  const procs: ChildProcess[] = [];
  const be = await backend();
  try {
    const cert = await createSelfSigned({ commonName: NAME, dnsNames: [NAME] });
    writeFileSync(join(dir, 'tls.crt'), cert.certPem);
    writeFileSync(join(dir, 'tls.key'), cert.keyPem, { mode: 0o600 });
    const [ours, theirs] = [await freePort(), await freePort()];
    const ing = spawnCli('ingress', [
      '--data',
      dir,
      '--listen',
      `127.0.0.1:${ours}`,
      '--route',
      `${NAME}=127.0.0.1:${be.port}`,
      '--allow',
      '127.0.0.0/8',
      '--tls-cert',
      join(dir, 'tls.crt'),
      '--tls-key',
      join(dir, 'tls.key'),
      '--log-level',
      'warn',
    ]);
    ing.stdout.resume();
    ing.stderr.resume();
    procs.push(ing);
    writeFileSync(
      join(dir, 'nginx.conf'),
      [
        `load_module ${STREAM_MODULE};`,
        'worker_processes 1;',
        'daemon off;',
        `pid ${join(dir, 'nginx.pid')};`,
        `error_log ${join(dir, 'nginx-error.log')} warn;`,
        'events { worker_connections 1024; }',
        'stream {',
        '  server {',
        `    listen 127.0.0.1:${theirs} ssl;`,
        `    ssl_certificate ${join(dir, 'tls.crt')};`,
        `    ssl_certificate_key ${join(dir, 'tls.key')};`,
        '    ssl_protocols TLSv1.2 TLSv1.3;',
        '    allow 127.0.0.0/8;',
        '    deny all;',
        `    proxy_pass 127.0.0.1:${be.port};`,
        '  }',
        '}',
        '',
      ].join('\n'),
    );
    const ngx = spawn(
      'nginx',
      ['-c', join(dir, 'nginx.conf'), '-p', dir, '-e', join(dir, 'nginx-error.log')],
      {
        stdio: 'ignore',
      },
    );
    procs.push(ngx);
    await waitPort(ours, ing, 'sallyport ingress');
    await waitPort(theirs, ngx, 'nginx');
    const ca = cert.certPem;
    if ((await once(ours, ca, 'b')) !== BULK || (await once(theirs, ca, 'b')) !== BULK)
      throw new Error('a bulk transfer came back short');
    await b.compare(
      'bulk through the TLS ingress, one connection, 4 MiB per call (peer: nginx stream, 1 worker)',
      'MB/s',
      () => once(ours, ca, 'b'),
      () => once(theirs, ca, 'b'),
      { per: BULK / 1e6, goal: goals.ratioAtLeast(0.8, '≥ 0.8×') },
    );
    const burst = (port: number) => Promise.all(Array.from({ length: 8 }, () => once(port, ca, 'k')));
    await b.compare(
      'TLS handshakes per second, 8 concurrent clients, connect to first byte (peer: nginx stream, 1 worker)',
      'handshakes/s',
      () => burst(ours),
      () => burst(theirs),
      { per: 8, goal: goals.ratioAtLeast(0.8, '≥ 0.8×') },
    );
  } finally {
    for (const p of procs) if (p.exitCode === null) p.kill('SIGTERM');
    await sleep(300);
    be.server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
