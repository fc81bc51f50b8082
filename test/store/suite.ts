// The shared store test suite: every database the store supports must pass it unchanged.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../src/clock/index.ts';
import { PrivateKey } from '../../src/crypto/index.ts';
import { SigningKey } from '../../src/crypto/index.ts';
import { signCheckpoint, verifyChain, verifyExport, writeExport } from '../../src/audit/index.ts';
import { Store, StoreError, type AuditSigner, type DatabaseConfig } from '../../src/store/index.ts';
import { migrate, openKysely } from '../../src/store/db.ts';
import { MIGRATIONS } from '../../src/store/migrations.ts';
import { Migrator } from 'kysely';

export interface Backend {
  /** A fresh, empty database config and a cleanup for it; undefined + reason to skip. */
  setup(): Promise<{ cfg: DatabaseConfig; cleanup(): Promise<void> }>;
}

const FAST_SCRYPT = { N: 1 << 10, r: 8, p: 1 };
const DAY = 86_400_000;
const nodeKey = (): string => PrivateKey.generate().publicKey.base64();

const pick = (f: { code: string; seq?: number } | undefined) => f && { code: f.code, seq: f.seq };

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof StoreError, `expected StoreError, got ${String(e)}`);
    return e.code;
  }
  assert.fail('expected the call to fail');
}

export function storeSuite(name: string, backend: Backend, skip?: string): void {
  describe(`store on ${name}`, { skip }, () => {
    let clock: FakeClock;
    let store: Store;
    let cfg: DatabaseConfig;
    let cleanup: () => Promise<void>;
    let failNext = false;

    before(async () => {
      ({ cfg, cleanup } = await backend.setup());
      clock = new FakeClock();
      store = await Store.open(cfg, {
        clock,
        scrypt: FAST_SCRYPT,
        afterAudit: () => {
          if (failNext) {
            failNext = false;
            throw new Error('injected failure after the audit record');
          }
        },
      });
    });
    after(async () => {
      await store?.close();
      await cleanup?.();
    });

    test('migrations are idempotent: a second open of the same database applies nothing new', async () => {
      const again = await Store.open(cfg, { clock });
      await again.close();
    });

    test('deployments: create, list, get, duplicate refused with nothing written', async () => {
      const d = await store.createDeployment('admin', {
        name: 'acme-prod',
        region: 'us-east-1',
        cloud: 'aws',
      });
      assert.equal(d.name, 'acme-prod');
      assert.deepEqual(
        (await store.listDeployments()).map((x) => x.name),
        ['acme-prod'],
      );
      assert.equal((await store.getDeployment('acme-prod')).region, 'us-east-1');
      const before = await store.counts();
      assert.equal(
        await code(store.createDeployment('admin', { name: 'acme-prod', region: 'x', cloud: 'y' })),
        'CONFLICT',
      );
      assert.deepEqual(await store.counts(), before);
      assert.equal(await code(store.getDeployment('nope')), 'NOT_FOUND');
    });

    test('I7: a mutation that fails after its audit record leaves neither change nor record', async () => {
      const before = await store.counts();
      const auditBefore = await store.listAudit();
      failNext = true;
      await assert.rejects(
        store.createDeployment('admin', { name: 'ghost', region: 'r', cloud: 'c' }),
        /injected/,
      );
      assert.deepEqual(await store.counts(), before);
      assert.deepEqual(await store.listAudit(), auditBefore);
      assert.equal(await code(store.getDeployment('ghost')), 'NOT_FOUND');
      // and the chain goes on from the same head
      await store.createDeployment('admin', { name: 'acme-dev', region: 'eu-west-1', cloud: 'aws' });
      assert.equal(verifyChain(await store.listAudit()).ok, true);
    });

    test('services: upsert, list, schema refuses a bad kind', async () => {
      const s = await store.upsertService('admin', {
        deployment: 'acme-prod',
        name: 'k8s',
        kind: 'kubernetes',
        address: '10.0.0.1:6443',
        labels: { tier: 'ops' },
      });
      assert.equal(s.tlsMode, 'terminate');
      const s2 = await store.upsertService('admin', {
        deployment: 'acme-prod',
        name: 'k8s',
        kind: 'kubernetes',
        address: '10.0.0.2:6443',
        tlsMode: 'passthrough',
      });
      assert.equal(s2.id, s.id);
      const list = await store.listServices('acme-prod');
      assert.equal(list.length, 1);
      assert.equal(list[0].address, '10.0.0.2:6443');
      assert.equal(list[0].deployment, 'acme-prod');
      const before = await store.counts();
      assert.equal(
        await code(
          store.upsertService('admin', {
            deployment: 'acme-prod',
            name: 'x',
            kind: 'ftp' as 'tcp',
            address: 'a:1',
          }),
        ),
        'INVALID',
      );
      assert.equal(
        await code(
          store.upsertService('admin', { deployment: 'nope', name: 'x', kind: 'tcp', address: 'a:1' }),
        ),
        'NOT_FOUND',
      );
      assert.deepEqual(await store.counts(), before);
    });

    test('users: scrypt login, tokens, disable', async () => {
      await store.createUser('admin', { name: 'alice', password: 'correct horse', admin: true });
      await store.createUser('admin', { name: 'bob', password: 'battery staple' });
      assert.equal(await code(store.login('alice', 'wrong', DAY)), 'AUTH');
      assert.equal(await code(store.login('nobody', 'x', DAY)), 'AUTH');
      const { token, user } = await store.login('bob', 'battery staple', DAY);
      assert.equal(user.name, 'bob');
      assert.equal((await store.userForToken(token)).name, 'bob');
      assert.equal(await code(store.userForToken(token + 'x')), 'AUTH');
      await store.setUserDisabled('admin', 'bob', true);
      assert.equal(await code(store.userForToken(token)), 'AUTH');
      assert.equal(await code(store.login('bob', 'battery staple', DAY)), 'AUTH');
      await store.setUserDisabled('admin', 'bob', false);
      const t2 = await store.login('bob', 'battery staple', DAY);
      clock.advance(DAY + 1);
      assert.equal(await code(store.userForToken(t2.token)), 'AUTH');
    });

    test('groups and memberships', async () => {
      await store.createGroup('admin', 'oncall');
      await store.setMembership('admin', 'oncall', 'bob', true);
      assert.equal(await code(store.setMembership('admin', 'oncall', 'bob', true)), 'CONFLICT');
      assert.deepEqual(
        (await store.listGroups()).map((g) => [g.name, g.members]),
        [['oncall', ['bob']]],
      );
      assert.equal(await code(store.setMembership('admin', 'nope', 'bob', true)), 'NOT_FOUND');
    });

    test('pre-auth keys: single-use, reusable, expiry, revocation, binding', async () => {
      const single = await store.createPreauthKey('admin', {
        deployment: 'acme-prod',
        reusable: false,
        expiresAt: store.now() + DAY,
      });
      assert.match(single.key, /^sppk_/);
      const c1 = await store.enrollWithPreauthKey({
        key: single.key,
        nodeKey: nodeKey(),
        kind: 'connector',
        name: 'c1',
      });
      assert.equal(c1.kind, 'connector');
      assert.equal(c1.deploymentId, (await store.getDeployment('acme-prod')).id);
      assert.equal(c1.expiresAt - c1.createdAt, 90 * DAY);
      const before = await store.counts();
      assert.equal(
        await code(
          store.enrollWithPreauthKey({ key: single.key, nodeKey: nodeKey(), kind: 'connector', name: 'c2' }),
        ),
        'EXHAUSTED',
      );
      assert.equal(
        await code(
          store.enrollWithPreauthKey({ key: 'sppk_nope', nodeKey: nodeKey(), kind: 'connector', name: 'c2' }),
        ),
        'AUTH',
      );
      assert.deepEqual(await store.counts(), before);

      const reusable = await store.createPreauthKey('admin', {
        deployment: 'acme-dev',
        reusable: true,
        expiresAt: store.now() + 1000,
      });
      await store.enrollWithPreauthKey({
        key: reusable.key,
        nodeKey: nodeKey(),
        kind: 'connector',
        name: 'd1',
      });
      await store.enrollWithPreauthKey({
        key: reusable.key,
        nodeKey: nodeKey(),
        kind: 'connector',
        name: 'd2',
      });
      assert.equal(
        await code(
          store.enrollWithPreauthKey({ key: reusable.key, nodeKey: nodeKey(), kind: 'engineer', name: 'x' }),
        ),
        'INVALID',
      );
      clock.advance(1000);
      assert.equal(
        await code(
          store.enrollWithPreauthKey({
            key: reusable.key,
            nodeKey: nodeKey(),
            kind: 'connector',
            name: 'd3',
          }),
        ),
        'EXPIRED',
      );
      const listed = (await store.listPreauthKeys()).find((k) => k.id === reusable.record.id)!;
      assert.equal(listed.usedCount, 2);

      const user = await store.createPreauthKey('admin', {
        user: 'alice',
        reusable: true,
        expiresAt: store.now() + DAY,
      });
      const e = await store.enrollWithPreauthKey({
        key: user.key,
        nodeKey: nodeKey(),
        kind: 'engineer',
        name: 'laptop',
      });
      assert.equal(e.kind, 'engineer');
      assert.equal(e.expiresAt - e.createdAt, 7 * DAY);
      await store.revokePreauthKey('admin', user.record.id);
      assert.equal(
        await code(
          store.enrollWithPreauthKey({ key: user.key, nodeKey: nodeKey(), kind: 'engineer', name: 'l2' }),
        ),
        'REVOKED',
      );
      assert.equal(
        await code(store.createPreauthKey('admin', { reusable: true, expiresAt: store.now() + DAY })),
        'INVALID',
      );
      // the same node key twice is refused
      const again = await store.createPreauthKey('admin', {
        deployment: 'acme-prod',
        reusable: true,
        expiresAt: store.now() + DAY,
      });
      assert.equal(
        await code(
          store.enrollWithPreauthKey({
            key: again.key,
            nodeKey: c1.publicKey,
            kind: 'connector',
            name: 'dup',
          }),
        ),
        'CONFLICT',
      );
      // the secret is not stored
      const raw = JSON.stringify(await store.db.selectFrom('preauth_keys').selectAll().execute());
      assert.ok(!raw.includes(single.key.slice(5)));
    });

    test('grants and the netmap inputs of each side', async () => {
      const eng = await store.enrollWithPreauthKey({
        key: (
          await store.createPreauthKey('admin', {
            user: 'bob',
            reusable: false,
            expiresAt: store.now() + DAY,
          })
        ).key,
        nodeKey: nodeKey(),
        kind: 'engineer',
        name: 'bob-laptop',
      });
      const conn = (await store.listNodes()).find((n) => n.name === 'c1')!;
      // A proxied kind registered as passthrough (an older connector) is stored terminated.
      const reg = await store.registerServices(conn, [
        { name: 'k8s', kind: 'kubernetes', address: '10.0.0.3:6443', tlsMode: 'passthrough' },
        { name: 'ch', kind: 'clickhouse', address: '10.0.0.4:8443', tlsMode: 'passthrough' },
      ]);
      assert.deepEqual(
        reg.registered.map((s) => [s.name, s.tlsMode]),
        [
          ['k8s', 'terminate'],
          ['ch', 'terminate'],
        ],
      );
      await store.registerServices(conn, [
        { name: 'k8s', kind: 'kubernetes', address: '10.0.0.3:6443' },
        { name: 'ch', kind: 'clickhouse', address: '10.0.0.4:8443' },
      ]);
      let inputs = (await store.netmapInputs(eng.id))!;
      assert.equal(inputs.grants.length, 0);
      assert.equal(inputs.nodes.length, 0);
      const g = await store.createGrant('admin', {
        subject: { type: 'group', name: 'oncall' },
        deployment: 'acme-prod',
        services: ['k8s'],
      });
      inputs = (await store.netmapInputs(eng.id))!;
      assert.deepEqual(
        inputs.grants.map((x) => x.id),
        [g.id],
      );
      assert.deepEqual(
        inputs.nodes.map((x) => x.id),
        [conn.id],
      );
      assert.deepEqual(inputs.services.map((s) => s.name).sort(), ['ch', 'k8s']);
      const cin = (await store.netmapInputs(conn.id))!;
      assert.deepEqual(
        cin.nodes.map((x) => x.id),
        [eng.id],
      );
      assert.deepEqual(
        cin.users.map((u) => u.name),
        ['bob'],
      );
      assert.deepEqual(await store.nodeIdsOfSubject('group', g.subjectId), [eng.id]);
      assert.deepEqual(await store.connectorIdsOf(conn.deploymentId!), [conn.id]);
      await store.revokeGrant('admin', g.id);
      assert.equal((await store.netmapInputs(eng.id))!.grants.length, 0);
      assert.equal(await code(store.revokeGrant('admin', g.id)), 'NOT_FOUND');
      assert.equal(
        await code(
          store.createGrant('admin', {
            subject: { type: 'user', name: 'nobody' },
            deployment: 'acme-prod',
            services: [],
          }),
        ),
        'NOT_FOUND',
      );
    });

    test('lostAccessNodeKeys: revoked, expired and disabled-user nodes within the window', async () => {
      await store.createUser('admin', { name: 'carol', password: 'carol password' });
      await store.createUser('admin', { name: 'dave', password: 'dave password' });
      const enroll = async (bind: { deployment: string } | { user: string }, name: string) =>
        store.enrollWithPreauthKey({
          key: (
            await store.createPreauthKey('admin', { ...bind, reusable: false, expiresAt: store.now() + DAY })
          ).key,
          nodeKey: nodeKey(),
          kind: 'deployment' in bind ? 'connector' : 'engineer',
          name,
        });
      const before = new Set(await store.lostAccessNodeKeys(DAY));
      const live = await enroll({ deployment: 'acme-prod' }, 'live-1');
      const revoked = await enroll({ deployment: 'acme-prod' }, 'revoked-1');
      const carols = await enroll({ user: 'carol' }, 'carol-laptop');
      const daves = await enroll({ user: 'dave' }, 'dave-laptop');
      await store.revokeNode('admin', revoked.publicKey);
      await store.setUserDisabled('admin', 'carol', true);
      const lost = (await store.lostAccessNodeKeys(DAY)).filter((k) => !before.has(k));
      assert.deepEqual(lost.sort(), [revoked.publicKey, carols.publicKey].sort());
      // dave's engineer key expires after 7 days: listed from then for the window, then not
      clock.advance(7 * DAY + 1);
      const later = await store.lostAccessNodeKeys(DAY);
      assert.ok(later.includes(daves.publicKey), 'an expired key is listed');
      assert.ok(!later.includes(revoked.publicKey), 'a key revoked longer ago than the window is not');
      assert.ok(!later.includes(live.publicKey));
      clock.advance(DAY);
      assert.ok(!(await store.lostAccessNodeKeys(DAY)).includes(daves.publicKey));
    });

    test('grants keep their access level: read-only unless given; the netmap inputs carry it', async () => {
      const ro = await store.createGrant('admin', {
        subject: { type: 'user', name: 'bob' },
        deployment: 'acme-prod',
        services: ['k8s'],
      });
      const rw = await store.createGrant('admin', {
        subject: { type: 'user', name: 'bob' },
        deployment: 'acme-prod',
        services: ['k8s'],
        access: 'read-write',
      });
      assert.equal(ro.access, 'read-only');
      assert.equal(rw.access, 'read-write');
      const listed = (await store.listGrants()).filter((g) => g.id === ro.id || g.id === rw.id);
      assert.deepEqual(listed.map((g) => g.access).sort(), ['read-only', 'read-write']);
      const audit = (await store.listAudit({ limit: 1000 })).find((a) => a.subject === `grant:${rw.id}`);
      assert.equal((audit?.details as { access?: string }).access, 'read-write');
      const conn = (await store.listNodes()).find((n) => n.name === 'c1')!;
      const inputs = (await store.netmapInputs(conn.id))!;
      assert.equal(inputs.grants.find((g) => g.id === rw.id)?.access, 'read-write');
      await store.revokeGrant('admin', ro.id);
      await store.revokeGrant('admin', rw.id);
    });

    test("migration 0004: existing grants become read-only, request-derived ones take their request's level", async () => {
      const { cfg: old, cleanup: drop } = await backend.setup();
      const db = await openKysely(old);
      try {
        const first = Object.fromEntries(Object.entries(MIGRATIONS).filter(([k]) => k < '0004'));
        const m = new Migrator({ db, provider: { getMigrations: () => Promise.resolve(first) } });
        assert.equal((await m.migrateToLatest()).error, undefined);
        const row = (id: string) => ({
          id,
          subject_type: 'user',
          subject_id: 'u1',
          deployment_id: 'd1',
          services: '[]',
          not_before: 0,
          expires_at: null,
          revoked_at: null,
          created_at: 0,
          created_by: 'admin',
        });
        await db
          .insertInto('deployments')
          .values({ id: 'd1', name: 'd', region: 'r', cloud: 'c', created_at: 0 })
          .execute();
        await db
          .insertInto('grants')
          .values([row('g-standing'), row('g-request')])
          .execute();
        await db
          .insertInto('access_requests')
          .values({
            id: 'r1',
            grant_id: 'g-request',
            requester: 'u',
            deployment: 'd',
            status: 'approved',
            pending_until: 0,
            created_at: 0,
            version: 1,
            state: '{}',
          })
          .execute();
        await db
          .insertInto('access_grants')
          .values({
            id: 'g-request',
            request_id: 'r1',
            subject: 'u',
            status: 'active',
            end_at: 1,
            version: 1,
            state: JSON.stringify({ access: 'admin' }),
          })
          .execute();
        // 0004 and every later migration run on the old database
        assert.deepEqual(
          await migrate(db),
          Object.keys(MIGRATIONS)
            .filter((k) => k >= '0004')
            .sort(),
        );
        const got = await db.selectFrom('grants').select(['id', 'access']).orderBy('id').execute();
        assert.deepEqual(got, [
          { id: 'g-request', access: 'admin' },
          { id: 'g-standing', access: 'read-only' },
        ]);
      } finally {
        await db.destroy();
        await drop();
      }
    });

    test('device login: start, approve by a signed-in user, poll', async () => {
      const key = nodeKey();
      const d = await store.startDeviceLogin({ nodeKey: key, name: 'alice-mac', ttlMs: 600_000 });
      assert.match(d.userCode, /^[A-Z]{4}-[A-Z]{4}$/);
      assert.equal((await store.pollDeviceLogin(d.deviceCode)).status, 'pending');
      const alice = await store.getUser('alice');
      const node = await store.approveDeviceLogin(alice, d.userCode);
      assert.equal(node.userId, alice.id);
      const p = await store.pollDeviceLogin(d.deviceCode);
      assert.equal(p.status, 'approved');
      assert.equal(p.node!.publicKey, key);
      assert.equal(await code(store.approveDeviceLogin(alice, d.userCode)), 'NOT_FOUND');
      const late = await store.startDeviceLogin({ nodeKey: nodeKey(), name: 'x', ttlMs: 1000 });
      clock.advance(1001);
      assert.equal((await store.pollDeviceLogin(late.deviceCode)).status, 'expired');
      assert.equal(await code(store.approveDeviceLogin(alice, late.userCode)), 'EXPIRED');
      // pending codes are bounded; expired ones are dropped
      await store.startDeviceLogin({ nodeKey: nodeKey(), name: 'a', ttlMs: 1000, maxPending: 2 });
      await store.startDeviceLogin({ nodeKey: nodeKey(), name: 'b', ttlMs: 1000, maxPending: 2 });
      assert.equal(
        await code(store.startDeviceLogin({ nodeKey: nodeKey(), name: 'c', ttlMs: 1000, maxPending: 2 })),
        'BUSY',
      );
      clock.advance(1000);
      await store.startDeviceLogin({ nodeKey: nodeKey(), name: 'd', ttlMs: 1000, maxPending: 2 });
    });

    test('the audit chain stays whole under concurrent mutations', async () => {
      await Promise.all(
        Array.from({ length: 16 }, (_, i) =>
          store.createDeployment('admin', { name: `c-${i}`, region: 'r', cloud: 'c' }),
        ),
      );
      const all = await store.listAudit({ limit: 10_000 });
      assert.equal(verifyChain(all).ok, true);
      assert.deepEqual(
        all.map((r) => r.seq),
        all.map((_, i) => i + 1),
      );
      assert.ok(all.some((r) => r.action === 'node.enroll'));
      // an edited record breaks the chain
      const edited = all.map((r) => (r.seq === 3 ? { ...r, actor: 'mallory' } : r));
      assert.deepEqual(pick(verifyChain(edited).failure), { code: 'EDITED', seq: 3 });
      assert.deepEqual(pick(verifyChain(all.filter((r) => r.seq !== 2)).failure), {
        code: 'REMOVED',
        seq: 2,
      });
    });

    test('netmap change log (0006): dense versions under concurrent appends, read after a version, pruned by age', async () => {
      const start = await store.changeHead();
      const versions = await Promise.all(
        Array.from({ length: 12 }, (_, i) => store.appendChange(i % 2 ? 'coord-a' : 'coord-b', `{"i":${i}}`)),
      );
      assert.deepEqual(
        [...versions].sort((x, y) => x - y),
        Array.from({ length: 12 }, (_, i) => start + i + 1),
      );
      assert.equal(await store.changeHead(), start + 12);
      const rows = await store.changesAfter(start + 4);
      assert.deepEqual(
        rows.map((r) => r.version),
        Array.from({ length: 8 }, (_, i) => start + 5 + i),
      );
      assert.ok(rows.every((r) => /^\{"i":\d+\}$/.test(r.change) && r.origin.startsWith('coord-')));
      assert.equal((await store.changesAfter(start, 3)).length, 3);
      clock.advance(10_000);
      await store.appendChange('coord-a', '{"late":true}');
      assert.ok((await store.pruneChanges(store.now() - 5_000)) >= 12);
      const left = await store.changesAfter(0);
      assert.deepEqual(
        left.map((r) => r.change),
        ['{"late":true}'],
      );
      // The head keeps counting after pruning: versions are never reused.
      assert.equal(await store.changeHead(), start + 13);
    });

    test('audit: undefined details members are dropped; a lone surrogate is refused, nothing written', async () => {
      await store.recordAudit('admin', {
        action: 'test.note',
        subject: 'x',
        details: { a: 1, b: undefined },
      });
      assert.deepEqual((await store.listAudit({ limit: 10_000 })).at(-1)?.details, { a: 1 });
      const before = await store.counts();
      const e = await code(
        store.upsertService('admin', {
          deployment: 'acme-prod',
          name: 'bad',
          kind: 'http',
          address: '10.0.0.9:80',
          labels: { team: 'a\ud800' },
        }),
      );
      assert.equal(e, 'INVALID');
      assert.deepEqual(await store.counts(), before);
      assert.equal(verifyChain(await store.listAudit({ limit: 10_000 })).ok, true);
    });

    test('audit checkpoints: every N records in the same transaction, and the head on demand', async () => {
      const key = SigningKey.fromSeed(new Uint8Array(32).fill(7));
      const signer: AuditSigner = {
        publicKey: key.verifyKey.base64(),
        every: 4,
        sign: (head) => signCheckpoint(head, key, Math.floor(clock.wallMs())),
      };
      const signed = await Store.open(cfg, { clock, auditSigner: signer });
      try {
        for (let i = 0; i < 9; i++)
          await signed.recordAudit('admin', { action: 'test.tick', subject: `t:${i}`, details: { i } });
        const head = await signed.auditHead();
        const cps = await signed.listAuditCheckpoints();
        const due = Array.from({ length: Math.floor(head.seq / 4) }, (_, i) => 4 * (i + 1)).filter(
          (s) => s > head.seq - 9,
        );
        assert.deepEqual(
          cps.map((c) => c.seq),
          due,
        );
        assert.ok(cps.every((c) => c.publicKey === signer.publicKey));
        const atHead = await signed.signAuditHead();
        assert.equal(atHead?.seq, head.seq);
        assert.equal(atHead?.hash, head.hash);
        assert.deepEqual(
          await signed.signAuditHead(),
          atHead,
          'signing the same head twice stores one checkpoint',
        );
        const all = await signed.listAuditCheckpoints();
        assert.equal(all.length, due.length + (head.seq % 4 === 0 ? 0 : 1));
        const records = await signed.listAudit({ limit: 10_000 });
        const text = writeExport({
          records,
          checkpoints: all,
          keys: [key.verifyKey],
          exportedAt: Math.floor(clock.wallMs()),
        });
        const rep = verifyExport(text, { trustedKeys: [key.verifyKey], requireSigned: true });
        assert.equal(rep.ok, true, JSON.stringify(rep.failure));
        assert.equal(rep.signedThrough, head.seq);
        // a cut tail is seen through the head checkpoint
        const cut = writeExport({
          records: records.slice(0, -2),
          checkpoints: all,
          keys: [key.verifyKey],
          exportedAt: Math.floor(clock.wallMs()),
        });
        assert.equal(verifyExport(cut, { trustedKeys: [key.verifyKey] }).failure?.code, 'TRUNCATED');
      } finally {
        await signed.close();
      }
    });
  });
}
