// Several coordinators on one PostgreSQL (issue 15): a change made on one reaches the agents
// connected to another through LISTEN/NOTIFY and the change log (within 1 s), the timers run on
// exactly one of them and move when it stops, concurrent audit appends from all of them make one
// chain, and a LISTEN connection that is cut catches up by version when it is back.
// Every coordinator shares the first one's key material (as an operator deploys them), each
// test gets a fresh database in one private PostgreSQL, and the clocks are real.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { PrivateKey, PublicKey } from '../../src/crypto/index.ts';
import {
  ApiClient,
  ControlClient,
  Coordinator,
  createLogger,
  type CoordinatorOptions,
  routes,
} from '../../src/control/index.ts';
import type { Hello } from '../../src/proto/control/index.ts';
import { verifyExport, writeExport } from '../../src/audit/index.ts';
import { needs } from '../../src/testing/require.ts';
import { postgresMissing, startPostgres, type PostgresInstance } from '../../src/testing/postgres.ts';
import { ADMIN, countUpdates, netmapWhere, sleep } from './fixture.ts';
import { copyCoordinatorKeys } from '../../src/testing/coordinators.ts';

const missing = postgresMissing();
let server: PostgresInstance | undefined;
let databases = 0;

before(async () => {
  if (!missing) server = await startPostgres();
});
after(async () => {
  await server?.stop();
});

async function sql<T = Record<string, unknown>>(
  url: string,
  text: string,
  args: unknown[] = [],
): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(text, args)).rows as T[];
  } finally {
    await c.end();
  }
}

/** A fresh database in the shared server. */
async function freshDatabase(): Promise<string> {
  const name = `multi_${++databases}`;
  await sql(server!.url, `create database ${name}`);
  return server!.url.replace(/\/sallyport$/, `/${name}`);
}

interface Member {
  name: string;
  coord: Coordinator;
  dir: string;
  admin: ApiClient;
  anon: ApiClient;
  clients: ControlClient[];
  connect(key: PrivateKey, hello: Hello): Promise<ControlClient>;
  stop(): Promise<void>;
}

interface Cluster {
  db: string;
  members: Member[];
  start(name: string, extra?: Partial<CoordinatorOptions>): Promise<Member>;
  stop(): Promise<void>;
}

async function cluster(): Promise<Cluster> {
  const db = await freshDatabase();
  const c: Cluster = {
    db,
    members: [],
    async start(name, extra = {}) {
      const dir = mkdtempSync(join(tmpdir(), `sallyport-multi-${name}-`));
      // Shared keys, listener certificate and CA: agents pin one coordinator key for all.
      const first = c.members[0]?.dir;
      if (first) copyCoordinatorKeys(first, dir);
      const coord = await Coordinator.start({
        dataDir: dir,
        db,
        listen: { host: '127.0.0.1', port: 0 },
        suffix: 'byoc.example.com',
        relays: [{ region: 'eu', url: 'https://127.0.0.1:9', stunPort: 3478 }],
        logger: createLogger({ level: 'silent' }),
        bootstrapAdmin: ADMIN,
        scrypt: { N: 1 << 10, r: 8, p: 1 },
        instance: name,
        timerLockPollMs: 200,
        ...extra,
      });
      const anon = new ApiClient({ server: coord.url, ca: coord.tls.cert });
      const m: Member = {
        name,
        coord,
        dir,
        anon,
        admin: await anon.login(ADMIN.name, ADMIN.password),
        clients: [],
        async connect(key, hello) {
          const cl = await ControlClient.connect({
            url: coord.url,
            coordinatorKey: PublicKey.fromBase64(coord.publicKey),
            nodeKey: key,
            hello,
            ca: coord.tls.cert,
          });
          m.clients.push(cl);
          return cl;
        },
        async stop() {
          for (const cl of m.clients) cl.close();
          m.clients = [];
          await coord.stop();
        },
      };
      c.members.push(m);
      return m;
    },
    async stop() {
      for (const m of c.members) {
        await m.stop().catch(() => {});
        rmSync(m.dir, { recursive: true, force: true });
      }
    },
  };
  return c;
}

/** /health of a coordinator on PostgreSQL: it always names the timers' owner. */
const health = async (m: Member) => {
  const h = await m.anon.route(routes.health);
  return { ...h, timers: h.timers! };
};

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 5000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() - t0 > ms) assert.fail(`${what}: not within ${ms} ms`);
    await sleep(20);
  }
}

/** A deployment with a connector (on `cm`) serving k8s, and engineer bob's node (on `em`). */
async function topology(cm: Member, em: Member, opts: { grant: boolean }) {
  const a = cm.admin;
  await a.route(routes.deploymentsCreate, { body: { name: 'acme-prod', region: 'us-east-1', cloud: 'aws' } });
  await a.route(routes.usersCreate, { body: { name: 'bob', password: 'long password' } });
  const grant = opts.grant
    ? await a.route(routes.grantsCreate, {
        body: {
          subject: { type: 'user', name: 'bob' },
          deployment: 'acme-prod',
          services: [],
        },
      })
    : undefined;
  const ck = PrivateKey.generate();
  const conn = await cm.connect(ck, {
    version: 1,
    kind: 'connector',
    name: 'c1',
    preauthKey: (await a.route(routes.preauthKeysCreate, { body: { deployment: 'acme-prod' } })).key,
    services: [{ name: 'k8s', kind: 'kubernetes', address: '10.0.0.1:6443' }],
  });
  const eng = await em.connect(PrivateKey.generate(), {
    version: 1,
    kind: 'engineer',
    name: 'bob-pc',
    preauthKey: (await a.route(routes.preauthKeysCreate, { body: { user: 'bob' } })).key,
  });
  return { grant, conn, connKey: ck.publicKey.base64(), eng };
}

test('a change on one coordinator reaches an agent on another within 1 s', { timeout: 60_000 }, async (t) => {
  if (!needs(t, missing)) return;
  const c = await cluster();
  try {
    const A = await c.start('coord-a');
    const B = await c.start('coord-b');
    const { grant, connKey, eng } = await topology(A, B, { grant: true });
    // The grant was made on A before bob's node existed; his node on B sees the connector on A.
    await netmapWhere(eng, (m) => m.peers.some((p) => p.key === connKey));

    // An unrelated connector on B (another deployment): no change below concerns it.
    await A.admin.route(routes.deploymentsCreate, {
      body: { name: 'globex', region: 'eu-west-1', cloud: 'aws' },
    });
    const other = await B.connect(PrivateKey.generate(), {
      version: 1,
      kind: 'connector',
      name: 'g1',
      preauthKey: (await A.admin.route(routes.preauthKeysCreate, { body: { deployment: 'globex' } })).key,
    });
    await netmapWhere(other, () => true);
    const otherUpdates = countUpdates(other);

    // 1. The grant ends on A: bob's node on B loses the connector.
    let t0 = Date.now();
    await A.admin.route(routes.grantsRevoke, { params: { id: grant!.id } });
    await netmapWhere(eng, (m) => m.peers.length === 0, 1000);
    const grantEndMs = Date.now() - t0;

    // 2. A new grant on A brings it back; then the connector node is revoked on A.
    t0 = Date.now();
    await A.admin.route(routes.grantsCreate, {
      body: {
        subject: { type: 'user', name: 'bob' },
        deployment: 'acme-prod',
        services: [],
      },
    });
    await netmapWhere(eng, (m) => m.peers.some((p) => p.key === connKey), 1000);
    const grantMs = Date.now() - t0;
    t0 = Date.now();
    await A.admin.route(routes.nodesRevoke, { body: { key: connKey } });
    await netmapWhere(eng, (m) => m.peers.length === 0, 1000);
    const revokeMs = Date.now() - t0;

    // B recomputed the nodes it serves that the changes affect, and no other.
    assert.equal(otherUpdates.n, 0, 'the unrelated connector on B got no netmap update');
    const applied = (await B.coord.metrics.fanoutChanges.get()).values.find(
      (v) => v.labels.result === 'applied',
    );
    assert.ok((applied?.value ?? 0) >= 3, `B applied the changes made on A (${applied?.value})`);
    const delay = await B.coord.metrics.fanoutDelaySeconds.get();
    const sum = delay.values.find((v) => v.metricName?.endsWith('_sum'))?.value ?? NaN;
    const count = delay.values.find((v) => v.metricName?.endsWith('_count'))?.value ?? NaN;
    t.diagnostic(
      `propagation A→agent on B: grant end ${grantEndMs} ms, new grant ${grantMs} ms, node revoke ${revokeMs} ms; ` +
        `B's commit-to-push delay mean ${((sum / count) * 1000).toFixed(1)} ms over ${count} changes`,
    );
    const h = await health(B);
    assert.equal(h.fanout?.listening, true);
    assert.ok((h.fanout?.version ?? 0) >= 3);
  } finally {
    await c.stop();
  }
});

const POLICY = {
  version: 1,
  policies: [
    {
      id: 'oncall',
      requesters: ['oncall'],
      deployments: { names: ['acme-prod'] },
      services: { names: ['k8s'] },
      access: 'read-only',
      maxDuration: '1h',
      pendingFor: '30m',
      approval: { group: 'leads', threshold: 1 },
    },
  ],
};

test('a grant made on B expires on time after the timer owner A stops', { timeout: 60_000 }, async (t) => {
  if (!needs(t, missing)) return;
  const c = await cluster();
  try {
    const A = await c.start('coord-a');
    const B = await c.start('coord-b');
    // A came first: it owns the timers, and B says so.
    assert.deepEqual(await health(A).then((h) => h.timers), {
      mode: 'lock',
      self: 'coord-a',
      owner: 'coord-a',
      owned: true,
    });
    const hb = await until('B sees A as owner', async () => {
      const h = await health(B);
      return h.timers.owner === 'coord-a' ? h : undefined;
    });
    assert.equal(hb.timers.owned, false);

    const { connKey, eng } = await topology(B, B, { grant: false });
    const a = B.admin;
    await a.route(routes.policyPut, { body: POLICY });
    for (const g of ['oncall', 'leads']) await a.route(routes.groupsCreate, { body: { name: g } });
    await a.route(routes.usersCreate, { body: { name: 'carol', password: 'long password' } });
    await a.route(routes.groupMembersAdd, { params: { name: 'oncall', user: 'bob' } });
    await a.route(routes.groupMembersAdd, { params: { name: 'leads', user: 'carol' } });
    const bob = await B.anon.login('bob', 'long password');
    const carol = await B.anon.login('carol', 'long password');
    const req = await bob.route(routes.requestsCreate, {
      body: {
        deployment: 'acme-prod',
        services: ['k8s'],
        reason: 'INC-15',
        duration: '4s',
      },
    });
    await carol.route(routes.requestsApprove, { params: { id: String(req.id) } });
    const g = await bob.route(routes.accessGrantsGet, { params: { id: String(req.grantId) } });
    assert.equal(g.status, 'active');
    await netmapWhere(eng, (m) => m.peers.some((p) => p.key === connKey));

    // Mid-grant, the owner stops: its lock session closes and B takes the timers over.
    await sleep(1000);
    await A.stop();
    const took = await until('B owns the timers', async () => {
      const h = await health(B);
      return h.timers.owned ? h : undefined;
    });
    assert.equal(took.timers.owner, 'coord-b');
    assert.equal(A.coord.access.ticks, 0, 'A never reached the deadline');

    const ended = await until(
      'the grant is expired',
      async () => {
        const x = await bob.route(routes.accessGrantsGet, { params: { id: g.id } });
        return x.status === 'active' ? undefined : { status: x.status, at: Date.now() };
      },
      10_000,
    );
    assert.equal(ended.status, 'expired');
    const late = ended.at - g.end;
    t.diagnostic(`grant end ${g.end}; B expired it ${late} ms after its end`);
    assert.ok(late >= -50 && late < 1500, `expired ${late} ms after its end`);
    assert.ok(B.coord.access.ticks >= 1);
    const audit = await B.admin.route(routes.auditList, { query: { limit: 10000 } });
    assert.ok(
      audit.some((r) => r.actor === 'system' && r.subject === `grant:${g.id}` && /expire/.test(r.action)),
      'the expiry is audited as system',
    );
    await netmapWhere(eng, (m) => m.peers.length === 0, 2000);
    const changes = await B.coord.metrics.timerOwnerChanges.get();
    assert.equal(changes.values.find((v) => v.labels.event === 'acquired')?.value, 1);
  } finally {
    await c.stop();
  }
});

test('concurrent audit appends from three coordinators make one chain', { timeout: 60_000 }, async (t) => {
  if (!needs(t, missing)) return;
  const c = await cluster();
  try {
    const ms = [
      await c.start('coord-a', { auditCheckpointEvery: 10 }),
      await c.start('coord-b', { auditCheckpointEvery: 10 }),
      await c.start('coord-c', { auditCheckpointEvery: 10 }),
    ];
    const before = (await ms[0].coord.store.auditHead()).seq;
    const PER = 60;
    await Promise.all(
      ms.flatMap((m) =>
        Array.from({ length: PER }, (_, i) =>
          m.coord.store.recordAudit(`test:${m.name}`, {
            action: 'test.append',
            subject: `n:${i}`,
            details: { i },
          }),
        ),
      ),
    );
    const records = await ms[1].coord.store.listAudit({ limit: 10_000 });
    assert.equal(records.length, before + 3 * PER);
    assert.deepEqual(
      records.map((r) => r.seq),
      records.map((_, i) => i + 1),
      'no gap, no duplicate seq',
    );
    const mine = records.filter((r) => r.action === 'test.append');
    let switches = 0;
    for (let i = 1; i < mine.length; i++) if (mine[i].actor !== mine[i - 1].actor) switches++;
    t.diagnostic(`${mine.length} concurrent appends, ${switches} switches between coordinators in the chain`);
    assert.ok(switches >= 2, 'appends from the coordinators interleave');
    const checkpoints = await ms[2].coord.store.listAuditCheckpoints();
    assert.ok(checkpoints.length >= (3 * PER) / 10 - 1, `${checkpoints.length} checkpoints`);
    const key = ms[0].coord.keys.auditKey.verifyKey;
    const rep = verifyExport(writeExport({ records, checkpoints, keys: [key], exportedAt: Date.now() }), {
      trustedKeys: [key],
    });
    assert.equal(rep.ok, true, JSON.stringify(rep.failure));
    assert.equal(rep.lastSeq, records.length);
    assert.equal(rep.signedThrough, checkpoints[checkpoints.length - 1].seq);
    for (const m of ms) assert.equal(m.coord.auditSigner.state().signer, 'ok', `${m.name}'s signer`);
  } finally {
    await c.stop();
  }
});

test('a cut LISTEN connection catches up by version when it is back', { timeout: 60_000 }, async (t) => {
  if (!needs(t, missing)) return;
  const c = await cluster();
  try {
    const A = await c.start('coord-a');
    const B = await c.start('coord-b', { fanoutRetryMs: 1500 });
    const { grant, connKey, eng } = await topology(A, B, { grant: true });
    await netmapWhere(eng, (m) => m.peers.some((p) => p.key === connKey));

    const pid = B.coord.fanout!.listenerPid!;
    const [killed] = await sql<{ ok: boolean }>(c.db, 'select pg_terminate_backend($1) as ok', [pid]);
    assert.equal(killed.ok, true);
    await until('B notices', async () => ((await health(B)).fanout?.listening === false ? true : undefined));

    // While B is not listening, the grant ends on A: nothing reaches B yet.
    await A.admin.route(routes.grantsRevoke, { params: { id: grant!.id } });
    await A.coord.fanout!.published();
    const t0 = Date.now();
    await sleep(300);
    assert.ok(
      eng.netmap!.peers.some((p) => p.key === connKey),
      'B still pushes the old netmap while its LISTEN connection is down',
    );
    // B reconnects (1.5 s after the loss) and reads the change log from its last version.
    await netmapWhere(eng, (m) => m.peers.length === 0, 5000);
    t.diagnostic(`caught up ${Date.now() - t0} ms after the change was published`);
    const h = await health(B);
    assert.equal(h.fanout?.listening, true);
    assert.notEqual(B.coord.fanout!.listenerPid, pid);
    assert.equal((await B.coord.metrics.fanoutReconnects.get()).values[0]?.value, 1);
    assert.equal(
      (await B.coord.metrics.fanoutResyncs.get()).values[0]?.value ?? 0,
      0,
      'caught up, no resync',
    );

    // Notifications flow again on the new connection.
    const t1 = Date.now();
    await A.admin.route(routes.grantsCreate, {
      body: {
        subject: { type: 'user', name: 'bob' },
        deployment: 'acme-prod',
        services: [],
      },
    });
    await netmapWhere(eng, (m) => m.peers.some((p) => p.key === connKey), 1000);
    t.diagnostic(`after reconnect: ${Date.now() - t1} ms`);
  } finally {
    await c.stop();
  }
});
