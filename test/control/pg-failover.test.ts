// PostgreSQL failover under two coordinators (issue 15), with Debian's PostgreSQL: a primary with a
// synchronous hot standby (streaming replication), and the coordinators' database address on a
// movable endpoint (as a managed database's DNS name or a virtual IP is moved). While both
// coordinators write (each API call is audited), the primary is lost (immediate shutdown), the
// standby is promoted and the endpoint moved to it. Shown: both coordinators serve again without a
// restart, every write they acknowledged is in the new primary and in the audit chain, the chain
// verifies as one (no fork, no gap), the audit signers are not halted, exactly one coordinator
// runs the timers, and both listen for netmap changes again.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { ApiClient, Coordinator, createLogger, routes } from '../../src/control/index.ts';
import { verifyExport, writeExport } from '../../src/audit/index.ts';
import { needs } from '../../src/testing/require.ts';
import {
  postgresMissing,
  startPostgres,
  startStandby,
  type PostgresInstance,
} from '../../src/testing/postgres.ts';
import { startDelayProxy, type DelayProxy } from '../../src/testing/delay-proxy.ts';
import { waitFor } from '../../src/testing/harness.ts';
import { ADMIN } from './fixture.ts';
import { copyCoordinatorKeys } from '../../src/testing/coordinators.ts';

const missing = postgresMissing();
let primary: PostgresInstance | undefined;
let standby: PostgresInstance | undefined;
let endpoint: DelayProxy | undefined;

before(async () => {
  if (missing) return;
  // Synchronous replication: a commit is acknowledged once the standby has it.
  primary = await startPostgres({
    conf: ['synchronous_commit = on', 'full_page_writes = on', 'wal_level = replica', 'max_wal_senders = 4'],
  });
  standby = await startStandby(primary, 'standby1');
  // Synchronous only once the standby exists (a commit would wait for it before).
  await query(primary.url, "alter system set synchronous_standby_names = 'standby1'");
  await query(primary.url, 'select pg_reload_conf()');
  endpoint = await startDelayProxy(primary.port, 0);
});
after(async () => {
  await endpoint?.close();
  await standby?.stop();
  await primary?.stop();
});

async function query<T>(url: string, text: string): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(text)).rows as T[];
  } finally {
    await c.end();
  }
}

test(
  'the primary is lost and the standby promoted: both coordinators serve again, no acknowledged write or audit record lost',
  { timeout: 120_000 },
  async (t) => {
    if (!needs(t, missing)) return;
    const t0 = Date.now();
    const phase = (what: string) => t.diagnostic(`${Date.now() - t0} ms: ${what}`);
    await waitFor(
      async () =>
        (
          await query<{ sync_state: string }>(primary!.url, 'select sync_state from pg_stat_replication')
        ).some((r) => r.sync_state === 'sync'),
      20_000,
      'the standby streams synchronously',
    );
    const db = `postgres://sallyport@127.0.0.1:${endpoint!.port}/sallyport`;
    const dirs: string[] = [];
    const coords: Coordinator[] = [];
    t.after(async () => {
      for (const c of coords) await c.stop().catch(() => {});
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    });
    for (const name of ['coord-a', 'coord-b']) {
      const dir = mkdtempSync(join(tmpdir(), `sallyport-pgfail-${name}-`));
      if (dirs[0]) copyCoordinatorKeys(dirs[0], dir);
      dirs.push(dir);
      coords.push(
        await Coordinator.start({
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
          fanoutRetryMs: 100,
        }),
      );
    }
    phase('coordinators up');
    const admins = await Promise.all(
      coords.map((c) => new ApiClient({ server: c.url, ca: c.tls.cert }).login(ADMIN.name, ADMIN.password)),
    );
    const health = async (c: Coordinator) => {
      const h = await new ApiClient({ server: c.url, ca: c.tls.cert }).route(routes.health);
      return { ...h, timers: h.timers! };
    };

    // Both coordinators create users as fast as they can; each acknowledged one is audited.
    const acked: string[] = [];
    const failedAt: number[] = [];
    const refusedStatus: number[] = [];
    let switchedAt = 0;
    const firstOkAfterSwitch: (number | undefined)[] = [undefined, undefined];
    let running = true;
    const writers = admins.map(async (a, i) => {
      for (let n = 0; running; n++) {
        const name = `u-${i}-${n}`;
        try {
          await a.route(routes.usersCreate, { body: { name, password: 'long password' } });
          acked.push(name);
          if (switchedAt && firstOkAfterSwitch[i] === undefined) firstOkAfterSwitch[i] = Date.now();
        } catch (e) {
          // During the failover a request fails as a server error, never as "log in again".
          refusedStatus.push((e as { status?: number }).status ?? 0);
          failedAt.push(Date.now());
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    });
    await waitFor(() => acked.length >= 40, 20_000, 'writes before the failover');
    phase('40 writes');

    // The primary host is lost; the standby is promoted; the endpoint moves to it.
    const lostAt = Date.now();
    const beforeLoss = acked.length;
    await primary!.crash();
    await standby!.promote();
    endpoint!.retarget(standby!.port);
    switchedAt = Date.now();
    t.diagnostic(`primary lost; standby promoted and the endpoint moved ${switchedAt - lostAt} ms later`);
    await waitFor(
      () => firstOkAfterSwitch.every((x) => x !== undefined),
      30_000,
      'both coordinators write again after the failover',
    );
    t.diagnostic(
      `first acknowledged write after the move: ${firstOkAfterSwitch.map((x) => x! - switchedAt).join(' ms, ')} ms`,
    );
    await waitFor(() => acked.length >= beforeLoss + 40, 20_000, 'writes after the failover');
    running = false;
    await Promise.all(writers);
    phase('writers stopped');
    t.diagnostic(`${acked.length} writes acknowledged, ${failedAt.length} refused during the failover`);

    assert.ok(
      refusedStatus.every((st) => st >= 500),
      `refusals during the failover: ${refusedStatus.join(' ')} (a 401 would make clients drop their token)`,
    );
    // Every acknowledged user is in the new primary.
    const users = new Set(
      (await query<{ name: string }>(standby!.url, 'select name from users')).map((r) => r.name),
    );
    const lost = acked.filter((n) => !users.has(n));
    assert.deepEqual(lost, [], 'acknowledged writes missing after the failover');

    // One audit chain, verified, holding every acknowledged user's creation.
    await waitFor(
      async () => {
        const hs = await Promise.all(coords.map(health));
        return (
          hs.every((h) => h.audit.signer === 'ok' && h.fanout?.listening === true) &&
          hs.filter((h) => h.timers.owned).length === 1
        );
      },
      15_000,
      'both healthy: signers ok, LISTEN back, one timer owner',
    );
    const records = await coords[0].store.listAudit({ limit: 100_000 });
    const checkpoints = await coords[1].store.listAuditCheckpoints();
    const key = coords[0].keys.auditKey.verifyKey;
    const rep = verifyExport(writeExport({ records, checkpoints, keys: [key], exportedAt: Date.now() }), {
      trustedKeys: [key],
    });
    assert.equal(rep.ok, true, JSON.stringify(rep.failure));
    assert.equal(rep.lastSeq, records.length, 'no gap: seq 1..n');
    const created = new Set(records.filter((r) => r.action === 'user.create').map((r) => r.subject));
    const unaudited = acked.filter((n) => !created.has(`user:${n}`));
    assert.deepEqual(unaudited, [], 'acknowledged writes without their audit record');
    for (const c of coords) assert.equal(c.auditSigner.state().signer, 'ok');
  },
);
