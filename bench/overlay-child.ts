// The processes of bench/overlay.bench.ts, each in its own process as in a deployment:
//   node --import tsx bench/overlay-child.ts hub     coordinator + relay (the src/testing harness);
//                                                     SALLYPORT_BENCH_RELAY_APART=1: the relay in a
//                                                     process of its own (relay-child.ts)
//   node --import tsx bench/overlay-child.ts agent   a connector or engineer agent (no UDP: relay path)
// Driven over IPC by bench/rpc.ts.
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { realClock } from '../src/clock/index.ts';
import { PublicKey } from '../src/crypto/index.ts';
import { Agent, type ServiceSpec } from '../src/agent/index.ts';
import { loadOrCreateKeys } from '../src/control/index.ts';
import { Harness, REGION } from '../src/testing/harness.ts';
import { serve, settledMemory } from './rpc.ts';

export interface HubInfo {
  coordinator: string;
  coordinatorKey: string;
  ca: string;
}

export interface AgentSpec {
  hub: HubInfo;
  kind: 'connector' | 'engineer';
  name: string;
  preauthKey: string;
  services?: ServiceSpec[];
  /** A UDP socket on 127.0.0.1 for direct paths (loopback offered as a candidate). */
  udp?: boolean;
}

const mode = process.argv[2];

/**
 * Moves the harness's relay into a process of its own on the same port, key and certificate: in a
 * deployment the relay never shares the coordinator's event loop (its synchronous SQLite writes).
 */
async function relayApart(h: Harness): Promise<ChildProcess> {
  const port = h.relayPort;
  await h.stopRelay();
  const trust = loadOrCreateKeys(h.coordinatorDir).signingKey.verifyKey.base64();
  const child = fork(
    fileURLToPath(new URL('./relay-child.ts', import.meta.url)),
    ['relay', trust, REGION, String(port)],
    {
      execArgv: ['--expose-gc', '--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: {
        ...process.env,
        SALLYPORT_BENCH_RELAY_KEY: Buffer.from(h.relayKey.unsafeBytes()).toString('base64'),
        SALLYPORT_BENCH_RELAY_CERT: h.relayCert.certPem,
        SALLYPORT_BENCH_RELAY_TLS_KEY: h.relayCert.keyPem,
      },
    },
  );
  const [m] = (await once(child, 'message')) as [{ type: string }];
  if (m.type !== 'ready') throw new Error(`relay child: ${JSON.stringify(m)}`);
  return child;
}

if (mode === 'hub') {
  const h = await Harness.start();
  const relay = process.env.SALLYPORT_BENCH_RELAY_APART ? await relayApart(h) : undefined;
  serve({
    info: (): HubInfo => ({
      coordinator: h.coordinator.url,
      coordinatorKey: h.coordinator.publicKey,
      ca: h.ca,
    }),
    deployment: (name: string) => h.deployment(name),
    user: (name: string) => h.user(name),
    preauthKey: (bind: { deployment: string } | { user: string }, reusable: boolean) =>
      h.preauthKey(bind, reusable),
    grant: (user: string, deployment: string, services: string[]) =>
      h.grant({ type: 'user', name: user }, deployment, services),
    memory: settledMemory,
    async stop(): Promise<void> {
      if (relay) {
        const exited = once(relay, 'exit');
        relay.send({ type: 'stop' });
        await exited;
      }
      await h.stop();
    },
  });
} else if (mode === 'agent') {
  const dir = mkdtempSync(join(tmpdir(), 'sallyport-bench-agent-'));
  const agents = new Map<string, Agent>();
  let seq = 0;
  const get = (id: string) => {
    const a = agents.get(id);
    if (!a) throw new Error(`no agent ${id}`);
    return a;
  };
  serve({
    /** Starts (enrolling) an agent; resolves with its id and public key once it has a netmap. */
    async start(spec: AgentSpec): Promise<{ id: string; key: string }> {
      const id = `${spec.name}-${++seq}`;
      const a = new Agent({
        clock: realClock,
        stateDir: join(dir, id),
        coordinator: spec.hub.coordinator,
        coordinatorKey: PublicKey.fromBase64(spec.hub.coordinatorKey),
        ca: spec.hub.ca,
        kind: spec.kind,
        name: spec.name,
        preauthKey: spec.preauthKey,
        controlSocket: false,
        // Experiments only (the figures to quote use the product's default): session payload over relays.
        ...(process.env.SALLYPORT_BENCH_RELAY_PAYLOAD
          ? { relayPayloadSize: Number(process.env.SALLYPORT_BENCH_RELAY_PAYLOAD) }
          : {}),
        ...(spec.services ? { services: spec.services } : {}),
        ...(spec.udp ? { udp: { host: '127.0.0.1', includeLoopback: true } } : {}),
      });
      await a.start();
      await a.whenNetmap();
      agents.set(id, a);
      return { id, key: a.publicKey.base64() };
    },
    /** Resolves once the agent's netmap has peers with all of `keys` and its relay is connected. */
    async ready(id: string, keys: string[], ms = 20_000): Promise<void> {
      const a = get(id);
      const end = realClock.now() + ms;
      for (;;) {
        const peers = new Set(a.netmap?.peers.map((p) => p.key));
        const relayUp = a.relays.status().some((r) => r.state === 'connected');
        if (relayUp && keys.every((k) => peers.has(k))) return;
        if (realClock.now() > end)
          throw new Error(`agent ${id}: not ready after ${ms} ms (relay ${relayUp}, peers ${[...peers]})`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    /** A local forward to DEPLOYMENT/SERVICE; resolves with its port. */
    async forward(id: string, ref: string): Promise<number> {
      return (await get(id).forward(ref, '127.0.0.1:0')).port;
    },
    /** The stream layer's view of each peer (srtt, cwnd, losses). */
    peers: (id: string) => get(id).status().peers,
    async remove(id: string): Promise<void> {
      await get(id).stop();
      agents.delete(id);
    },
    memory: settledMemory,
    async stop(): Promise<void> {
      for (const a of agents.values()) await a.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  });
} else {
  throw new Error(`overlay-child: unknown mode ${mode}`);
}
