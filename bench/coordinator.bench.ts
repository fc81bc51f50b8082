// The coordinator at scale: 10,000 simulated agents (several thousand per process); approval to connector netmap update, and coordinator RSS.
//
// The coordinator runs in its own process (its RSS is its own). Agents are ControlClients (TLS,
// WebSocket, Noise IK, netmap + deltas) spread over child processes. Connectors d0..d(D-1) serve
// `k8s` in their deployment; each user u0..u(U-1) has several engineer devices. A sample: user u_i
// requests k8s on d_i, the lead approves, and the time runs from sending the approval until d_i's
// connector holds a netmap with all of u_i's devices (one sample at a time, the other agents idle).
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { goals, type Bench } from './framework.ts';
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
  const quick = b.timing.runMs < 100;
  const total = Number(process.env.SALLYPORT_BENCH_AGENTS ?? (quick ? 1000 : 10_000));
  const devices = 9; // engineer devices per user
  const connectors = Math.round(total / (devices + 1));
  const userCount = connectors;
  const engineers = userCount * devices;
  const procs = Math.max(1, Math.ceil(total / 2500));
  const samples = Math.min(quick ? 10 : 100, connectors);
  const nameLatency = `coordinator with ${connectors + engineers} agents: approval to connector netmap update`;
  const nameRss = `coordinator memory (RSS) at ${connectors + engineers} agents, lower is better`;
  if (!b.wants(nameLatency) && !b.wants(nameRss)) return;

  // SALLYPORT_BENCH_PROFILE_DIR=DIR: a CPU profile of the coordinator during the approvals.
  const profile = process.env.SALLYPORT_BENCH_PROFILE_DIR;
  const coord = Remote.start(coordScript, []);
  const sims = Array.from({ length: procs }, () => Remote.start(agentsScript, []));
  try {
    const info = await coord.call<CoordInfo>('info');
    let t = performance.now();
    const keys = await coord.call<{ deployment: string[]; user: string[] }>('setup', connectors, userCount);
    b.note(
      `coordinator: ${connectors} deployments and ${userCount} users set up in ${((performance.now() - t) / 1000).toFixed(1)} s`,
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
    const connected = await Promise.all(sims.map((s, i) => s.call<number>('connect', info, parts[i], 32)));
    const secs = (performance.now() - t) / 1000;
    const n = connected.reduce((x, y) => x + y, 0);
    b.note(
      `coordinator: ${n} agents enrolled and connected in ${secs.toFixed(1)} s (${(n / secs).toFixed(0)}/s)`,
    );
    const before = await coord.call<{ sessions: number; memory: NodeJS.MemoryUsage }>('stats');
    if (before.sessions !== agents.length)
      throw new Error(`coordinator holds ${before.sessions} sessions, expected ${agents.length}`);

    const lat: number[] = [];
    const comps: number[] = [];
    if (profile) await coord.call('profileStart');
    for (let i = 0; i < samples; i++) {
      const id = await coord.call<string>('request', `u${i}`, `d${i}`);
      const seen = home.get(`c${i}`)!.call<number>('watch', `c${i}`, devices, 30_000);
      const { t0, computations } = await coord.call<{ t0: number; computations: number }>('approve', id);
      lat.push((await seen) - t0);
      comps.push(computations);
    }
    if (profile) await coord.call('profileStop', join(profile, 'coordinator-approvals.cpuprofile'));
    const after = await coord.call<{ sessions: number; computations: number; memory: NodeJS.MemoryUsage }>(
      'stats',
    );
    const sim = await Promise.all(
      sims.map((s) => s.call<{ open: number; closedEarly: number; memory: NodeJS.MemoryUsage }>('stats')),
    );
    const open = sim.reduce((x, s) => x + s.open, 0);
    if (open !== agents.length)
      throw new Error(`${agents.length - open} agent channels closed during the run`);
    b.note(
      `coordinator: netmaps computed per approval ${percentile(comps, 50)} (p50), ${Math.max(...comps)} (max); ` +
        `approval→netmap ms p50 ${percentile(lat, 50).toFixed(1)}, p99 ${percentile(lat, 99).toFixed(1)}, max ${Math.max(...lat).toFixed(1)}; ` +
        `coordinator heap ${(after.memory.heapUsed / 2 ** 20).toFixed(0)} MiB; agent processes RSS ${sim.map((s) => (s.memory.rss / 2 ** 20).toFixed(0)).join(', ')} MiB`,
    );
    // The goal is on the p99 (the p50 line carries none).
    b.report({ name: `${nameLatency} p50, lower is better`, value: percentile(lat, 50), unit: 'ms' });
    b.report(
      { name: `${nameLatency} p99, lower is better`, value: percentile(lat, 99), unit: 'ms' },
      goals.valueAtMost(1000, 'p99 ≤ 1 s'),
    );
    b.report(
      { name: nameRss, value: after.memory.rss / 2 ** 20, unit: 'MiB' },
      goals.valueAtMost(GIB / 2 ** 20, '≤ 1 GiB'),
    );
  } finally {
    for (const s of sims) await s.stop();
    await coord.stop();
  }
}
