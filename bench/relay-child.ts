// The server side of bench/relay.bench.ts, in its own process so its memory figures are its own:
//   node --expose-gc --import tsx bench/relay-child.ts relay TRUST_KEY_BASE64 REGION [PORT]
//     (with PORT, it takes its key and listener certificate from SALLYPORT_BENCH_RELAY_KEY,
//      _CERT and _TLS_KEY: the overlay bench's relay, in its own process as deployed)
//   node --expose-gc --import tsx bench/relay-child.ts tls        (the peer: a bare node:tls server)
//   node --expose-gc --import tsx bench/relay-child.ts plain      (a plain TCP server, behind haproxy's TLS)
// It answers IPC messages: {type:'mem'} -> memory after two GCs (+ relay counters), {type:'stop'}.
import { createServer as createPlainServer, type Socket } from 'node:net';
import { createServer, type TLSSocket } from 'node:tls';
import { realClock } from '../src/clock/index.ts';
import { PrivateKey, VerifyKey } from '../src/crypto/index.ts';
import { createSelfSigned } from '../src/pki/index.ts';
import { RelayServer } from '../src/relay/index.ts';

const [mode, trust, region, fixedPort] = process.argv.slice(2);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc || !process.send) throw new Error('run with --expose-gc and an IPC channel');
const env = process.env;
const { certPem, keyPem } =
  fixedPort && env.SALLYPORT_BENCH_RELAY_CERT && env.SALLYPORT_BENCH_RELAY_TLS_KEY
    ? { certPem: env.SALLYPORT_BENCH_RELAY_CERT, keyPem: env.SALLYPORT_BENCH_RELAY_TLS_KEY }
    : await createSelfSigned({ commonName: 'bench relay', ipAddresses: ['127.0.0.1'] });

let port: number;
let clients: () => number;
let stop: () => Promise<void>;
let counters: () => object = () => ({});
if (mode === 'relay') {
  const server = new RelayServer({
    clock: realClock,
    privateKey:
      fixedPort && env.SALLYPORT_BENCH_RELAY_KEY
        ? PrivateKey.fromBase64(env.SALLYPORT_BENCH_RELAY_KEY)
        : PrivateKey.generate(),
    trusted: [VerifyKey.fromBase64(trust)],
    region,
    listen: { host: '127.0.0.1', port: fixedPort ? Number(fixedPort) : 0 },
    tls: { cert: certPem, key: keyPem },
    keepAliveMs: 600_000,
    admitTimeoutMs: 120_000,
  });
  port = (await server.start()).port;
  clients = () => server.clients;
  stop = () => server.stop();
  counters = () => ({
    forwarded: server.stats.framesForwarded,
    drops: Object.fromEntries(server.stats.drops),
    refusals: Object.fromEntries(server.stats.refusals),
  });
} else if (mode === 'plain') {
  const held = new Set<Socket>();
  const srv = createPlainServer((s) => {
    held.add(s);
    s.on('error', () => {});
    s.on('close', () => held.delete(s));
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  port = (srv.address() as { port: number }).port;
  clients = () => held.size;
  stop = async () => {
    for (const s of held) s.destroy();
    await new Promise((r) => srv.close(r));
  };
} else {
  const held = new Set<TLSSocket>();
  const srv = createServer({ cert: certPem, key: keyPem }, (s) => {
    held.add(s);
    s.on('error', () => {});
    s.on('close', () => held.delete(s));
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  port = (srv.address() as { port: number }).port;
  clients = () => held.size;
  stop = async () => {
    for (const s of held) s.destroy();
    await new Promise((r) => srv.close(r));
  };
}

process.on('message', async (m: { type: string }) => {
  if (m.type === 'mem') {
    for (let i = 0; i < 3; i++) {
      gc();
      await new Promise((r) => setImmediate(r));
    }
    const cpu = process.cpuUsage();
    process.send!({
      type: 'mem',
      clients: clients(),
      cpuMs: (cpu.user + cpu.system) / 1000,
      ...process.memoryUsage(),
      ...counters(),
    });
  } else if (m.type === 'stop') {
    await stop();
    process.disconnect();
  }
});
process.send({ type: 'ready', port, ca: certPem, key: keyPem });
