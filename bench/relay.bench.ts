// The relay: memory per idle client at 10,000 clients (peer: bare node:tls), forwarding vs socat.
import { fork, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { goals, type Bench } from './framework.ts';
import { SigningKey } from '../src/crypto/index.ts';
import { admitOne, bareOne, many, Pump, sendFrame, type Target } from './relay-load.ts';

const REGION = 'bench';
const childScript = fileURLToPath(new URL('./relay-child.ts', import.meta.url));

interface Mem {
  clients: number;
  rss: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  forwarded?: number;
  drops?: Record<string, number>;
  refusals?: Record<string, number>;
}

class Child {
  private constructor(
    readonly proc: ChildProcess,
    readonly target: Target,
    readonly key: string,
  ) {}
  static async start(args: string[]): Promise<Child> {
    const proc = fork(childScript, args, {
      execArgv: ['--expose-gc', '--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const m = await reply<{ port: number; ca: string; key: string }>(proc, 'ready', 120_000);
    return new Child(proc, { port: m.port, ca: m.ca }, m.key);
  }
  async mem(): Promise<Mem> {
    this.proc.send({ type: 'mem' });
    return reply<Mem>(this.proc, 'mem', 60_000);
  }
  async stop(): Promise<void> {
    const exited = once(this.proc, 'exit');
    this.proc.send({ type: 'stop' });
    await exited;
  }
}

/** The child's next message of `type`; fails if the child exits or stays silent for `ms`. */
function reply<T>(proc: ChildProcess, type: string, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`relay bench child: no '${type}' within ${ms} ms`)), ms);
    const onMessage = (m: { type: string }) => {
      if (m.type === type) done(undefined, m as T);
    };
    const onExit = (code: number | null) =>
      done(new Error(`relay bench child exited (${code}) before '${type}'`));
    function done(e: Error | undefined, v?: T): void {
      clearTimeout(timer);
      proc.off('message', onMessage);
      proc.off('exit', onExit);
      if (e) reject(e);
      else resolve(v!);
    }
    proc.on('message', onMessage);
    proc.on('exit', onExit);
  });
}

export async function run(b: Bench): Promise<void> {
  const quick = b.timing.runMs < 100;
  const coordinator = SigningKey.generate();
  const relay = await Child.start(['relay', coordinator.verifyKey.base64(), REGION]);
  try {
    await memory(b, relay, coordinator, quick);
    await behindHaproxy(b, quick).catch((e: Error) => b.note(`relay: the haproxy line failed: ${e.message}`));
    await throughput(b, relay, coordinator);
  } finally {
    await relay.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// Memory per idle client: the relay's RSS and heap growth per admitted client that sends nothing,
// beside a bare node:tls server holding the same number of idle TLS sockets (what TLS alone costs).

async function memory(b: Bench, relay: Child, coordinator: SigningKey, quick: boolean): Promise<void> {
  const n = quick ? 1000 : 10_000;
  const name = `memory per idle client, ${n} clients, RSS, lower is better (peer: bare node:tls server)`;
  if (!b.wants(name) && !b.wants('heap per idle client')) return;
  // Warm-up: a few hundred clients come and go, so lazily built state is in the baseline.
  for (const c of await many(300, 100, () => admitOne(relay.target, coordinator, REGION))) c.socket.destroy();
  await new Promise((r) => setTimeout(r, 300));
  const base = await relay.mem();
  const t0 = performance.now();
  const held = await many(
    n,
    256,
    () => admitOne(relay.target, coordinator, REGION),
    (d) => b.note(`relay: ${d} clients admitted`),
  );
  const secs = (performance.now() - t0) / 1000;
  const full = await relay.mem();
  if (full.clients !== n) throw new Error(`relay has ${full.clients} clients, expected ${n}`);
  b.note(`${n} admissions in ${secs.toFixed(1)} s (${Math.round(n / secs)}/s, TLS handshake included)`);
  for (const c of held) c.socket.destroy();

  const peer = await Child.start(['tls']);
  let pb: Mem, pf: Mem;
  try {
    for (const c of await many(300, 100, () => bareOne(peer.target))) c.socket.destroy();
    await new Promise((r) => setTimeout(r, 300));
    pb = await peer.mem();
    const ph = await many(n, 256, () => bareOne(peer.target));
    pf = await peer.mem();
    if (pf.clients !== n) throw new Error(`tls peer holds ${pf.clients} sockets, expected ${n}`);
    for (const c of ph) c.socket.destroy();
  } finally {
    await peer.stop();
  }
  const kib = (x: number) => x / 1024 / n;
  const rss = kib(full.rss - base.rss);
  const prss = kib(pf.rss - pb.rss);
  // Issue 9: ≤ 20 KiB per idle client at 10,000 clients (Tailscale's derper reports about 15 KiB).
  b.report({ name, value: rss, unit: 'KiB', baseline: prss }, goals.valueAtMost(20, '≤ 20 KiB'));
  const heap = kib(full.heapUsed + full.external - base.heapUsed - base.external);
  const pheap = kib(pf.heapUsed + pf.external - pb.heapUsed - pb.external);
  b.report({
    name: `heap per idle client (JS heap + external), ${n} clients, lower is better (peer: bare node:tls server)`,
    value: heap,
    unit: 'KiB',
    baseline: pheap,
  });
  // Let the relay see the disconnects before the throughput runs.
  await new Promise((r) => setTimeout(r, 500));
}

// ---------------------------------------------------------------------------------------------
// The other TLS arrangement (bench/README.md "Relay memory"): TLS terminated by haproxy in front of
// a plain TCP server. What an idle client costs then is haproxy's connection (both sides, its TLS
// state) plus the plain Node socket behind it: both processes' RSS growth, summed.

async function behindHaproxy(b: Bench, quick: boolean): Promise<void> {
  // haproxy holds two descriptors per client: 4,000 clients fit this machine's hard limit of 20,000
  // (raising it needs a capability containers often lack).
  const n = quick ? 1000 : 4_000;
  const name = `memory per idle client, ${n} clients, TLS terminated by haproxy (haproxy + a plain Node socket behind it), RSS, lower is better`;
  if (!b.wants(name)) return;
  if (spawnSync('haproxy', ['-v']).status !== 0)
    return b.note('relay: haproxy is not installed: its line is skipped');
  const plain = await Child.start(['plain']);
  const dir = mkdtempSync(join(tmpdir(), 'sallyport-bench-haproxy-'));
  let ha: ChildProcess | undefined;
  try {
    writeFileSync(join(dir, 'tls.pem'), plain.target.ca + plain.key);
    const port = await freePort();
    writeFileSync(
      join(dir, 'haproxy.cfg'),
      [
        'global',
        `  maxconn ${n + 1000}`,
        'defaults',
        '  mode tcp',
        '  timeout connect 5s',
        '  timeout client 1h',
        '  timeout server 1h',
        'frontend tls',
        `  bind 127.0.0.1:${port} ssl crt ${join(dir, 'tls.pem')}`,
        '  default_backend plain',
        'backend plain',
        `  server s 127.0.0.1:${plain.target.port}`,
        '',
      ].join('\n'),
    );
    // haproxy needs two descriptors per connection: more than this shell's limit allows by default.
    ha = spawn(
      'prlimit',
      [`--nofile=${4 * n + 4000}:${4 * n + 4000}`, 'haproxy', '-db', '-f', join(dir, 'haproxy.cfg')],
      {
        stdio: ['ignore', 'ignore', 'inherit'],
      },
    );
    const target = { port, ca: plain.target.ca };
    const deadline = performance.now() + 10_000;
    for (;;) {
      try {
        (await bareOne(target)).socket.destroy();
        break;
      } catch (e) {
        if (performance.now() > deadline) throw new Error(`haproxy did not come up: ${(e as Error).message}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    const haPid = Number(readFileSync(`/proc/${ha.pid}/task/${ha.pid}/children`, 'utf8').trim()) || ha.pid!;
    for (const c of await many(300, 100, () => bareOne(target))) c.socket.destroy();
    await new Promise((r) => setTimeout(r, 500));
    const [h0, p0] = [rssOf(haPid), (await plain.mem()).rss];
    const held = await many(n, 256, () => bareOne(target));
    await new Promise((r) => setTimeout(r, 500));
    const pm = await plain.mem();
    if (pm.clients < n) throw new Error(`the plain server holds ${pm.clients} sockets, expected ${n}`);
    const [h1, p1] = [rssOf(haPid), pm.rss];
    for (const c of held) c.socket.destroy();
    const kib = (x: number) => x / 1024 / n;
    b.report({ name, value: kib(h1 - h0 + p1 - p0), unit: 'KiB' });
    b.note(
      `relay: behind haproxy, per idle client: haproxy ${kib(h1 - h0).toFixed(1)} KiB + plain Node socket ${kib(p1 - p0).toFixed(1)} KiB`,
    );
  } finally {
    ha?.kill();
    if (ha && ha.exitCode === null) await once(ha, 'exit');
    await plain.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for process ${pid}`);
  return Number(m[1]) * 1024;
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

// ---------------------------------------------------------------------------------------------
// Forwarding throughput: pairs of admitted clients pump 16 KiB packets through the relay; the
// peer pumps the same bytes through `socat TCP-LISTEN ... TCP:...` (plain TCP, no TLS, no framing).

const PACKET = 16 * 1024;
const WINDOW = 512 * 1024;
const UNITS_PER_OP = 64; // 1 MiB of packets per pair per call

async function throughput(b: Bench, relay: Child, coordinator: SigningKey): Promise<void> {
  const socat = spawnSync('socat', ['-V']).status === 0;
  if (!socat) b.note('socat is not installed: throughput is measured without its peer');
  b.note(
    'forwarding: ours decrypts TLS, parses frames, routes by key and re-encrypts on both legs; socat copies ' +
      'plain TCP. Both move the same bytes with the same 512 KiB window per pair; clients run in this process.',
  );
  for (const pairs of [1, 8]) {
    const name = `forwarding, ${pairs} pair${pairs > 1 ? 's' : ''}, 16 KiB packets (peer: socat, plain TCP)`;
    if (!b.wants(name)) continue;
    const ours = await relayPumps(relay.target, coordinator, pairs);
    const before = await relay.mem();
    const peer = socat ? await socatPumps(pairs) : undefined;
    try {
      const oursOp = () => Promise.all(ours.map((p) => p.move(UNITS_PER_OP)));
      const per = (pairs * UNITS_PER_OP * PACKET) / 1e6;
      if (peer)
        await b.compare(
          name,
          'MB/s',
          oursOp,
          () => Promise.all(peer.pumps.map((p) => p.move(UNITS_PER_OP))),
          { per },
        );
      else await b.measure(name, 'MB/s', oursOp, { per });
      const after = await relay.mem();
      const moved = (after.forwarded ?? 0) - (before.forwarded ?? 0);
      if (moved <= 0) throw new Error('the relay forwarded nothing');
      const drops = Object.values(after.drops ?? {}).reduce((s, x) => s + x, 0);
      const dropsBefore = Object.values(before.drops ?? {}).reduce((s, x) => s + x, 0);
      if (drops !== dropsBefore) b.note(`relay dropped ${drops - dropsBefore} packets during the run`);
    } finally {
      for (const p of ours) {
        p.tx.destroy();
        p.rx.destroy();
      }
      await peer?.close();
    }
  }
}

async function relayPumps(t: Target, coordinator: SigningKey, pairs: number): Promise<Pump[]> {
  const out: Pump[] = [];
  for (let i = 0; i < pairs; i++) {
    const tx = await admitOne(t, coordinator, REGION);
    const rx = await admitOne(t, coordinator, REGION);
    tx.socket.resume(); // nothing arrives on the sender; keep it flowing anyway
    out.push(new Pump(tx.socket, rx.socket, sendFrame(rx.key.publicKey, PACKET), WINDOW));
  }
  return out;
}

async function socatPumps(pairs: number): Promise<{ pumps: Pump[]; close(): Promise<void> }> {
  const accepted: Socket[] = [];
  const sink: Server = createServer((s) => accepted.push(s));
  await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
  const sinkPort = (sink.address() as { port: number }).port;
  const probe: Server = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const port = (probe.address() as { port: number }).port;
  await new Promise((r) => probe.close(r));
  // -b 65536: socat's default 8 KiB copy buffer would handicap it; give it the relay's batch size.
  const proc = spawn(
    'socat',
    ['-b', '65536', `TCP-LISTEN:${port},bind=127.0.0.1,fork,reuseaddr`, `TCP:127.0.0.1:${sinkPort}`],
    { stdio: 'ignore' },
  );
  const pumps: Pump[] = [];
  const unit = new Uint8Array(PACKET + 37).fill(0xa5); // the same bytes per packet as a relay frame
  for (let i = 0; i < pairs; i++) {
    let tx: Socket | undefined;
    for (let tries = 0; !tx; tries++) {
      try {
        tx = await new Promise<Socket>((resolve, reject) => {
          const s = connect(port, '127.0.0.1', () => resolve(s));
          s.once('error', reject);
        });
      } catch (e) {
        if (tries > 100) throw e;
        await new Promise((r) => setTimeout(r, 20)); // socat still starting
      }
    }
    tx.setNoDelay(true);
    tx.on('error', () => {});
    while (accepted.length <= i) await new Promise((r) => setTimeout(r, 5));
    pumps.push(new Pump(tx, accepted[i], unit, WINDOW));
  }
  return {
    pumps,
    async close() {
      for (const p of pumps) {
        p.tx.destroy();
        p.rx.destroy();
      }
      proc.kill('SIGTERM');
      await once(proc, 'exit');
      await new Promise((r) => sink.close(r));
    },
  };
}
