// The overlay end to end on loopback (peer: ssh -L): bulk and request/response latency on the relay path, latency on a direct path, new-stream and cold-connect time to first byte.
//
// Ours: three processes as in a deployment — coordinator + relay, a connector agent, an engineer
// agent (no UDP, so every byte goes engineer → relay → connector over TLS) — and a local forward on
// the engineer (`sallyport connect`). Peer: OpenSSH's sshd on 127.0.0.1 and `ssh -N -L` (two
// processes). Both forward to the same target servers in this process, and this process is the
// client of both, so client and target costs are the same on each side.
import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { goals, median, type Bench, type Goal } from './framework.ts';
import { Remote, treeCpuMs } from './rpc.ts';
import { sshMissing, sshTunnel, type SshTunnel } from './ssh.ts';
import type { AgentSpec, HubInfo } from './overlay-child.ts';

const child = fileURLToPath(new URL('./overlay-child.ts', import.meta.url));
const BULK = 4 << 20; // bytes per bulk call
const REQ = 64;
const DEPLOYMENT = 'acme-prod';
const USER = 'alice';
/** SALLYPORT_BENCH_PROFILE_DIR=DIR: CPU profiles of our processes while each figure is measured. */
const PROFILE_DIR = process.env.SALLYPORT_BENCH_PROFILE_DIR;
let profiled: [string, Remote][] = [];

/** With profiling on: runs only ours for 4 s (the peer's turns would be idle time in the profile). */
async function solo(call: () => Promise<unknown>): Promise<void> {
  if (!PROFILE_DIR) return;
  for (const end = performance.now() + 4000; performance.now() < end;) await call();
}

/** Runs `fn` with every process of ours profiled (when asked): DIR/<figure>-<process>.cpuprofile. */
async function profiling<T>(figure: string, fn: () => Promise<T>): Promise<T> {
  if (!PROFILE_DIR) return fn();
  for (const [, r] of profiled) await r.call('profileStart');
  try {
    return await fn();
  } finally {
    for (const [n, r] of profiled)
      await r.call('profileStop', join(PROFILE_DIR, `${figure}-${n}.cpuprofile`));
  }
}

export async function run(b: Bench): Promise<void> {
  const quick = b.timing.runMs < 100;
  const targets = await startTargets();
  const missing = sshMissing();
  if (missing) b.note(`overlay: the ssh -L peer is skipped (${missing})`);
  const hub = Remote.start(child, ['hub']);
  const conn = Remote.start(child, ['agent']);
  const eng = Remote.start(child, ['agent']);
  profiled = [
    ['hub', hub],
    ['connector', conn],
    ['engineer', eng],
  ];
  let ssh: SshTunnel[] = [];
  try {
    const info = await hub.call<HubInfo>('info');
    await hub.call('deployment', DEPLOYMENT);
    await hub.call('user', USER);
    const connector = await conn.call<{ id: string; key: string }>('start', {
      hub: info,
      kind: 'connector',
      name: 'bench-connector',
      preauthKey: await hub.call<string>('preauthKey', { deployment: DEPLOYMENT }, false),
      services: [
        { name: 'bulk', kind: 'tcp', address: `127.0.0.1:${targets.bulkPort}`, tls: 'passthrough' },
        { name: 'echo', kind: 'tcp', address: `127.0.0.1:${targets.echoPort}`, tls: 'passthrough' },
      ],
      // its UDP socket serves the second engineer device's direct path; the first has none (relay)
      udp: true,
    } satisfies AgentSpec);
    const engKey = await hub.call<string>('preauthKey', { user: USER }, true);
    const engSpec = (name: string): AgentSpec => ({ hub: info, kind: 'engineer', name, preauthKey: engKey });
    const engineer = await eng.call<{ id: string; key: string }>('start', engSpec('bench-laptop'));
    await hub.call('grant', USER, DEPLOYMENT, ['bulk', 'echo']);
    await eng.call('ready', engineer.id, [connector.key]);
    await conn.call('ready', connector.id, [engineer.key]);
    const ours = {
      bulk: await eng.call<number>('forward', engineer.id, `${DEPLOYMENT}/bulk`),
      echo: await eng.call<number>('forward', engineer.id, `${DEPLOYMENT}/echo`),
    };
    if (!missing) ssh = [await sshTunnel(targets.bulkPort), await sshTunnel(targets.echoPort)];
    const peer = ssh.length ? { bulk: ssh[0].localPort, echo: ssh[1].localPort } : undefined;

    await bulk(b, ours.bulk, peer?.bulk, ssh[0]?.pids);
    const direct = await directDevice(b, eng, engSpec, connector.key);
    const rtt = await latency(b, ours.echo, peer?.echo, targets.echoPort, quick, direct);
    await profiling('new-stream', () => newStream(b, ours.echo, targets.echoPort, rtt, quick));
    await profiling('cold', () => coldConnect(b, { eng, conn, hub }, engSpec, connector, quick));
    const st = await eng.call<{ rttMs: number | null; rxBytes: number; txBytes: number }[]>(
      'peers',
      engineer.id,
    );
    b.note(`overlay: engineer's view of the connector ${JSON.stringify(st[0])}`);
  } finally {
    for (const s of ssh) await s.stop();
    for (const r of [eng, conn, hub]) await r.stop();
    await targets.close();
  }
}

// ---------------------------------------------------------------------------------------------
// Targets: `bulk` answers each byte it receives with BULK bytes; `echo` echoes.

async function startTargets(): Promise<{ bulkPort: number; echoPort: number; close(): Promise<void> }> {
  const chunk = Buffer.alloc(256 * 1024, 0x5a);
  const sockets = new Set<Socket>();
  const track = (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => s.destroy());
    s.setNoDelay(true);
  };
  const bulkSrv = createServer((s) => {
    track(s);
    s.on('data', (d: Buffer) => {
      for (let i = 0; i < d.length; i++) for (let n = 0; n < BULK; n += chunk.length) s.write(chunk);
    });
  });
  const echoSrv = createServer((s) => {
    track(s);
    s.on('data', (d: Buffer) => s.write(d));
  });
  const listen = async (srv: Server) => {
    srv.listen(0, '127.0.0.1');
    await once(srv, 'listening');
    return (srv.address() as { port: number }).port;
  };
  return {
    bulkPort: await listen(bulkSrv),
    echoPort: await listen(echoSrv),
    async close() {
      for (const s of sockets) s.destroy();
      await Promise.all([bulkSrv, echoSrv].map((s) => new Promise((r) => s.close(r))));
    },
  };
}

/** A connected client socket, Nagle off. */
async function dial(port: number): Promise<Socket> {
  const s = connect(port, '127.0.0.1');
  s.setNoDelay(true);
  await once(s, 'connect');
  return s;
}

/** Counts what `s` receives; `until(n)` resolves once n more bytes have arrived (fails if it closes). */
function counter(s: Socket): { until(n: number): Promise<void> } {
  let got = 0;
  let want = 0;
  let wake: { resolve(): void; reject(e: Error): void } | undefined;
  s.on('data', (d: Buffer) => {
    got += d.length;
    if (wake && got >= want) {
      const w = wake;
      wake = undefined;
      w.resolve();
    }
  });
  s.on('close', () => wake?.reject(new Error(`connection closed after ${got} of ${want} bytes`)));
  return {
    until(n) {
      want += n;
      if (got >= want) return Promise.resolve();
      if (s.destroyed) return Promise.reject(new Error('connection closed'));
      return new Promise<void>((resolve, reject) => (wake = { resolve, reject }));
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Single-stream bulk: one connection through the tunnel, BULK bytes downloaded per call.

/** CPU time of our three processes, ms. */
async function oursCpuMs(): Promise<number> {
  let sum = 0;
  for (const [, r] of profiled) sum += await r.call<number>('cpuMs');
  return sum;
}

/** CPU ms per MB moved while `call` runs alone for `ms` (each call moves BULK bytes). */
async function cpuPerMb(call: () => Promise<void>, cpu: () => Promise<number> | number, ms: number) {
  const c0 = await cpu();
  let bytes = 0;
  for (const end = performance.now() + ms; performance.now() < end; bytes += BULK) await call();
  return ((await cpu()) - c0) / (bytes / 1e6);
}

async function bulk(
  b: Bench,
  oursPort: number,
  peerPort: number | undefined,
  peerPids: number[] | undefined,
): Promise<void> {
  const name = 'single-stream bulk throughput, relay path, 4 MiB per call (peer: ssh -L on loopback)';
  if (!b.wants(name)) return;
  const side = async (port: number) => {
    const s = await dial(port);
    const c = counter(s);
    const call = async () => {
      s.write('g');
      await c.until(BULK);
    };
    await call(); // opens the stream
    return { s, call };
  };
  const o = await side(oursPort);
  await profiling('bulk', () => solo(o.call));
  const goal: Goal = goals.ratioAtLeast(0.5);
  if (peerPort === undefined) await b.measure(name, 'MB/s', o.call, { per: BULK / 1e6 });
  else {
    const p = await side(peerPort);
    await b.compare(name, 'MB/s', o.call, p.call, { per: BULK / 1e6, goal });
    // CPU per byte does not depend on how busy the machine is: the figure that says why.
    const cpuName =
      'single-stream bulk, relay path: CPU time per MB over all processes, lower is better (peer: ssh + sshd)';
    if (b.wants(cpuName) && peerPids) {
      const ms = b.timing.runMs < 100 ? 500 : 2000;
      const ourCpu = await cpuPerMb(o.call, oursCpuMs, ms);
      const peerCpu = await cpuPerMb(p.call, () => treeCpuMs(peerPids), ms);
      b.report({ name: cpuName, value: ourCpu, unit: 'ms/MB', baseline: peerCpu });
    }
    p.s.destroy();
  }
  o.s.destroy();
}

// ---------------------------------------------------------------------------------------------
// Request/response: 64 B echoed, one at a time; each round trip timed. Rounds alternate ours, ssh
// and a direct TCP connection to the echo server; "added latency" is a tunnel's percentile minus
// the direct connection's.

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, c) => a - c);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

/** Times `n` echo round trips on `s` (µs each). */
async function roundTrips(s: Socket, c: { until(n: number): Promise<void> }, n: number): Promise<number[]> {
  const req = Buffer.alloc(REQ, 0x42);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    s.write(req);
    await c.until(REQ);
    out.push((performance.now() - t0) * 1000);
  }
  return out;
}

/** Returns our warm round trip p50 (µs): the RTT the time-to-first-byte goals are counted in. */
/**
 * A second engineer device with a UDP socket: its path to the connector goes direct over loopback
 * (no relay process on the way, as ssh -L has none). Resolves with its forward to `echo`, or
 * undefined (said why) when the path did not go direct.
 */
async function directDevice(
  b: Bench,
  eng: Remote,
  engSpec: (name: string) => AgentSpec,
  connectorKey: string,
): Promise<number | undefined> {
  if (!DIRECT_NAMES.some((n) => b.wants(n))) return undefined;
  const d = await eng.call<{ id: string; key: string }>('start', {
    ...engSpec('bench-laptop-udp'),
    udp: true,
  });
  await eng.call('ready', d.id, [connectorKey]);
  const port = await eng.call<number>('forward', d.id, `${DEPLOYMENT}/echo`);
  // the first stream brings the session up; probing starts with it
  const s = await dial(port);
  await roundTrips(s, counter(s), 5);
  s.destroy();
  const end = performance.now() + 20_000;
  for (;;) {
    const st = await eng.call<{ path: { kind: string } }[]>('peers', d.id);
    if (st[0]?.path.kind === 'direct') return port;
    if (performance.now() > end) {
      b.note(
        `overlay: the UDP device's path did not go direct (${JSON.stringify(st[0]?.path)}); its lines are skipped`,
      );
      return undefined;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

const LATENCY_NAMES = [50, 99].map(
  (p) => `small request/response 64 B, added latency p${p}, relay path, lower is better (peer: ssh -L)`,
);
const DIRECT_NAMES = [50, 99].map(
  (p) => `small request/response 64 B, added latency p${p}, direct path, lower is better (peer: ssh -L)`,
);

async function latency(
  b: Bench,
  oursPort: number,
  peerPort: number | undefined,
  directPort: number,
  quick: boolean,
  oursDirectPort?: number,
): Promise<number | undefined> {
  const names = LATENCY_NAMES;
  // The new-stream figure counts in this RTT: measure it when either is wanted.
  if (![...names, ...DIRECT_NAMES].some((n) => b.wants(n)) && !b.wants(NEW_STREAM)) return undefined;
  const rounds = quick ? 4 : 10;
  const per = quick ? 100 : 500;
  const sides = [
    { label: 'ours', port: oursPort },
    { label: 'ours-direct', port: oursDirectPort },
    { label: 'ssh', port: peerPort },
    { label: 'direct', port: directPort },
  ].filter((x): x is { label: string; port: number } => x.port !== undefined);
  const conns = await Promise.all(
    sides.map(async (x) => {
      const s = await dial(x.port);
      const c = counter(s);
      await roundTrips(s, c, 50); // warm-up (opens the stream)
      return { ...x, s, c, samples: [] as number[] };
    }),
  );
  const mine = conns[0];
  await profiling('latency', () => solo(() => roundTrips(mine.s, mine.c, 100)));
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 ? [...conns].reverse() : conns;
    for (const x of order) x.samples.push(...(await roundTrips(x.s, x.c, per)));
  }
  for (const x of conns) x.s.destroy();
  const get = (label: string) => conns.find((x) => x.label === label);
  const direct = get('direct')!.samples;
  const ours = get('ours')!.samples;
  const ssh = get('ssh')?.samples;
  b.note(
    `overlay: echo RTT p50/p99 µs: ${conns.map((x) => `${x.label} ${percentile(x.samples, 50).toFixed(0)}/${percentile(x.samples, 99).toFixed(0)}`).join(', ')}`,
  );
  const oursDirect = get('ours-direct')?.samples;
  for (const [i, p] of [50, 99].entries()) {
    const added = (xs: number[]) => Math.max(0, percentile(xs, p) - percentile(direct, p));
    for (const [name, xs] of [
      [names[i], ours],
      [DIRECT_NAMES[i], oursDirect],
    ] as const) {
      if (!xs) continue;
      b.report(
        {
          name,
          value: added(xs),
          unit: 'µs',
          ...(ssh ? { baseline: added(ssh) } : {}),
        },
        ssh ? goals.ratioAtMost(1.0, '≤ 1.0×') : undefined,
      );
    }
  }
  return percentile(ours, 50);
}

// ---------------------------------------------------------------------------------------------
// A new stream on the existing session: connect to the forward, send 64 B, time to the first byte
// back; beside a raw TCP connect to the echo server doing the same. Goal: at most one RTT more.

async function ttfb(port: number): Promise<number> {
  const t0 = performance.now();
  const s = connect(port, '127.0.0.1');
  s.setNoDelay(true);
  s.write(Buffer.alloc(REQ, 0x43));
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), 30_000);
  try {
    await once(s, 'data', { signal: ac.signal });
  } catch (e) {
    s.destroy();
    throw new Error(`no first byte from port ${port} within 30 s`, { cause: e });
  } finally {
    clearTimeout(timer);
  }
  const us = (performance.now() - t0) * 1000;
  s.destroy();
  return us;
}

const NEW_STREAM =
  'new stream on an existing session, time to first byte, lower is better (peer: raw TCP connect)';

async function newStream(
  b: Bench,
  oursPort: number,
  rawPort: number,
  rttUs: number | undefined,
  quick: boolean,
): Promise<void> {
  const name = NEW_STREAM;
  if (!b.wants(name) || rttUs === undefined) return;
  const n = quick ? 30 : 200;
  const ours: number[] = [];
  const raw: number[] = [];
  for (let i = 0; i < 10; i++) await ttfb(oursPort); // warm-up
  for (let i = 0; i < n; i++) {
    ours.push(await ttfb(oursPort));
    raw.push(await ttfb(rawPort));
  }
  const o = median(ours);
  const r = median(raw);
  b.note(
    `overlay: new stream TTFB p50 ${o.toFixed(0)} µs vs raw TCP ${r.toFixed(0)} µs; RTT (warm echo p50 on the relay path) ${rttUs.toFixed(0)} µs: ${((o - r) / rttUs).toFixed(2)} RTT more`,
  );
  b.report(
    { name, value: o, unit: 'µs', baseline: r },
    { text: '≤ 1 RTT more', met: (x) => x.value - x.baseline! <= rttUs },
  );
}

// ---------------------------------------------------------------------------------------------
// Cold connect: a freshly enrolled engineer device with no session to the connector yet; the first
// connection through its forward, to the first byte back, counted in that path's warm RTT.

async function coldConnect(
  b: Bench,
  r: { eng: Remote; conn: Remote; hub: Remote },
  spec: (name: string) => AgentSpec,
  connector: { id: string; key: string },
  quick: boolean,
): Promise<void> {
  const name =
    'cold connect (no session yet) to first byte via relay, in RTTs of the warm path, lower is better';
  if (!b.wants(name)) return;
  const samples = quick ? 2 : 5;
  const cold: number[] = [];
  const warm: number[] = [];
  for (let i = 0; i < samples; i++) {
    const e = await r.eng.call<{ id: string; key: string }>('start', spec(`bench-cold-${i}`));
    await r.eng.call('ready', e.id, [connector.key]);
    await r.conn.call('ready', connector.id, [e.key]);
    const before = await r.eng.call<{ lastHandshake: string | null }[]>('peers', e.id);
    if (before[0]?.lastHandshake) throw new Error(`${name}: the session already existed`);
    const port = await r.eng.call<number>('forward', e.id, `${DEPLOYMENT}/echo`);
    cold.push(await ttfb(port));
    const s = await dial(port);
    const c = counter(s);
    await roundTrips(s, c, 20);
    warm.push(percentile(await roundTrips(s, c, 200), 50));
    s.destroy();
    await r.eng.call('remove', e.id);
  }
  const rtts = cold.map((x, i) => x / warm[i]);
  b.note(
    `overlay: cold connect ${cold.map((x) => (x / 1000).toFixed(2)).join(', ')} ms; warm RTT ${warm.map((x) => (x / 1000).toFixed(2)).join(', ')} ms`,
  );
  b.report({ name, value: median(rtts), unit: 'RTT' }, goals.valueAtMost(3, '≤ 3 RTT'));
}
