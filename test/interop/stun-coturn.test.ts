// STUN interop with coturn, both ways, on loopback:
//   1. our Binding request (src/proto/stun) to coturn's `turnserver`: the XOR-MAPPED-ADDRESS we
//      decode from its answer is our own socket's address;
//   2. coturn's `turnutils_stunclient` against a responder of our codec (answerBinding()): the
//      reflexive address it prints is the address its request came from.
import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import {
  METHOD_BINDING,
  answerBinding,
  bindingRequest,
  decode,
  mappedAddressOf,
  newTransactionId,
  tryDecode,
  type StunAddress,
} from '../../src/proto/stun/index.ts';
import { equalBytes, toHex } from '../../src/util/index.ts';
import { needs } from '../../src/testing/require.ts';

const LOOPBACK = '127.0.0.1';

function missingBinary(...names: string[]): string | undefined {
  const dirs = (process.env.PATH ?? '').split(delimiter).concat(['/usr/bin', '/usr/sbin']);
  const found = (n: string) =>
    dirs.some((d) => {
      try {
        accessSync(join(d, n), constants.X_OK);
        return true;
      } catch {
        return false;
      }
    });
  const missing = names.filter((n) => !found(n));
  return missing.length ? `needs ${missing.join(', ')} (coturn; apt-get install coturn)` : undefined;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function bound(): Promise<Socket> {
  const s = createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.bind(0, LOOPBACK, () => {
      s.off('error', reject);
      resolve();
    });
  });
  return s;
}

/** A UDP port that was free a moment ago. */
async function freePort(): Promise<number> {
  const s = await bound();
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/**
 * Sends a Binding request from `sock` to `port` every 200 ms until a response with the same
 * transaction id arrives (coturn needs a moment to start) or `timeoutMs` passes.
 */
async function binding(sock: Socket, port: number, timeoutMs: number): Promise<Uint8Array> {
  const id = newTransactionId();
  const req = bindingRequest(id, { software: 'sallyport interop test' });
  let onMessage: ((m: Buffer) => void) | undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    return await new Promise<Uint8Array>((resolve, reject) => {
      onMessage = (m: Buffer) => {
        const b = new Uint8Array(m);
        const r = tryDecode(b);
        if (r.ok && equalBytes(r.message.transactionId, id)) resolve(b);
      };
      sock.on('message', onMessage);
      const deadline = performance.now() + timeoutMs;
      const send = () => {
        if (performance.now() > deadline)
          return reject(new Error(`no STUN answer on port ${port} in ${timeoutMs} ms`));
        sock.send(req, port, LOOPBACK);
        timer = setTimeout(send, 200);
      };
      send();
    });
  } finally {
    if (onMessage) sock.off('message', onMessage);
    clearTimeout(timer);
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const killed = await Promise.race([exited.then(() => true), sleep(3000).then(() => false)]);
  if (!killed) {
    child.kill('SIGKILL');
    await exited;
  }
}

describe('STUN interop with coturn', () => {
  test('our Binding request to turnserver: XOR-MAPPED-ADDRESS is our socket address', async (t: TestContext) => {
    if (!needs(t, missingBinary('turnserver'))) return;
    const dir = mkdtempSync(join(tmpdir(), 'sallyport-coturn-'));
    const port = await freePort();
    const log: string[] = [];
    const child = spawn(
      'turnserver',
      [
        '-n',
        `--listening-ip=${LOOPBACK}`,
        `--listening-port=${port}`,
        '--no-tls',
        '--no-dtls',
        '--no-cli',
        `--userdb=${join(dir, 'turndb')}`,
        '--log-file=stdout',
        `--pidfile=${join(dir, 'turnserver.pid')}`,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout!.on('data', (d: Buffer) => log.push(d.toString()));
    child.stderr!.on('data', (d: Buffer) => log.push(d.toString()));
    const sock = await bound();
    try {
      const answer = await binding(sock, port, 8000).catch((e: Error) => {
        throw new Error(`${e.message}; turnserver said:\n${log.join('').slice(-2000)}`);
      });
      const m = decode(answer);
      assert.equal(m.cls, 'success');
      assert.equal(m.method, METHOD_BINDING);
      assert.ok(m.xorMappedAddress, `no XOR-MAPPED-ADDRESS in ${toHex(answer)}`);
      const me = sock.address();
      const want: StunAddress = { family: 'IPv4', address: me.address, port: me.port };
      assert.deepEqual(m.xorMappedAddress, want);
      assert.deepEqual(mappedAddressOf(m), want);
      assert.deepEqual(m.unknownRequired, []);
      t.diagnostic(`coturn mapped us to ${want.address}:${want.port} (software: ${m.software ?? '-'})`);
    } finally {
      await new Promise<void>((r) => sock.close(() => r()));
      await stopChild(child);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('turnutils_stunclient against a responder made of our codec', async (t: TestContext) => {
    if (!needs(t, missingBinary('turnutils_stunclient'))) return;
    const server = await bound();
    const seen: RemoteInfo[] = [];
    let refused = 0;
    server.on('message', (msg: Buffer, rinfo: RemoteInfo) => {
      const from: StunAddress = { family: 'IPv4', address: rinfo.address, port: rinfo.port };
      const reply = answerBinding(new Uint8Array(msg), from, { software: 'sallyport test responder' });
      if (!reply) return void refused++;
      seen.push(rinfo);
      server.send(reply, rinfo.port, rinfo.address);
    });
    try {
      const port = server.address().port;
      const out = await new Promise<string>((resolve, reject) => {
        execFile(
          'turnutils_stunclient',
          ['-p', String(port), LOOPBACK],
          { timeout: 10_000 },
          (err, stdout, stderr) => {
            if (err) reject(new Error(`turnutils_stunclient failed: ${err.message}\n${stdout}\n${stderr}`));
            else resolve(stdout + stderr);
          },
        );
      });
      t.diagnostic(out.trim());
      assert.ok(seen.length > 0, `no Binding request reached the responder (${refused} refused)`);
      const client = seen[0];
      assert.match(out, /reflexive addr/i);
      assert.ok(
        out.includes(`${client.address}:${client.port}`),
        `output does not name ${client.address}:${client.port}:\n${out}`,
      );
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
