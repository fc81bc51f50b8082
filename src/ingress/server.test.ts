// The ingress server in process, on loopback: the hard cases a client or a scanner brings —
// a slow ClientHello, a backend that is down, half-close, IPv6, a PROXY header from an address
// that is not a listed balancer, a malformed one, a LOCAL health check — each refused or failed
// the way docs/ingress.md says, and counted.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect as netConnect, createServer } from 'node:net';
import { connect } from 'node:tls';
import { pino } from 'pino';
import { realClock } from '../clock/index.ts';
import { StaticCertSource, inspectPair } from '../certs/index.ts';
import { createSelfSigned } from '../pki/index.ts';
import { AllowList } from './allow-list.ts';
import { IngressMetrics } from './metrics.ts';
import { encodeProxyV2 } from './proxy-v2.ts';
import { Routes, parseRoute } from './routes.ts';
import { IngressServer, type IngressOptions } from './server.ts';

const NAME = 'ch.acme.test';

async function setup(
  t: { after(fn: () => unknown): void },
  opts: Omit<Partial<IngressOptions>, 'allow'> & {
    allow?: string[];
    host?: string;
    backendPort?: number;
  } = {},
) {
  const { allow, host, backendPort: bp, ...o } = opts;
  const cert = await createSelfSigned({ commonName: NAME, dnsNames: [NAME] });
  const pair = { cert: cert.certPem, key: cert.keyPem };
  let backendPort = bp;
  if (backendPort === undefined) {
    const be = createServer({ allowHalfOpen: true }, (s) => {
      s.on('error', () => {});
      const parts: Buffer[] = [];
      s.on('data', (d) => parts.push(d));
      // answers after the client's half-close: proves the end travelled through
      s.on('end', () => s.end(`got:${Buffer.concat(parts)}`));
    });
    await new Promise<void>((r) => be.listen(0, '127.0.0.1', () => r()));
    t.after(() => be.close());
    backendPort = (be.address() as { port: number }).port;
  }
  const metrics = new IngressMetrics();
  const server = new IngressServer({
    listeners: [{ host: host ?? '127.0.0.1', port: 0 }],
    routes: new Routes([parseRoute(`${NAME}=127.0.0.1:${backendPort}`)]),
    allow: new AllowList({ cidrs: allow ?? ['127.0.0.0/8', '::1'], clock: realClock }),
    certs: new StaticCertSource(pair, inspectPair(pair), 'files', Date.now()),
    clock: realClock,
    logger: pino({ level: 'silent' }),
    metrics,
    ...o,
  });
  const [addr] = await server.start();
  t.after(() => server.stop());
  const count = async (re: RegExp) => Number(re.exec(await metrics.registry.metrics())?.[1] ?? 0);
  return { port: addr.port, ca: cert.certPem, metrics, count, server };
}

/** Raw TCP: write `bytes`, resolve with what came back before the close. */
function raw(port: number, bytes: Buffer, host = '127.0.0.1'): Promise<string> {
  return new Promise((resolve) => {
    let got = '';
    const s = netConnect(port, host, () => s.write(bytes));
    s.on('data', (d) => (got += d));
    s.on('close', () => resolve(got));
    s.on('error', () => {});
  });
}

describe('ingress server: hard cases', () => {
  test('half-close travels both ways: the backend answers after the client ended its side', async (t) => {
    const { port, ca } = await setup(t);
    const reply = await new Promise<string>((resolve, reject) => {
      let got = '';
      const s = connect({ host: '127.0.0.1', port, servername: NAME, ca }, () => {
        s.write('select 1');
        s.end();
      });
      s.on('data', (d) => (got += d));
      s.on('end', () => resolve(got));
      s.on('error', reject);
    });
    assert.equal(reply, 'got:select 1');
  });

  test('IPv6 listener and client; a v6 address off the list is refused', async (t) => {
    const ok = await setup(t, { host: '::1' });
    const r = await new Promise<string>((resolve, reject) => {
      const s = connect({ host: '::1', port: ok.port, servername: NAME, ca: ok.ca }, () => s.end('v6'));
      let got = '';
      s.on('data', (d) => (got += d));
      s.on('end', () => resolve(got));
      s.on('error', reject);
    });
    assert.equal(r, 'got:v6');
    const no = await setup(t, { host: '::1', allow: ['2001:db8::/32'] });
    assert.equal(await raw(no.port, Buffer.from([22, 3, 1]), '::1'), '');
    assert.equal(await no.count(/reason="not-allowed"\} (\d+)/), 1);
  });

  test('a ClientHello that never completes is cut at the timeout and counted', async (t) => {
    const { port, count } = await setup(t, { helloTimeoutMs: 300 });
    const t0 = Date.now();
    await raw(port, Buffer.from([22, 3, 1, 0, 200, 1]));
    assert.ok(Date.now() - t0 >= 250, 'held until the timeout');
    assert.equal(await count(/reason="hello-timeout"\} (\d+)/), 1);
  });

  test('a backend that is down: the TLS session is closed and the failure counted', async (t) => {
    const dead = createServer();
    await new Promise<void>((r) => dead.listen(0, '127.0.0.1', () => r()));
    const deadPort = (dead.address() as { port: number }).port;
    await new Promise<void>((r) => dead.close(() => r()));
    const { port, ca, count } = await setup(t, { backendPort: deadPort });
    const closed = await new Promise<boolean>((resolve) => {
      const s = connect({ host: '127.0.0.1', port, servername: NAME, ca }, () => s.write('x'));
      s.on('close', () => resolve(true));
      s.on('error', () => {});
    });
    assert.ok(closed);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(await count(/sallyport_ingress_failures_total\{kind="backend"\} (\d+)/), 1);
  });

  test('PROXY v2: from an unlisted peer refused; malformed refused; LOCAL (health check) is the balancer itself', async (t) => {
    const listed = await setup(t, {
      proxyFrom: new AllowList({ cidrs: ['127.0.0.1'], clock: realClock }),
      allow: ['198.51.100.0/24'],
    });
    // the balancer (127.0.0.1) says the client is 198.51.100.7: allowed, routed
    const ok = await new Promise<string>((resolve, reject) => {
      const sock = netConnect(listed.port, '127.0.0.1', () => {
        sock.write(
          encodeProxyV2({
            command: 'proxy',
            source: { address: '198.51.100.7', port: 5000 },
            destination: { address: '127.0.0.1', port: listed.port },
          }),
        );
        const s = connect({ socket: sock, servername: NAME, ca: listed.ca }, () => s.end('via-lb'));
        let got = '';
        s.on('data', (d) => (got += d));
        s.on('end', () => resolve(got));
        s.on('error', reject);
      });
    });
    assert.equal(ok, 'got:via-lb');
    // a client address off the list, and a LOCAL header (the balancer's own check, 127.0.0.1, off the list)
    await raw(
      listed.port,
      encodeProxyV2({
        command: 'proxy',
        source: { address: '203.0.113.9', port: 1 },
        destination: { address: '127.0.0.1', port: 1 },
      }),
    );
    await raw(listed.port, encodeProxyV2({ command: 'local' }));
    assert.equal(await listed.count(/reason="not-allowed"\} (\d+)/), 2);
    await raw(listed.port, Buffer.from('PROXY TCP4 198.51.100.7 127.0.0.1 1 2\r\n'));
    assert.equal(await listed.count(/reason="proxy-malformed"\} (\d+)/), 1);
    // a peer that is not a listed balancer: refused before anything is read
    const other = await setup(t, { proxyFrom: new AllowList({ cidrs: ['10.9.9.9'], clock: realClock }) });
    await raw(
      other.port,
      encodeProxyV2({
        command: 'proxy',
        source: { address: '127.0.0.1', port: 1 },
        destination: { address: '127.0.0.1', port: 1 },
      }),
    );
    assert.equal(await other.count(/reason="proxy-untrusted"\} (\d+)/), 1);
  });

  test('--private-only: a public client address (through PROXY) is refused even when the allow list has it', async (t) => {
    const s = await setup(t, {
      privateOnly: true,
      proxyFrom: new AllowList({ cidrs: ['127.0.0.1'], clock: realClock }),
      allow: ['0.0.0.0/0'],
    });
    await raw(
      s.port,
      encodeProxyV2({
        command: 'proxy',
        source: { address: '8.8.8.8', port: 1 },
        destination: { address: '127.0.0.1', port: 1 },
      }),
    );
    assert.equal(await s.count(/reason="not-private"\} (\d+)/), 1);
    assert.throws(
      () =>
        new IngressServer({
          listeners: [{ host: '0.0.0.0', port: 0 }],
          routes: new Routes([parseRoute('a.test=127.0.0.1:1')]),
          allow: new AllowList({ cidrs: ['10.0.0.0/8'], clock: realClock }),
          certs: undefined,
          privateOnly: true,
          clock: realClock,
          logger: pino({ level: 'silent' }),
          metrics: new IngressMetrics(),
        }),
      { code: 'INGRESS_CONFIG', message: /not on a private address/ },
    );
  });
});
