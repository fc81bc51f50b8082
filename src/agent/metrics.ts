// The agent's counters, in its own prom-client Registry (never the global one).
import { Counter, Gauge, Registry } from 'prom-client';
import type { PeerPathStatus } from '../paths/index.ts';

export class AgentMetrics {
  readonly registry = new Registry();
  readonly handshakesRefused = new Counter({
    name: 'sallyport_agent_handshakes_refused_total',
    help: 'Session messages from node keys not in the netmap, dropped before the session layer (I3)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly homeRelayChanges = new Counter({
    name: 'sallyport_agent_home_relay_changes_total',
    help: 'Home relay chosen anew, by reason (first, home-down, closer)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly streamsAccepted = new Counter({
    name: 'sallyport_agent_streams_accepted_total',
    help: 'Incoming streams the router accepted',
    registers: [this.registry],
  });
  readonly streamsRefused = new Counter({
    name: 'sallyport_agent_streams_refused_total',
    help: 'Incoming streams the router refused, by reason',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  readonly passthroughServices = new Gauge({
    name: 'sallyport_agent_passthrough_services',
    help: 'Services this connector pipes unfiltered (tls=passthrough, kind tcp/http): no client certificate, no target',
    registers: [this.registry],
  });
  readonly streamsCut = new Counter({
    name: 'sallyport_agent_streams_cut_total',
    help: 'Live streams cut because their grant ended',
    registers: [this.registry],
  });
  readonly streamBytes = new Counter({
    name: 'sallyport_agent_stream_bytes_total',
    help: 'Bytes through the router, by direction',
    labelNames: ['direction'] as const,
    registers: [this.registry],
  });
  readonly proxyRequests = new Counter({
    name: 'sallyport_agent_proxy_requests_total',
    help: 'SOCKS5 and local-forward connections, by result',
    labelNames: ['via', 'result'] as const,
    registers: [this.registry],
  });
  readonly controlRequests = new Counter({
    name: 'sallyport_agent_control_requests_total',
    help: 'Local control socket requests, by command',
    labelNames: ['command'] as const,
    registers: [this.registry],
  });

  readonly pathChanges = new Counter({
    name: 'sallyport_agent_path_changes_total',
    help: 'Peer path changes, by the new path kind (direct, relay) and reason',
    labelNames: ['to', 'reason'] as const,
    registers: [this.registry],
  });
  /** Filled at scrape time from the live path status (setPathSource). */
  readonly peerPath = new Gauge({
    name: 'sallyport_agent_peer_path',
    help: "Each peer's current path: 1 on the series of its kind (direct or relay) and endpoint or region",
    labelNames: ['peer', 'kind', 'via'] as const,
    registers: [this.registry],
    collect: () => this.#collectPaths(),
  });
  readonly peerPathRtt = new Gauge({
    name: 'sallyport_agent_peer_path_rtt_seconds',
    help: "Round-trip time of each peer's direct path (PING to PONG)",
    labelNames: ['peer'] as const,
    registers: [this.registry],
  });
  readonly peerPathChangedAt = new Gauge({
    name: 'sallyport_agent_peer_path_last_change_timestamp_seconds',
    help: "When each peer's path last changed (Unix time)",
    labelNames: ['peer'] as const,
    registers: [this.registry],
  });
  readonly peerPathDatagram = new Gauge({
    name: 'sallyport_agent_peer_path_datagram_bytes',
    help: "Session payload size each peer's direct path carries (1200, or the larger size it proved)",
    labelNames: ['peer'] as const,
    registers: [this.registry],
  });
  /** Filled at scrape time from the UDP socket's counters (setUdpSource). */
  readonly udpDrops = new Counter({
    name: 'sallyport_agent_udp_drops_total',
    help: "Datagrams the direct-path UDP socket dropped, by reason (not-sent-to: a connector's I1 filter; ttl-unavailable: an open not sent because sends were queued)",
    labelNames: ['reason'] as const,
    registers: [this.registry],
    collect: () => this.#collectUdp(),
  });
  #pathSource: (() => Map<string, PeerPathStatus>) | undefined;
  #udpSource: (() => { drops: Record<string, number>; notSentTo: number } | undefined) | undefined;

  /** Where the UDP drop counters read from (the agent's socket). */
  setUdpSource(fn: () => { drops: Record<string, number>; notSentTo: number } | undefined): void {
    this.#udpSource = fn;
  }

  #collectUdp(): void {
    const u = this.#udpSource?.();
    this.udpDrops.reset();
    if (!u) return;
    for (const [reason, n] of Object.entries(u.drops)) if (n > 0) this.udpDrops.inc({ reason }, n);
    if (u.notSentTo > 0) this.udpDrops.inc({ reason: 'not-sent-to' }, u.notSentTo);
  }

  /** Where the path gauges read from (the agent's peers). */
  setPathSource(fn: () => Map<string, PeerPathStatus>): void {
    this.#pathSource = fn;
  }

  /** A path change: counted by kind and reason. */
  pathChanged(to: 'direct' | 'relay', reason: string): void {
    this.pathChanges.inc({ to, reason });
  }

  #collectPaths(): void {
    this.peerPath.reset();
    this.peerPathRtt.reset();
    this.peerPathChangedAt.reset();
    this.peerPathDatagram.reset();
    for (const [key, st] of this.#pathSource?.() ?? []) {
      const peer = key.slice(0, 8);
      const via = st.path.kind === 'direct' ? st.path.endpoint : (st.path.region ?? '');
      this.peerPath.set({ peer, kind: st.path.kind, via }, 1);
      if (st.rttMs !== undefined) this.peerPathRtt.set({ peer }, st.rttMs / 1000);
      if (st.path.kind === 'direct') this.peerPathDatagram.set({ peer }, st.datagramSize);
      if (st.lastChange) this.peerPathChangedAt.set({ peer }, st.lastChange.atWallMs / 1000);
    }
  }

  /** A counter's value by labels, for status and tests. */
  static async value(c: Counter, labels: Record<string, string> = {}): Promise<number> {
    const v = await c.get();
    return v.values
      .filter((x) => Object.entries(labels).every(([k, val]) => x.labels[k] === val))
      .reduce((s, x) => s + x.value, 0);
  }
}
