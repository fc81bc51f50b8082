import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeClock } from '../clock/index.ts';
import { EgressError } from './errors.ts';
import { cgroupDirOfPid } from './sample.ts';
import { Spool } from './spool.ts';
import { parseStateFile, stateSource } from './state-source.ts';
import { StateExporter, stateIdsOfBody, type ServiceState, type StateMessage } from './state.ts';

const base: ServiceState = { health: 'ok', version: '1', replicas: null, disk: null, lastError: null };

test('state: a message at start, on each change, and on the heartbeat only when nothing changed', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'state-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const spool = await Spool.open({ dir });
  t.after(() => spool.close());
  const clock = new FakeClock();
  let state: ServiceState = { ...base, disk: { path: '/d', totalBytes: 1000, freeBytes: 500 } };
  let fail = false;
  const ex = new StateExporter({
    clock,
    spool,
    deployment: 'acme',
    host: 'db-0',
    pollMs: 1000,
    heartbeatMs: 5000,
    read: async () => {
      if (fail) throw new Error('state file: ENOENT');
      return state;
    },
  });
  await ex.start();
  for (let s = 1; s <= 12; s++) {
    if (s === 3) state = { ...state, version: '2' };
    if (s === 4) state = { ...state, disk: { path: '/d', totalBytes: 1000, freeBytes: 499 } }; // < 1 %: no change
    if (s === 9) fail = true;
    await ex.pollNow();
    clock.advance(1000);
  }
  await ex.stop();
  const msgs: StateMessage[] = [];
  for (const seq of spool.oldest(100)) msgs.push(JSON.parse((await spool.read(seq))!.toString()));
  assert.deepEqual(
    msgs.map((m) => `${m.reason}:${m.state.version}:${m.state.health}`),
    ['start:1:ok', 'change:2:ok', 'heartbeat:2:ok', 'change:null:unknown'],
  );
  assert.equal(msgs[3].state.lastError, 'state file: ENOENT');
  assert.ok(ex.stats.readErrors >= 4, `${ex.stats.readErrors} read errors counted`);
  assert.deepEqual(stateIdsOfBody(Buffer.from(JSON.stringify(msgs[1]))), {
    dedupId: 'acme.db-0.2',
    groupId: 'acme.db-0',
  });
  assert.throws(
    () => stateIdsOfBody(Buffer.from('{"kind":"usage"}')),
    (e: unknown) => (e as EgressError).code === 'EGRESS_BAD_RECORD',
  );
});

test('state source: the state file is validated; disk from statfs; health probe failures say why', async (t) => {
  assert.deepEqual(
    parseStateFile('{"health":"degraded","version":"24.3","replicas":{"ready":2,"desired":3},"x":1}'),
    {
      health: 'degraded',
      version: '24.3',
      replicas: { ready: 2, desired: 3 },
    },
  );
  for (const bad of ['nope', '[]', '{"health":"great"}', '{"replicas":{"ready":-1,"desired":3}}'])
    assert.throws(
      () => parseStateFile(bad),
      (e: unknown) => (e as EgressError).code === 'EGRESS_INVALID_OPTIONS',
      bad,
    );
  const dir = mkdtempSync(join(tmpdir(), 'state-src-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 's.json'), '{"version":"7"}');
  const s = await stateSource({
    stateFile: join(dir, 's.json'),
    diskPath: dir,
    healthUrl: 'http://127.0.0.1:1/ping',
  })();
  assert.equal(s.version, '7');
  assert.equal(s.health, 'down');
  assert.match(s.lastError!, /^health probe: /);
  assert.ok(s.disk!.totalBytes > 0 && s.disk!.freeBytes <= s.disk!.totalBytes);
});

test("sample: a PID's cgroup is the cgroup2 mount plus its 0:: path; no cgroup2 is a clear error", async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'proc-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(join(root, '42'));
  mkdirSync(join(root, 'self'));
  writeFileSync(join(root, '42', 'cgroup'), '4:memory:/x\n0::/db.slice/db.service\n');
  writeFileSync(join(root, 'self', 'mounts'), 'cgroup2 /sys/fs/cgroup/unified cgroup2 rw 0 0\n');
  assert.equal(await cgroupDirOfPid(42, root), '/sys/fs/cgroup/unified/db.slice/db.service');
  writeFileSync(join(root, 'self', 'mounts'), 'proc /proc proc rw 0 0\n');
  await assert.rejects(
    cgroupDirOfPid(42, root),
    (e: unknown) => (e as EgressError).code === 'EGRESS_CGROUP_PARSE',
  );
  await assert.rejects(
    cgroupDirOfPid(43, root),
    (e: unknown) => (e as EgressError).code === 'EGRESS_CGROUP_UNAVAILABLE',
  );
  await assert.rejects(
    cgroupDirOfPid(-1, root),
    (e: unknown) => (e as EgressError).code === 'EGRESS_INVALID_OPTIONS',
  );
});

test('sample: reads cpu.stat and, where present, memory.current and memory.stat', async (t) => {
  const { readCgroup } = await import('./sample.ts');
  const dir = mkdtempSync(join(tmpdir(), 'cg-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'cpu.stat'), 'usage_usec 30\nuser_usec 20\nsystem_usec 10\n');
  assert.deepEqual(await readCgroup(dir), {
    cpu: { usageUsec: 30, userUsec: 20, systemUsec: 10 },
    memoryBytes: null,
    memory: null,
  });
  writeFileSync(join(dir, 'memory.current'), '8192\n');
  writeFileSync(join(dir, 'memory.stat'), 'anon 4096\nfile 4096\nkernel 0\nshmem 0\nsock 0\nslab 1\n');
  const r = await readCgroup(dir);
  assert.equal(r.memoryBytes, 8192);
  assert.deepEqual(r.memory, { anon: 4096, file: 4096, kernel: 0, shmem: 0, sock: 0 });
  writeFileSync(join(dir, 'memory.current'), 'max\n');
  await assert.rejects(readCgroup(dir), (e: unknown) => (e as EgressError).code === 'EGRESS_CGROUP_PARSE');
});
