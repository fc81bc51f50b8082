// Local services behind the connector in integration tests: an HTTP server with a deterministic
// large body (ChaCha20 keystream, so order errors change the hash) and a TCP echo server.
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { createServer as createHttp, type Server as HttpServer } from 'node:http';
import { createServer as createTcp, type Server } from 'node:net';
import { Readable, type Duplex } from 'node:stream';

const KEY = Buffer.alloc(32, 7);
const CHUNK = 256 * 1024;

/** `bytes` of deterministic data as a stream, and its SHA-256 (hex). */
export function payload(bytes: number): { stream: () => Readable; sha256: string } {
  const gen = function* (): Generator<Buffer> {
    const c = createCipheriv('chacha20', KEY, Buffer.alloc(16));
    const zero = Buffer.alloc(CHUNK);
    for (let left = bytes; left > 0; left -= CHUNK)
      yield c.update(left >= CHUNK ? zero : zero.subarray(0, left));
  };
  const h = createHash('sha256');
  for (const b of gen()) h.update(b);
  return { stream: () => Readable.from(gen(), { objectMode: false }), sha256: h.digest('hex') };
}

export interface Services {
  http: HttpServer;
  httpPort: number;
  echo: Server;
  echoPort: number;
  bigSha256: string;
  bigBytes: number;
  close(): Promise<void>;
}

export async function startServices(bigBytes: number): Promise<Services> {
  const big = payload(bigBytes);
  const http = createHttp((req, res) => {
    if (req.url === '/big') {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(bigBytes) });
      big.stream().pipe(res);
    } else {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`hello from ${req.headers.host}\n`);
    }
  });
  const echo = createTcp((s) => {
    s.on('error', () => s.destroy());
    s.pipe(s);
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
  return {
    http,
    echo,
    httpPort: (http.address() as { port: number }).port,
    echoPort: (echo.address() as { port: number }).port,
    bigSha256: big.sha256,
    bigBytes,
    close: async () => {
      http.closeAllConnections();
      await Promise.all([new Promise((r) => http.close(r)), new Promise((r) => echo.close(r))]);
    },
  };
}

/** Runs curl; resolves with the SHA-256 and length of stdout, and the exit code. */
export async function curlHash(
  args: string[],
): Promise<{ code: number; sha256: string; bytes: number; stderr: string }> {
  const { spawn } = await import('node:child_process');
  return new Promise((resolve, reject) => {
    const p = spawn('curl', ['-sS', '--max-time', '300', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const h = createHash('sha256');
    let bytes = 0;
    let stderr = '';
    p.stdout.on('data', (b: Buffer) => {
      h.update(b);
      bytes += b.length;
    });
    p.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code: code ?? -1, sha256: h.digest('hex'), bytes, stderr }));
  });
}

/** Sends `data` through a TCP connection and collects what comes back until the peer ends. */
export async function echoThrough(port: number, data: Buffer): Promise<Buffer> {
  const { connect } = await import('node:net');
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    const out: Buffer[] = [];
    let n = 0;
    s.on('data', (b: Buffer) => {
      out.push(b);
      n += b.length;
      if (n >= data.length) s.end();
    });
    s.on('error', reject);
    s.on('close', () => resolve(Buffer.concat(out)));
    s.write(data);
  });
}

/** A stream kept busy by `pump`: what came back, when it ended, and what was sent. */
export interface Pump {
  received(): number;
  /** Wall time (ms) of the stream's error or close; undefined while it is open. */
  endedAt(): number | undefined;
  /** Stops writing; returns everything written. */
  stop(): Buffer;
  got(): Buffer;
}

/** Writes 1 KiB of random bytes every 20 ms on an echo stream until it ends or `stop()`. */
export function pump(s: Duplex): Pump {
  const sent: Buffer[] = [];
  const got: Buffer[] = [];
  let received = 0;
  let ended: number | undefined;
  s.on('data', (b: Buffer) => {
    got.push(b);
    received += b.length;
  });
  s.on('error', () => (ended ??= Date.now()));
  s.on('close', () => (ended ??= Date.now()));
  const timer = setInterval(() => {
    if (ended !== undefined) return;
    const b = randomBytes(1024);
    sent.push(b);
    s.write(b);
  }, 20);
  return {
    received: () => received,
    endedAt: () => ended,
    stop: () => {
      clearInterval(timer);
      return Buffer.concat(sent);
    },
    got: () => Buffer.concat(got),
  };
}
