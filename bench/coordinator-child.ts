// The coordinator of bench/coordinator.bench.ts, in its own process so that its RSS is its own:
//   node --expose-gc --import tsx bench/coordinator-child.ts [DB_URL [INSTANCE [KEYS_FROM_DIR]]]
// With a PostgreSQL URL, several of these share one database: the second and later ones copy the
// first one's key files (KEYS_FROM_DIR, which `info` returns as `dir`), as an operator deploys them.
// Driven over IPC (bench/rpc.ts): set up deployments, users, groups and the access policy through
// the admin API like an operator; open access requests as engineers and approve them as a lead.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { realClock } from '../src/clock/index.ts';
import { ApiClient, Coordinator, createLogger, routes } from '../src/control/index.ts';
import { serve, settledMemory } from './rpc.ts';
import { copyCoordinatorKeys } from '../src/testing/coordinators.ts';

export interface CoordInfo {
  url: string;
  key: string;
  ca: string;
  dir: string;
}

const ADMIN = { name: 'admin', password: 'bench admin password' };
const PASSWORD = 'bench user password';
const LEAD = 'lead';

const [dbUrl, instance, keysFrom] = process.argv.slice(2);
const dir = mkdtempSync(join(tmpdir(), 'sallyport-bench-coord-'));
if (keysFrom) copyCoordinatorKeys(keysFrom, dir);
const coord = await Coordinator.start({
  dataDir: dir,
  ...(dbUrl ? { db: dbUrl } : {}),
  ...(instance ? { instance } : {}),
  listen: { host: '127.0.0.1', port: 0 },
  suffix: 'byoc.bench',
  relays: [{ region: 'bench-1', url: 'https://127.0.0.1:9' }],
  clock: realClock,
  // SALLYPORT_BENCH_COORD_LOG=LEVEL: the coordinator's log on stderr (else none).
  logger: process.env.SALLYPORT_BENCH_COORD_LOG
    ? createLogger({ level: process.env.SALLYPORT_BENCH_COORD_LOG })
    : createLogger({ level: 'warn', destination: new Writable({ write: (_c, _e, cb) => cb() }) }),
  bootstrapAdmin: ADMIN,
  scrypt: { N: 1 << 10, r: 8, p: 1 },
  maxChannels: 20_000,
});
const anon = new ApiClient({ server: coord.url, ca: coord.tls.cert });
const admin = await anon.login(ADMIN.name, ADMIN.password);
const users = new Map<string, ApiClient>();
const as = async (name: string) => {
  let c = users.get(name);
  if (!c) users.set(name, (c = await anon.login(name, PASSWORD)));
  return c;
};

/** Runs `fn(i)` for i < n with `k` in flight. */
async function pool(n: number, k: number, fn: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(k, n) }, async () => {
      while (next < n) await fn(next++);
    }),
  );
}

serve({
  info: (): CoordInfo => ({ url: coord.url, key: coord.publicKey, ca: coord.tls.cert, dir }),
  /**
   * Deployments d0.. and users u0.. (group `oncall`), the approver `lead` (group `leads`), a policy
   * letting oncall request `k8s` anywhere with one lead's approval. Returns one reusable pre-auth
   * key per deployment and per user.
   */
  async setup(deployments: number, userCount: number): Promise<{ deployment: string[]; user: string[] }> {
    const a = admin;
    for (const g of ['oncall', 'leads']) await a.route(routes.groupsCreate, { body: { name: g } });
    await a.route(routes.usersCreate, { body: { name: LEAD, password: PASSWORD } });
    await a.route(routes.groupMembersAdd, { params: { name: 'leads', user: LEAD } });
    await a.route(routes.policyPut, {
      body: {
        version: 1,
        policies: [
          {
            id: 'oncall-k8s',
            requesters: ['oncall'],
            deployments: '*',
            services: { names: ['k8s'] },
            access: 'read-only',
            maxDuration: '2h',
            pendingFor: '30m',
            approval: { group: 'leads', threshold: 1 },
          },
        ],
      },
    });
    const keys = { deployment: [] as string[], user: [] as string[] };
    const key = async (b: { deployment: string } | { user: string }) =>
      (await a.route(routes.preauthKeysCreate, { body: { ...b, reusable: true } })).key;
    await pool(deployments, 4, async (i) => {
      await a.route(routes.deploymentsCreate, { body: { name: `d${i}`, region: 'r1', cloud: 'aws' } });
      keys.deployment[i] = await key({ deployment: `d${i}` });
    });
    await pool(userCount, 4, async (i) => {
      await a.route(routes.usersCreate, { body: { name: `u${i}`, password: PASSWORD } });
      await a.route(routes.groupMembersAdd, { params: { name: 'oncall', user: `u${i}` } });
      keys.user[i] = await key({ user: `u${i}` });
    });
    return keys;
  },
  /** user opens a request for `k8s` on the deployment; resolves with its id. */
  async request(user: string, deployment: string): Promise<string> {
    const c = await as(user);
    const r = await c.route(routes.requestsCreate, {
      body: { deployment, services: ['k8s'], reason: `BENCH-${user}-${deployment}`, duration: '1h' },
    });
    await as(LEAD); // logged in before the clock starts
    return r.id;
  },
  /** The lead approves; resolves with the wall time (ms, sub-ms precision) the approval was sent. */
  async approve(id: string): Promise<{ t0: number; computations: number }> {
    const lead = await as(LEAD);
    const before = coord.hub.computations;
    const t0 = performance.timeOrigin + performance.now();
    const r = await lead.route(routes.requestsApprove, { params: { id } });
    if (r.status !== 'approved') throw new Error(`request ${id}: ${r.status} after the approval`);
    return { t0, computations: coord.hub.computations - before };
  },
  /** The change log's head and the last version this coordinator's fan-out applied (PostgreSQL). */
  async fanout(): Promise<{ head: number; applied: number } | undefined> {
    if (!coord.fanout) return undefined;
    return { head: await coord.store.changeHead(), applied: coord.fanout.state().version };
  },
  async stats(): Promise<{ sessions: number; computations: number; memory: NodeJS.MemoryUsage }> {
    return { sessions: coord.hub.size, computations: coord.hub.computations, memory: await settledMemory() };
  },
  async stop(): Promise<void> {
    await coord.stop();
    rmSync(dir, { recursive: true, force: true });
  },
});
