// `sallyport status`: what the running agent knows, from live state only.
import type { Endpoint, PeerSession } from '../session/index.ts';
import type { NetmapPeer, PeerPathReport } from '../proto/control/index.ts';
import { describePath, type PeerPaths } from '../paths/index.ts';
import type { PeerLink } from './link.ts';
import type { Agent } from './node.ts';

export interface PeerStatus {
  key: string;
  name: string;
  kind: string;
  user?: string;
  deployment?: string;
  path: { kind: 'relay'; region: string } | { kind: 'direct'; endpoint: string } | { kind: 'none' };
  lastHandshake: string | null;
  rttMs: number | null;
  /** Path choice (direct paths on): its state, the direct path's PING RTT, the last change. */
  pathState: string | null;
  pathRttMs: number | null;
  pathChange: { at: string; from: string; to: string; reason: string } | null;
  pathSwitches: number;
  /** Session payload size on the direct path (1200, or the larger one it proved); null when relayed. */
  pathDatagramSize: number | null;
  /** Why the traffic takes this path, in words (agent/diagnose.ts pathWhy). */
  pathWhy: string | null;
  /** Path choice's candidates and counters (diagnosis). */
  pathDetail: {
    candidates: { endpoint: string; sources: string[]; rttMs?: number }[];
    observedSelf: string | null;
    counters: Record<string, number>;
  } | null;
  txBytes: number;
  rxBytes: number;
  streams: number;
  /** The stream layer's losses to this peer: packets declared lost, stream bytes sent again. */
  lost: { packets: number; retransmittedBytes: number };
}

export interface AgentStatus {
  node: { key: string; name: string | null; kind: string; deployment?: string; expiresAt: number | null };
  coordinator: {
    /** The coordinator being tried or connected. */
    url: string;
    /** All the agent may use, when it was given several (it fails over between them). */
    urls?: string[];
    state: string;
    connects: number;
    lastError: string | null;
    netmapTime: number | null;
  };
  /** Every region's relay; `home` marks where peers send to reach this node. */
  relays: { region: string; url: string; state: string; rttMs: number | null; home: boolean }[];
  socks5: string | null;
  /** The UDP socket for direct paths; null when the agent runs relay-only. */
  udp: {
    port: number;
    candidates: string[];
    mapped: string[];
    stunServers: string[];
    notSentTo: number;
  } | null;
  peers: PeerStatus[];
  /**
   * Connector: the services it serves itself, as configured. `unfiltered` marks a passthrough
   * service (kind tcp/http, tls=passthrough): the router pipes its bytes with no client certificate
   * and no target. Empty on an engineer's node.
   */
  served: { name: string; kind: string; address: string; tls: string; unfiltered: boolean }[];
  /** The services in this node's netmap (an engineer: what its grants let it reach). */
  services: { name: string; deployment: string; tailnetName: string; kind: string; tls: string }[];
  /** The grants in this node's netmap. */
  grants: { id: string; peer: string; user: string | null; services: string[]; notAfter: number | null }[];
  /** Connector: its services the coordinator refused to register (e.g. SERVICE_TAKEN), with why. */
  serviceRefusals: { service: string; code: string; message: string; at: string }[];
  /** Local audit records that could not be written (connector); 0 elsewhere. */
  localAuditFailures: number;
  refused: Record<string, number>;
  sessionDrops: Record<string, number>;
}

/** The path a session uses now: a relay (its region), direct (the endpoint) or none. */
function pathOf(ep: Endpoint | undefined): PeerStatus['path'] {
  if (ep === undefined) return { kind: 'none' };
  return ep.kind === 'relay' ? { kind: 'relay', region: ep.region } : { kind: 'direct', endpoint: ep.name };
}

/** What the agent reports to the coordinator about its peers: the path kind and the RTT only. */
export function peerPathReports(
  peers: Iterable<{ info: NetmapPeer; session: PeerSession; link: PeerLink }>,
): PeerPathReport[] {
  const out: PeerPathReport[] = [];
  for (const { info, session, link } of peers) {
    const rtt = link.stats().srttMs;
    out.push({
      key: info.key,
      path: pathOf(session.endpoint).kind,
      ...(rtt !== undefined ? { rttMs: Math.round(rtt) } : {}),
    });
  }
  return out;
}

export function buildStatus(
  a: Agent,
  peers: { info: NetmapPeer; session: PeerSession; link: PeerLink; paths: PeerPaths | undefined }[],
): AgentStatus {
  const nm = a.netmap;
  const whys = a.pathWhys();
  return {
    node: {
      key: a.publicKey.base64(),
      name: a.control.welcome?.name ?? null,
      kind: a.o.kind,
      ...(nm?.self.deployment ? { deployment: nm.self.deployment } : {}),
      expiresAt: nm?.self.expiresAt ?? null,
    },
    coordinator: {
      url: a.control.url,
      ...(typeof a.o.coordinator === 'string' || a.o.coordinator.length < 2
        ? {}
        : { urls: [...a.o.coordinator] }),
      state: a.control.state,
      connects: a.control.connects,
      lastError: a.control.lastError ?? null,
      netmapTime: nm ? nm.serverTime : null,
    },
    relays: a.relays.status().map((r) => ({
      region: r.region,
      url: r.url,
      state: r.state,
      rttMs: r.stats.rttMs ?? null,
      home: r.region === a.homeRelay,
    })),
    socks5: a.socksAddress ? `${a.socksAddress.host}:${a.socksAddress.port}` : null,
    udp: udpStatus(a),
    served: (a.o.kind === 'connector' ? (a.o.services ?? []) : []).map((s) => ({
      name: s.name,
      kind: s.kind,
      address: s.address,
      tls: s.tls,
      unfiltered: s.tls === 'passthrough',
    })),
    services: (nm?.services ?? []).map((s) => ({
      name: s.name,
      deployment: s.deployment,
      tailnetName: s.tailnetName,
      kind: s.kind,
      tls: s.tlsMode,
    })),
    grants: (nm?.grants ?? []).map((g) => ({
      id: g.id,
      peer: g.peerKey,
      user: g.user,
      services: g.services,
      notAfter: g.notAfter,
    })),
    serviceRefusals: a.serviceRefusals.list().map((r) => ({
      service: r.service,
      code: r.code,
      message: r.message,
      at: new Date(r.at).toISOString(),
    })),
    localAuditFailures: a.targets?.audit.failures ?? 0,
    peers: peers.map(({ info, session, link, paths }) => {
      const ls = link.stats();
      const ps = paths?.status();
      const lc = ps?.lastChange;
      return {
        key: info.key,
        name: info.name,
        kind: info.kind,
        ...(info.user ? { user: info.user } : {}),
        ...(info.deployment ? { deployment: info.deployment } : {}),
        path: pathOf(session.endpoint),
        lastHandshake:
          session.stats.lastHandshakeWallMs !== undefined
            ? new Date(session.stats.lastHandshakeWallMs).toISOString()
            : null,
        rttMs: ls.srttMs !== undefined ? Math.round(ls.srttMs * 10) / 10 : null,
        pathState: ps?.state ?? null,
        pathRttMs: ps?.rttMs !== undefined ? Math.round(ps.rttMs * 10) / 10 : null,
        pathChange: lc
          ? {
              at: new Date(lc.atWallMs).toISOString(),
              from: describePath(lc.from),
              to: describePath(lc.to),
              reason: lc.reason,
            }
          : null,
        pathSwitches: ps?.switches ?? 0,
        pathWhy: whys.get(info.key) ?? null,
        pathDatagramSize: paths?.datagramSize() ?? null,
        pathDetail: ps
          ? {
              candidates: ps.candidates.map((c) => ({
                endpoint: c.endpoint,
                sources: [...c.sources],
                ...(c.rttMs !== undefined ? { rttMs: c.rttMs } : {}),
              })),
              observedSelf: ps.observedSelf ?? null,
              counters: { ...ps.counters },
            }
          : null,
        txBytes: session.stats.txBytes,
        rxBytes: session.stats.rxBytes,
        streams: ls.streams,
        lost: { packets: ls.packetsLost, retransmittedBytes: ls.bytesRetransmitted },
      };
    }),
    refused: { ...a.refused },
    sessionDrops: { ...a.host.drops },
  };
}

function udpStatus(a: Agent): AgentStatus['udp'] {
  const d = a.direct?.stats();
  return d
    ? {
        port: d.port,
        candidates: d.candidates,
        mapped: d.mapped,
        stunServers: d.stunServers,
        notSentTo: d.notSentTo,
      }
    : null;
}
