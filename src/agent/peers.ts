// The node's data plane: one SessionHost under the node key, one Peer (peer.ts) per netmap peer, and
// the routing of session datagrams by endpoint kind. It is where I3 holds for relayed traffic: a
// datagram from a key that is not a peer of the current netmap never reaches the session layer.
//
//   RelayPaths ─(region, src key, packet)─► fromRelay ─► src a peer? ─no─► drop, count, log (I3)
//                                                                   └yes─► Peer.fromRelay
//   DirectUdp ─(datagram, DirectEndpoint)─► SessionHost.receive ─► Peer.onPayload / onSessionEvent
//   SessionHost.send(datagram, to) ─► to.kind: direct ─► DirectUdp.send, relay ─► its region's client
import type { Logger } from 'pino';
import type { Clock } from '../clock/index.ts';
import type { PrivateKey, PublicKey } from '../crypto/index.ts';
import type { NetmapPeer } from '../proto/control/index.ts';
import { SessionHost, type Endpoint } from '../session/index.ts';
import type { PeerPathStatus } from '../paths/index.ts';
import type { DirectUdp } from './direct.ts';
import { findPeer, type PingReply, type PingReport } from './diagnose.ts';
import type { CtlRequest } from './ctl.ts';
import type { AgentMetrics } from './metrics.ts';
import type { RelayPaths } from './paths.ts';
import { Peer, type PeerDeps } from './peer.ts';

/** Least time between two log lines about one refused key, ms. */
const REFUSAL_LOG_INTERVAL_MS = 10_000;

export interface PeersOptions extends Omit<PeerDeps, 'host' | 'direct' | 'self'> {
  clock: Clock;
  log: Logger;
  nodeKey: PrivateKey;
  metrics: AgentMetrics;
  relays: RelayPaths;
}

export class Peers {
  readonly host: SessionHost;
  /** Session messages refused before the session layer, by reason (mirror of the metric). */
  readonly refused: Record<string, number> = {};
  readonly #o: PeersOptions;
  readonly #peers = new Map<string, Peer>();
  readonly #refusalLogged = new Map<string, number>();
  #direct: DirectUdp | undefined;

  constructor(o: PeersOptions) {
    this.#o = o;
    this.host = new SessionHost({
      clock: o.clock,
      privateKey: o.nodeKey,
      send: (d, to) => this.#transmit(d, to),
      onPayload: (peer, payload, from) => this.#peers.get(peer.publicKey.base64())?.onPayload(payload, from),
      onEvent: (ev) => {
        if (ev.type !== 'cookie-sent') this.#peers.get(ev.peer.publicKey.base64())?.onSessionEvent(ev);
      },
    });
  }

  /** The UDP socket for direct paths (opened once, before the first netmap). */
  set direct(d: DirectUdp) {
    this.#direct = d;
  }

  get(key: string): Peer | undefined {
    return this.#peers.get(key);
  }

  values(): IterableIterator<Peer> {
    return this.#peers.values();
  }

  /** Adds, updates and removes peers to match the netmap's. */
  apply(peers: readonly NetmapPeer[]): void {
    const want = new Map(peers.map((p) => [p.key, p]));
    for (const [k, p] of this.#peers) {
      if (want.has(k)) continue;
      this.#o.log.info({ peer: k.slice(0, 8), name: p.info.name }, 'peer left the netmap');
      p.stop('peer left the netmap');
      this.#peers.delete(k);
    }
    for (const [k, info] of want) {
      const p = this.#peers.get(k);
      if (p) p.update(info);
      else
        this.#peers.set(
          k,
          new Peer({ ...this.#o, host: this.host, direct: this.#direct, self: this.host.publicKey }, info),
        );
    }
  }

  /** A relay connected or was lost, or the home relay moved. */
  relaysChanged(): void {
    for (const p of this.#peers.values()) p.relaysChanged();
  }

  /** `region`'s relay client drained its backlog. */
  relayDrained(region: string): void {
    for (const p of this.#peers.values()) p.relayDrained(region);
  }

  /** Our direct candidates changed. */
  localCandidates(c: readonly string[]): void {
    for (const p of this.#peers.values()) p.paths?.setLocalCandidates(c);
  }

  /** A packet a relay client received from `src`. */
  fromRelay(region: string, src: PublicKey, packet: Uint8Array): void {
    const k = src.base64();
    const peer = this.#peers.get(k);
    if (peer) return peer.fromRelay(region, packet);
    // I3: only peers of the current netmap get to the session layer at all.
    const reason = packet[0] === 1 ? 'handshake-not-in-netmap' : 'packet-not-in-netmap';
    this.#o.metrics.handshakesRefused.inc({ reason });
    this.refused[reason] = (this.refused[reason] ?? 0) + 1;
    const now = this.#o.clock.now();
    if (now - (this.#refusalLogged.get(k) ?? -Infinity) >= REFUSAL_LOG_INTERVAL_MS) {
      this.#refusalLogged.set(k, now);
      if (this.#refusalLogged.size > 1024) this.#refusalLogged.clear();
      this.#o.log.warn(
        { from: src.fingerprint(), reason },
        'refused session message from a key not in the netmap',
      );
    }
  }

  /** Each peer's path (status, metrics). */
  paths(): Map<string, PeerPathStatus> {
    const out = new Map<string, PeerPathStatus>();
    for (const [k, p] of this.#peers) {
      const s = p.pathStatus();
      if (s) out.set(k, s);
    }
    return out;
  }

  /** Each peer's "why" line, by key (status). */
  whys(): Map<string, string> {
    const out = new Map<string, string>();
    const d = this.#direct?.stats(); // once, not per peer
    for (const [k, p] of this.#peers) out.set(k, p.why(d));
    return out;
  }

  /** `sallyport ping`: see diagnose.ts. */
  ping(
    req: Extract<CtlRequest, { cmd: 'ping' }>,
    onReply: (r: PingReply) => void,
    signal?: AbortSignal,
  ): Promise<PingReport> {
    const all = [...this.#peers.values()].map((p) => ({ peer: p, name: p.info.name, key: p.info.key }));
    return findPeer(all, req.peer).peer.ping(req, onReply, signal);
  }

  stop(): void {
    for (const p of this.#peers.values()) p.stop('agent stopped');
    this.#peers.clear();
    this.host.stop();
  }

  /** One session datagram out, by its endpoint's kind (no text parsed). */
  #transmit(d: Uint8Array, to: Endpoint): void {
    if (to.kind === 'direct') {
      if (this.#direct) this.#direct.send(d, to);
      else this.#drop('no-path');
      return;
    }
    const relay = this.#o.relays.get(to.region);
    if (relay) relay.send(to.peer, d);
    else this.#drop('no-path');
  }

  #drop(reason: string): void {
    this.host.drops[reason] = (this.host.drops[reason] ?? 0) + 1;
  }
}
