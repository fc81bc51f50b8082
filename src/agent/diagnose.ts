// Diagnosis a person can use (`sallyport ping`, `sallyport netcheck`, the "why" line of status):
// why a peer is relayed, in words; PINGs over the path a peer's traffic takes now; and what this
// node's network does to UDP (STUN per server, whether the mapping varies by destination,
// hairpinning, relay latency). Pure text and thin drivers over PeerPaths and DirectUdp.
import type { Clock } from '../clock/index.ts';
import type { PeerPathStatus, PeerPaths, PingResult } from '../paths/index.ts';
import type { DirectUdp } from './direct.ts';
import { AgentError } from './errors.ts';

export interface WhyInput {
  /** This node has a UDP socket (direct paths on). */
  udp: boolean;
  /** The peer's path choice; undefined without a UDP socket. */
  paths: PeerPathStatus | undefined;
  /** The peer's endpoints from the netmap. */
  peerEndpoints: readonly string[];
  /** Our STUN servers and what they mapped us to. */
  stunServers: readonly string[];
  mapped: readonly string[];
  /** Clock.now() ms (the times inside `paths` are on that clock). */
  now: number;
}

const secs = (ms: number): string => `${Math.max(0, Math.round(ms / 1000))} s`;

/** One sentence: why the peer's traffic takes the path it takes. */
export function pathWhy(w: WhyInput): string {
  if (!w.udp) return 'relayed: direct paths are off on this node (--no-direct)';
  const ps = w.paths;
  if (!ps) return 'relayed: no path choice for this peer';
  if (ps.path.kind === 'direct')
    return `direct: ${ps.path.endpoint} answers our PINGs (rtt ${ps.path.rttMs.toFixed(1)} ms)`;
  const cands = ps.candidates.length;
  const next = ps.reprobeAt !== undefined ? `; next probe round in ${secs(ps.reprobeAt - w.now)}` : '';
  if (cands === 0 && w.peerEndpoints.length === 0)
    return 'relayed: the peer has published no direct address (it runs with --no-direct, or has not learnt one yet)';
  if (w.mapped.length === 0 && w.stunServers.length > 0 && ps.counters['pongs-received'] === 0)
    return `relayed: no STUN server answered this node (${w.stunServers.join(', ')}): UDP out of this network may be blocked; run 'sallyport netcheck'`;
  if (ps.state === 'probing' || ps.state === 'fallback') {
    const since = ps.lastRound ? ` (round started ${secs(w.now - ps.lastRound.startedAt)} ago)` : '';
    const lost = ps.lastChange?.reason === 'trust-expired' ? `the direct path stopped answering; ` : '';
    return `relayed: ${lost}probing ${cands} candidate${cands === 1 ? '' : 's'} now${since}`;
  }
  if (ps.lastChange?.reason === 'trust-expired')
    return `relayed: the direct path ${ps.lastChange.from.kind === 'direct' ? ps.lastChange.from.endpoint + ' ' : ''}stopped answering (no PONG within the trust period) and no candidate answered since${next}`;
  if (ps.lastRound?.endedAt !== undefined && ps.lastRound.pongs === 0) {
    const pings = ps.candidates.reduce((n, c) => n + c.pings, 0);
    return (
      `relayed: none of ${cands} candidate${cands === 1 ? '' : 's'} answered ${pings} PING${pings === 1 ? '' : 's'} of the last probe round` +
      `${next}. Usual causes: a NAT that gives each destination its own port (symmetric: 'sallyport netcheck' shows "varies by destination"), or a firewall dropping UDP between the two`
    );
  }
  return 'relayed: not probed yet (probing starts with the first session handshake)';
}

export interface PingReply extends PingResult {
  seq: number;
}

export interface PingReport {
  peer: { name: string; key: string };
  replies: PingReply[];
  /** The path after the PINGs, its reason in words, and every candidate tried. */
  path: PeerPathStatus['path'];
  why: string;
  candidates: {
    endpoint: string;
    sources: string[];
    pings: number;
    pongs: number;
    rttMs?: number;
    opened: boolean;
    peerOpened: boolean;
  }[];
}

export interface PingOptions {
  count: number;
  intervalMs: number;
  timeoutMs: number;
  signal?: AbortSignal;
}

/**
 * `sallyport ping`: a probe round first (so a relayed peer is given its chance to go direct), then
 * `count` PINGs over whatever path the traffic takes at that moment, `intervalMs` apart.
 */
export async function runPing(
  clock: Clock,
  paths: PeerPaths,
  o: PingOptions,
  onReply: (r: PingReply) => void,
): Promise<PingReply[]> {
  paths.probeNow();
  const out: PingReply[] = [];
  for (let seq = 1; seq <= o.count; seq++) {
    if (o.signal?.aborted) break;
    const r = { seq, ...(await paths.ping(o.timeoutMs)) };
    out.push(r);
    onReply(r);
    if (seq < o.count) await sleep(clock, o.intervalMs, o.signal);
  }
  return out;
}

function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = clock.setTimeout(done, ms);
    function done(): void {
      clock.clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

export interface NetcheckReport {
  /** The UDP socket's local port; null with direct paths off. */
  port: number | null;
  udp: boolean;
  stun: { server: string; mapped?: string; rttMs?: number; error?: string }[];
  /** Distinct mappings over the servers that answered: true varies, false the same, null unknown (fewer than two answers). */
  mappingVariesByDestination: boolean | null;
  /** Every mapping kept our local port. */
  portPreserved: boolean | null;
  /** A datagram to our own mapping came back; null when there is no mapping to try. */
  hairpinning: boolean | null;
  relays: { region: string; url: string; state: string; rttMs: number | null; home: boolean }[];
  /** What it means for direct paths, in words. */
  verdict: string;
}

/** `sallyport netcheck`: STUN against every server at once, then a hairpin check. */
export async function runNetcheck(
  direct: DirectUdp | undefined,
  relays: NetcheckReport['relays'],
  o: { timeoutMs: number },
): Promise<NetcheckReport> {
  if (!direct)
    return {
      port: null,
      udp: false,
      stun: [],
      mappingVariesByDestination: null,
      portPreserved: null,
      hairpinning: null,
      relays,
      verdict: 'direct paths are off on this node (--no-direct): every peer is reached through the relay',
    };
  const servers = direct.stats().stunServers;
  const stun = await Promise.all(
    servers.map(async (server) => {
      try {
        const r = await direct.stun.bind(server, { signal: AbortSignal.timeout(o.timeoutMs) });
        return { server, mapped: r.mapped, rttMs: Math.round(r.rttMs * 10) / 10 };
      } catch (e) {
        const m = (e as Error).message;
        return { server, error: /abort/i.test(m) ? `no answer within ${o.timeoutMs} ms` : m };
      }
    }),
  );
  const ok = stun.filter((s) => s.mapped !== undefined);
  const distinct = new Set(ok.map((s) => s.mapped));
  const varies = ok.length >= 2 ? distinct.size > 1 : null;
  const port = direct.port;
  const preserved = ok.length
    ? ok.every((s) => Number(s.mapped!.slice(s.mapped!.lastIndexOf(':') + 1)) === port)
    : null;
  const hairpinning = ok.length ? await direct.hairpin(ok[0].mapped!, Math.min(1000, o.timeoutMs)) : null;
  let verdict: string;
  if (servers.length === 0)
    verdict = 'no STUN server is known yet (the relay map has none, and no --stun was given)';
  else if (!ok.length)
    verdict = 'UDP gets no answer out of this network: every peer is reached through the relay (TCP/TLS)';
  else if (varies)
    verdict =
      'this NAT gives each destination its own port (symmetric): a direct path forms only with a peer whose own NAT lets anything in; others use the relay';
  else if (varies === false)
    verdict =
      'this NAT keeps one mapping for every destination: direct paths can form with peers behind such NATs';
  else
    verdict = 'one STUN server answered: whether the mapping varies by destination is unknown (it needs two)';
  return {
    port,
    udp: ok.length > 0,
    stun,
    mappingVariesByDestination: varies,
    portPreserved: preserved,
    hairpinning,
    relays,
    verdict,
  };
}

/** The one peer `query` names: its name, or a prefix (4+ characters) of its key. */
export function findPeer<T extends { name: string; key: string }>(peers: readonly T[], query: string): T {
  const byName = peers.filter((p) => p.name === query);
  if (byName.length === 1) return byName[0];
  const byKey = query.length >= 4 ? peers.filter((p) => p.key.startsWith(query)) : [];
  const hits = byName.length ? byName : byKey;
  if (hits.length === 1) return hits[0];
  if (hits.length > 1)
    throw new AgentError(
      'AGENT_PEER_AMBIGUOUS',
      `'${query}' names ${hits.length} peers (${hits.map((p) => `${p.name} ${p.key.slice(0, 8)}`).join(', ')}); give more of the key`,
    );
  throw new AgentError(
    'AGENT_PEER_UNKNOWN',
    `no peer '${query}' in this node's netmap (peers: ${peers.map((p) => p.name).join(', ') || 'none'})`,
  );
}
