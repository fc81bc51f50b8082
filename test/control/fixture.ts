// Starts a coordinator on loopback in a temporary directory for one test file.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { FakeClock } from '../../src/clock/index.ts';
import { PrivateKey, PublicKey } from '../../src/crypto/index.ts';
import {
  ApiClient,
  ControlClient,
  Coordinator,
  createLogger,
  type CoordinatorOptions,
} from '../../src/control/index.ts';
import type { Hello, Netmap } from '../../src/proto/control/index.ts';

export const ADMIN = { name: 'root', password: 'correct horse battery' };

export interface Fixture {
  coord: Coordinator;
  dir: string;
  clock: FakeClock;
  /** Signed in as ADMIN. */
  admin: ApiClient;
  anon: ApiClient;
  logs: string[];
  /** GET /metrics on the main listener with the fixture's metrics token. */
  metricsText(): Promise<string>;
  connect(nodeKey: PrivateKey, hello: Hello): Promise<ControlClient>;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** The metrics token every fixture coordinator is started with. */
export const METRICS_TOKEN = 'fixture-metrics-token-0123456789';

export async function startFixture(extra: Partial<CoordinatorOptions> = {}): Promise<Fixture> {
  const dir = mkdtempSync(join(tmpdir(), 'sallyport-coord-'));
  const clock = new FakeClock({ wallMs: Date.now() });
  const logs: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      if (logs.length < 10_000) logs.push(chunk.toString());
      cb();
    },
  });
  const opts: CoordinatorOptions = {
    dataDir: dir,
    listen: { host: '127.0.0.1', port: 0 },
    suffix: 'byoc.example.com',
    relays: [{ region: 'eu', url: 'https://127.0.0.1:9', stunPort: 3478 }],
    clock,
    logger: createLogger({ level: 'info', destination }),
    bootstrapAdmin: ADMIN,
    scrypt: { N: 1 << 10, r: 8, p: 1 },
    metrics: { token: METRICS_TOKEN },
    ...extra,
  };
  const clients: ControlClient[] = [];
  const f: Fixture = {
    coord: await Coordinator.start(opts),
    dir,
    clock,
    logs,
    admin: undefined as unknown as ApiClient,
    anon: undefined as unknown as ApiClient,
    async metricsText() {
      const r = await f.anon.raw('GET', '/metrics', undefined, { authorization: `Bearer ${METRICS_TOKEN}` });
      if (r.status !== 200) throw new Error(`/metrics answered ${r.status}: ${r.text}`);
      return r.text;
    },
    async connect(nodeKey, hello) {
      const c = await ControlClient.connect({
        url: f.coord.url,
        coordinatorKey: PublicKey.fromBase64(f.coord.publicKey),
        nodeKey,
        hello,
        ca: f.coord.tls.cert,
      });
      clients.push(c);
      return c;
    },
    async restart() {
      const port = f.coord.port;
      await f.coord.stop();
      f.coord = await Coordinator.start({ ...opts, listen: { host: '127.0.0.1', port } });
    },
    async stop() {
      for (const c of clients) c.close();
      await f.coord.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  f.anon = new ApiClient({ server: f.coord.url, ca: f.coord.tls.cert });
  f.admin = await f.anon.login(ADMIN.name, ADMIN.password);
  return f;
}

/** Resolves with the client's netmap once `pred` holds (checked now and after every update). */
export function netmapWhere(c: ControlClient, pred: (m: Netmap) => boolean, ms = 5000): Promise<Netmap> {
  return new Promise((resolve, reject) => {
    if (c.netmap && pred(c.netmap)) return resolve(c.netmap);
    const timer = setTimeout(() => {
      c.off('netmap', on);
      reject(new Error(`netmap condition not met in ${ms} ms; have ${JSON.stringify(c.netmap)}`));
    }, ms);
    const on = (m: Netmap) => {
      if (!pred(m)) return;
      clearTimeout(timer);
      c.off('netmap', on);
      resolve(m);
    };
    c.on('netmap', on);
  });
}

/** Counts the netmap messages a client receives from now on. */
export function countUpdates(c: ControlClient): { n: number } {
  const box = { n: 0 };
  c.on('netmap', () => box.n++);
  return box;
}

export const newKey = (): PrivateKey => PrivateKey.generate();
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
