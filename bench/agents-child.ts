// Simulated agents for bench/coordinator.bench.ts: thousands of agent channels in one process, each
// the smallest piece that holds a channel and receives netmaps (src/control's ControlClient: TLS,
// WebSocket, Noise IK, the full netmap then deltas). No sessions, no relays: only the control plane.
//   node --expose-gc --import tsx bench/agents-child.ts
import { PrivateKey, PublicKey } from '../src/crypto/index.ts';
import { ControlClient } from '../src/control/index.ts';
import type { Hello, Netmap } from '../src/proto/control/index.ts';
import { serve, settledMemory } from './rpc.ts';
import type { CoordInfo } from './coordinator-child.ts';

export interface SimAgent {
  kind: 'connector' | 'engineer';
  name: string;
  preauthKey: string;
}

const clients = new Map<string, ControlClient>();
const keys = new Map<string, PrivateKey>();
let closedEarly = 0;
/** Channels the coordinator closed before their first netmap, and why (close code and reason). */
const earlyReasons = new Map<string, number>();

/**
 * Connects one agent (its node key kept across attempts, like a real agent) and resolves once it
 * holds its first netmap. A channel that closes before that is opened again, as an agent would.
 */
async function connectOne(coord: CoordInfo, a: SimAgent): Promise<void> {
  const hello: Hello = { version: 1, kind: a.kind, name: a.name, preauthKey: a.preauthKey };
  if (a.kind === 'connector')
    hello.services = [{ name: 'k8s', kind: 'kubernetes', address: '10.0.0.1:6443' }];
  let key = keys.get(a.name);
  if (!key) keys.set(a.name, (key = PrivateKey.generate()));
  for (let attempt = 0; ; attempt++) {
    try {
      const c = await ControlClient.connect({
        url: coord.url,
        coordinatorKey: PublicKey.fromBase64(coord.key),
        nodeKey: key,
        hello,
        ca: coord.ca,
      });
      const first = await new Promise<string | undefined>((resolve) => {
        if (c.netmap) return resolve(undefined);
        c.once('netmap', () => resolve(undefined));
        c.once('close', (code: number, reason: string) => resolve(`${code} ${reason}`));
      });
      if (first !== undefined) {
        earlyReasons.set(first, (earlyReasons.get(first) ?? 0) + 1);
        throw new Error(`closed before its netmap: ${first}`);
      }
      c.on('close', () => closedEarly++);
      clients.set(a.name, c);
      return;
    } catch (e) {
      if (attempt >= 5) throw e;
      await new Promise((r) => setTimeout(r, 200 * (attempt + 1)));
    }
  }
}

serve({
  /** Connects every agent, `concurrency` handshakes in flight; resolves when all have a netmap. */
  async connect(coord: CoordInfo, agents: SimAgent[], concurrency: number): Promise<number> {
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(concurrency, agents.length) }, async () => {
        while (next < agents.length) await connectOne(coord, agents[next++]);
      }),
    );
    return clients.size;
  },
  /**
   * Resolves with the wall time (ms) at which `name`'s netmap first has at least `peers` peers
   * (checked on every update), or rejects after `ms`.
   */
  watch(name: string, peers: number, ms: number): Promise<number> {
    const c = clients.get(name);
    if (!c) throw new Error(`no agent ${name}`);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        c.off('netmap', on);
        reject(new Error(`${name}: no netmap with ${peers} peers within ${ms} ms`));
      }, ms);
      const on = (m: Netmap) => {
        if (m.peers.length < peers) return;
        const t = performance.timeOrigin + performance.now();
        clearTimeout(timer);
        c.off('netmap', on);
        resolve(t);
      };
      c.on('netmap', on);
    });
  },
  async stats(): Promise<{
    open: number;
    closedEarly: number;
    beforeNetmap: Record<string, number>;
    memory: NodeJS.MemoryUsage;
  }> {
    let open = 0;
    for (const c of clients.values()) if (c.open) open++;
    return {
      open,
      closedEarly,
      beforeNetmap: Object.fromEntries(earlyReasons),
      memory: await settledMemory(),
    };
  },
  stop(): void {
    for (const c of clients.values()) {
      c.removeAllListeners('close');
      c.close();
    }
  },
});
