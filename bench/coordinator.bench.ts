// The coordinator at scale: 10,000 simulated agents (several thousand per process); approval to connector netmap update, and coordinator RSS.
// Run twice: one coordinator on SQLite, then two coordinators on one PostgreSQL (when it can be
// started here), connectors on the first and engineers on the second, each approval made on the
// second: the netmap change crosses coordinators through PostgreSQL (LISTEN/NOTIFY, change log).
//
// The coordinator runs in its own process (its RSS is its own). Agents are ControlClients (TLS,
// WebSocket, Noise IK, netmap + deltas) spread over child processes. Connectors d0..d(D-1) serve
// `k8s` in their deployment; each user u0..u(U-1) has several engineer devices. A sample: user u_i
// requests k8s on d_i, the lead approves, and the time runs from sending the approval until d_i's
// connector holds a netmap with all of u_i's devices (one sample at a time, the other agents idle).
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { goals, type Bench } from './framework.ts';
import { postgresMissing, startPostgres } from '../src/testing/postgres.ts';
import { Remote } from './rpc.ts';
import type { CoordInfo } from './coordinator-child.ts';
import type { SimAgent } from './agents-child.ts';

const coordScript = fileURLToPath(new URL('./coordinator-child.ts', import.meta.url));
const agentsScript = fileURLToPath(new URL('./agents-child.ts', import.meta.url));
const GIB = 1024 ** 3;

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, c) => a - c);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

export async function run(b: Bench): Promise<void> {
  await measure(b, 'single');
  await measure(b, 'pair');
}

async function measure(b: Bench, mode: 'single' | 'pair'): Promise<void> {
  const quick = b.timing.runMs < 100;
  const total = Number(process.env.SALLYPORT_BENCH_AGENTS ?? (quick ? 1000 : 10_000));
  const devices = 9; // engineer devices per user
  const connectors = Math.round(total / (devices + 1));
  const userCount = connectors;
  const engineers = userCount * devices;
  const procs = Math.max(1, Math.ceil(total / 2500));
  const samples = Math.min(quick ? 10 : 100, connectors);
  const n = connectors + engineers;
  const nameLatency =
    mode === 'single'
      ? `coordinator with ${n} agents: approval to connector netmap update`
      : `2 coordinators on PostgreSQL with ${n} agents: approval on one to connector netmap update on the other`;
  const nameRss =
    mode === 'single'
      ? `coordinator memory (RSS) at ${n} agents, lower is better`
      : `coordinator memory (RSS), largest of 2 on PostgreSQL at ${n} agents, lower is better`;
  if (!b.wants(nameLatency) && !b.wants(nameRss)) return;
  if (mode === 'pair' && postgresMissing()) {
    b.note(`coordinator: 2 coordinators on PostgreSQL not measured: ${postgresMissing()}`);
    return;
  }

  // SALLYPORT_BENCH_PROFILE_DIR=DIR: a CPU profile of the coordinator during the approvals.
  const profile = mode === 'single' ? process.env.SALLYPORT_BENCH_PROFILE_DIR : undefined;
  const pg = mode === 'pair' ? await startPostgres() : undefined;
  const coords: Remote[] = [];
  const sims = Array.from({ length: procs }, () => Remote.start(agentsScript, []));
  try {
    coords.push(Remote.start(coordScript, pg ? [pg.url, 'bench-a'] : []));
    const first = await coords[0].call<CoordInfo>('info');
    if (pg) coords.push(Remote.start(coordScript, [pg.url, 'bench-b', first.dir]));
    const infos = await Promise.all(coords.map((c) => c.call<CoordInfo>('info')));
    // Connectors on the first coordinator; engineers, requests and approvals on the last.
    const [connCoord, engCoord] = [coords[0], coords[coords.length - 1]];
    const [connInfo, engInfo] = [infos[0], infos[infos.length - 1]];
    let t = performance.now();
    const keys = await connCoord.call<{ deployment: string[]; user: string[] }>(
      'setup',
      connectors,
      userCount,
    );
    b.note(
      `coordinator (${mode}): ${connectors} deployments and ${userCount} users set up in ${((performance.now() - t) / 1000).toFixed(1)} s`,
    );
    const agents: SimAgent[] = [];
    for (let i = 0; i < connectors; i++)
      agents.push({ kind: 'connector', name: `c${i}`, preauthKey: keys.deployment[i] });
    for (let u = 0; u < userCount; u++)
      for (let k = 0; k < devices; k++)
        agents.push({ kind: 'engineer', name: `e${u}.${k}`, preauthKey: keys.user[u] });
    const home = new Map<string, Remote>();
    const parts: SimAgent[][] = sims.map(() => []);
    agents.forEach((a, i) => {
      parts[i % procs].push(a);
      home.set(a.name, sims[i % procs]);
    });
    t = performance.now();
    await Promise.all(
      sims.map(async (s, i) => {
        await s.call<number>(
          'connect',
          connInfo,
          parts[i].filter((a) => a.kind === 'connector'),
          32,
        );
        await s.call<number>(
          'connect',
          engInfo,
          parts[i].filter((a) => a.kind === 'engineer'),
          32,
        );
      }),
    );
    const secs = (performance.now() - t) / 1000;
    b.note(
      `coordinator (${mode}): ${agents.length} agents enrolled and connected in ${secs.toFixed(1)} s (${(agents.length / secs).toFixed(0)}/s)`,
    );
    if (pg) {
      // Each enrolment made on one coordinator is a change the other applies: wait until both have
      // applied the whole log, and say how long that backlog took.
      t = performance.now();
      for (;;) {
        const f = await Promise.all(coords.map((c) => c.call<{ head: number; applied: number }>('fanout')));
        const head = Math.max(...f.map((x) => x.head));
        if (f.every((x) => x.applied >= head)) {
          b.note(
            `coordinator (pair): both fan-outs at version ${head} ${((performance.now() - t) / 1000).toFixed(1)} s after the last agent connected`,
          );
          break;
        }
        if (performance.now() - t > 300_000) throw new Error('the fan-out did not catch up in 5 minutes');
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    const before = await Promise.all(coords.map((c) => c.call<{ sessions: number }>('stats')));
    const sessions = before.reduce((x, s) => x + s.sessions, 0);
    if (sessions !== agents.length)
      throw new Error(`the coordinators hold ${sessions} sessions, expected ${agents.length}`);

    const lat: number[] = [];
    const comps: number[] = [];
    if (profile) await connCoord.call('profileStart');
    const sample = async (i: number) => {
      const id = await engCoord.call<string>('request', `u${i}`, `d${i}`);
      const seen = home.get(`c${i}`)!.call<number>('watch', `c${i}`, devices, 30_000);
      const { t0, computations } = await engCoord.call<{ t0: number; computations: number }>('approve', id);
      return { ms: (await seen) - t0, computations };
    };
    // One approval first, not counted: the first change to cross coordinators warms that path
    // (it took 0.25–1 s on this 2-core host; every later one, tens of ms).
    if (samples < connectors)
      b.note(`coordinator (${mode}): warm-up approval ${(await sample(samples)).ms.toFixed(1)} ms`);
    for (let i = 0; i < samples; i++) {
      const r = await sample(i);
      lat.push(r.ms);
      comps.push(r.computations);
    }
    if (profile) await connCoord.call('profileStop', join(profile, 'coordinator-approvals.cpuprofile'));
    const after = await Promise.all(
      coords.map((c) =>
        c.call<{ sessions: number; computations: number; memory: NodeJS.MemoryUsage }>('stats'),
      ),
    );
    const sim = await Promise.all(
      sims.map((s) =>
        s.call<{
          open: number;
          closedEarly: number;
          beforeNetmap: Record<string, number>;
          memory: NodeJS.MemoryUsage;
        }>('stats'),
      ),
    );
    const early = new Map<string, number>();
    for (const x of sim)
      for (const [k, v] of Object.entries(x.beforeNetmap)) early.set(k, (early.get(k) ?? 0) + v);
    if (early.size)
      b.note(
        `coordinator (${mode}): channels closed by the coordinator before their first netmap (the agents connected again): ${[...early].map(([k, v]) => `${v} × "${k}"`).join(', ')}`,
      );
    const open = sim.reduce((x, s) => x + s.open, 0);
    if (open !== agents.length)
      throw new Error(`${agents.length - open} agent channels closed during the run`);
    const rss = Math.max(...after.map((a) => a.memory.rss)) / 2 ** 20;
    b.note(
      `coordinator (${mode}): netmaps computed per approval on the approving coordinator ${percentile(comps, 50)} (p50), ${Math.max(...comps)} (max); ` +
        `approval→netmap ms p50 ${percentile(lat, 50).toFixed(1)}, p99 ${percentile(lat, 99).toFixed(1)}, max ${Math.max(...lat).toFixed(1)} (sample ${lat.indexOf(Math.max(...lat)) + 1} of ${lat.length}); ` +
        `coordinator RSS ${after.map((a) => (a.memory.rss / 2 ** 20).toFixed(0)).join(', ')} MiB, heap ${after.map((a) => (a.memory.heapUsed / 2 ** 20).toFixed(0)).join(', ')} MiB; ` +
        `agent processes RSS ${sim.map((s) => (s.memory.rss / 2 ** 20).toFixed(0)).join(', ')} MiB`,
    );
    // The issue's goal is on the p99 (the p50 line carries none).
    b.report({ name: `${nameLatency} p50, lower is better`, value: percentile(lat, 50), unit: 'ms' });
    b.report(
      { name: `${nameLatency} p99, lower is better`, value: percentile(lat, 99), unit: 'ms' },
      goals.valueAtMost(1000, 'p99 ≤ 1 s'),
    );
    b.report({ name: nameRss, value: rss, unit: 'MiB' }, goals.valueAtMost(GIB / 2 ** 20, '≤ 1 GiB'));
  } finally {
    for (const s of sims) await s.stop();
    for (const c of coords.reverse()) await c.stop();
    await pg?.stop();
  }
}
