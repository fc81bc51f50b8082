// A private Pebble (Let's Encrypt's ACME test CA, Debian's `pebble`) for tests, with
// pebble-challtestsrv as its DNS server answering 127.0.0.1 for every name, so that real http-01
// validation reaches a responder on `httpPort` of loopback. Free loopback ports; stopped by PID.
//
//   const p = await startPebble({ validitySeconds: 15 });   // or pebbleMissing() says why not
//   p.directoryUrl, p.listenerCa (trust for the ACME API), await p.roots() (the issuing root)
//   await p.stop();
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { freePort, sleep } from './ports.ts';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSelfSigned } from '../pki/index.ts';

export function pebbleMissing(): string | undefined {
  for (const b of ['pebble', 'pebble-challtestsrv'])
    if (spawnSync('sh', ['-c', `command -v ${b}`]).status !== 0)
      return `${b} missing (apt-get install pebble)`;
  return undefined;
}

export interface PebbleInstance {
  directoryUrl: string;
  /** PEM of Pebble's own listener certificate: trust it for the ACME API (--acme-ca). */
  listenerCa: string;
  /** The port the CA validates http-01 on (a responder must listen there on 127.0.0.1). */
  httpPort: number;
  /** The port the CA validates tls-alpn-01 on (a TLS listener must answer there on 127.0.0.1). */
  tlsPort: number;
  /** The issuing root (changes at every start), PEM. */
  roots(): Promise<string>;
  stop(): Promise<void>;
}

function get(url: string, ca: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: new Agent({ ca }), timeout: 5_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

export async function startPebble(
  opts: { validitySeconds?: number; httpPort?: number; tlsPort?: number } = {},
): Promise<PebbleInstance> {
  const dir = mkdtempSync(join(tmpdir(), 'sallyport-pebble-'));
  const [api, mgmt, dns, dnsMgmt] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const httpPort = opts.httpPort ?? (await freePort());
  const tlsPort = opts.tlsPort ?? (await freePort());
  const listener = await createSelfSigned({
    commonName: 'pebble',
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1'],
  });
  writeFileSync(join(dir, 'cert.pem'), listener.certPem);
  writeFileSync(join(dir, 'key.pem'), listener.keyPem, { mode: 0o600 });
  writeFileSync(
    join(dir, 'pebble.json'),
    JSON.stringify({
      pebble: {
        listenAddress: `127.0.0.1:${api}`,
        managementListenAddress: `127.0.0.1:${mgmt}`,
        certificate: join(dir, 'cert.pem'),
        privateKey: join(dir, 'key.pem'),
        httpPort,
        tlsPort,
        ocspResponderURL: '',
        externalAccountBindingRequired: false,
        ...(opts.validitySeconds ? { certificateValidityPeriod: opts.validitySeconds } : {}),
      },
    }),
  );
  const children: ChildProcess[] = [];
  const logs: string[] = [];
  const launch = (cmd: string, args: string[], env: Record<string, string> = {}) => {
    const c = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    for (const s of [c.stdout!, c.stderr!])
      s.on('data', (b: Buffer) => {
        if (logs.join('').length < 20_000) logs.push(b.toString());
      });
    children.push(c);
    return c;
  };
  const stop = async (): Promise<void> => {
    for (const c of children) {
      if (c.exitCode !== null || c.signalCode !== null) continue;
      const gone = new Promise<void>((r) => c.once('exit', () => r()));
      c.kill('SIGTERM');
      await Promise.race([gone, sleep(3_000)]);
      if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  };
  launch('pebble-challtestsrv', [
    '-dns01',
    `127.0.0.1:${dns}`,
    '-http01',
    '',
    '-https01',
    '',
    '-tlsalpn01',
    '',
    '-management',
    `127.0.0.1:${dnsMgmt}`,
    '-defaultIPv4',
    '127.0.0.1',
    '-defaultIPv6',
    '',
  ]);
  const pebble = launch('pebble', ['-config', join(dir, 'pebble.json'), '-dnsserver', `127.0.0.1:${dns}`], {
    PEBBLE_VA_NOSLEEP: '1',
    PEBBLE_WFE_NONCEREJECT: '0',
    PEBBLE_AUTHZREUSE: '0',
  });
  const directoryUrl = `https://127.0.0.1:${api}/dir`;
  for (let i = 0; i < 100; i++) {
    if (pebble.exitCode !== null) break;
    const r = await get(directoryUrl, listener.certPem).catch(() => undefined);
    if (r?.status === 200)
      return {
        directoryUrl,
        listenerCa: listener.certPem,
        httpPort,
        tlsPort,
        roots: async () => (await get(`https://127.0.0.1:${mgmt}/roots/0`, listener.certPem)).body,
        stop,
      };
    await sleep(100);
  }
  await stop();
  throw new Error(`pebble did not start:\n${logs.join('').slice(-3000)}`);
}
