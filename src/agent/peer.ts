// One peer of this node (DESIGN.md §4): its WireGuard session, its stream link, its path choice,
// the demux of its session payloads (proto/link/), the probes, and where its datagrams go.
//
//   netmap entry ─► Peer ─► session (no roaming: this Peer chooses the endpoint)
//                        ─► link (stream Connection by epoch)          payload 0x01–0x03
//                        ─► paths (direct-path choice; UDP on)         payload 0x10 PATH
//   socket / relay ─► SessionHost.receive(d, Endpoint) ─► onPayload(payload, from) ─► link | paths
//   link / probes ─► session.send(payload, via?) ─► SessionHost ─► Agent's transmit by Endpoint kind
//
// Endpoints are typed values (session/endpoint.ts): a relay endpoint is made once per region
// (relayEndpoint below), a direct one by the socket's lookup (paths/endpoint.ts DirectEndpoints).
// Without a UDP socket the peer is relay-only: this Peer follows it to the region its datagrams
// come from (WireGuard's roaming, done here) and re-points it when its home relay moves.
import type { Logger } from 'pino';
import type { Clock } from '../clock/index.ts';
import { PublicKey } from '../crypto/index.ts';
import type { NetmapPeer } from '../proto/control/index.ts';
import { decodePathPayload, encodePathPayload, isLowerKey, payloadKind } from '../proto/link/index.ts';
import {
  relayEndpoint,
  type Endpoint,
  type PeerSession,
  type RelayEndpoint,
  type SessionEvent,
  type SessionHost,
} from '../session/index.ts';
import type { ConnectionOptions, IncomingStreamRequest } from '../stream/index.ts';
import { PeerPaths, type PathTimings, type PeerPathChange, type PeerPathStatus } from '../paths/index.ts';
import type { DirectUdp } from './direct.ts';
import { pathWhy, runPing, type PingReply, type PingReport } from './diagnose.ts';
import type { CtlRequest } from './ctl.ts';
import { AgentError } from './errors.ts';
import { PeerLink } from './link.ts';
import { DIRECT_PAYLOAD, type RelayPaths } from './paths.ts';

/** What a Peer needs of its node. */
export interface PeerDeps {
  clock: Clock;
  log: Logger;
  /** This node's public key (the lower key of a pair is the stream client). */
  self: PublicKey;
  host: SessionHost;
  relays: RelayPaths;
  /** The node's UDP socket; undefined: relay-only. */
  direct: DirectUdp | undefined;
  /** This node's home relay region (where the peer reaches us; our fallback to reach it). */
  homeRegion(): string | undefined;
  onIncomingStream(req: IncomingStreamRequest, peer: Peer): void;
  onPathChange?(change: PeerPathChange): void;
  connection?: Partial<ConnectionOptions>;
  pathTimings?: Partial<PathTimings>;
  /** IP TTL of opens (paths/path-choice.ts); datagram sizes a direct path may prove. */
  openTtl?: number;
  datagramSizes?: number[];
}

export class Peer {
  info: NetmapPeer;
  readonly key: PublicKey;
  readonly session: PeerSession;
  readonly link: PeerLink;
  /** Direct-path choice; undefined without a UDP socket. */
  readonly paths: PeerPaths | undefined;
  readonly #d: PeerDeps;
  readonly #log: Logger;
  /** One endpoint value per relay region this peer is reached through or heard from. */
  readonly #relayEps = new Map<string, RelayEndpoint>();

  constructor(d: PeerDeps, info: NetmapPeer) {
    this.#d = d;
    this.info = info;
    this.key = PublicKey.fromBase64(info.key);
    this.#log = d.log.child({ peer: this.key.fingerprint(), peerName: info.name });
    const ep = this.#relayHome();
    this.session = d.host.addPeer(this.key, { ...(ep ? { endpoint: ep } : {}), roam: false });
    const isClient = isLowerKey(d.self.bytes, this.key.bytes);
    this.link = new PeerLink({
      clock: d.clock,
      session: this.session,
      isClient,
      maxPayload: () => this.maxPayload(),
      pathReady: () => this.#pathReady(),
      onIncomingStream: (req) => d.onIncomingStream(req, this),
      onEvent: (ev, detail) => this.#log.debug(detail ?? {}, ev),
      ...(d.connection ? { connection: d.connection } : {}),
    });
    this.paths = d.direct ? this.#newPaths(d.direct) : undefined;
    this.#log.info({ kind: info.kind, role: isClient ? 'client' : 'server' }, 'peer added');
  }

  /** The endpoint value for this peer through `region`'s relay (made once per region). */
  relayEndpoint(region: string): RelayEndpoint {
    let e = this.#relayEps.get(region);
    if (e === undefined) {
      e = relayEndpoint(region, this.key);
      this.#relayEps.set(region, e);
    }
    return e;
  }

  /** Largest session payload the current path carries. */
  maxPayload(): number {
    const ep = this.session.endpoint;
    if (ep?.kind === 'relay') return this.#d.relays.get(ep.region)?.maxPayload() ?? DIRECT_PAYLOAD;
    // direct: the size this path proved (paths/path-choice.ts "Datagram size")
    return this.paths?.datagramSize() ?? DIRECT_PAYLOAD;
  }

  /** False while the relay this peer's datagrams go through holds a backlog (relay-client.ts). */
  #pathReady(): boolean {
    const ep = this.session.endpoint;
    return ep?.kind !== 'relay' || this.#d.relays.get(ep.region)?.ready(this.key) !== false;
  }

  /** `region`'s relay drained its backlog: go on if this peer's datagrams go that way. */
  relayDrained(region: string): void {
    const ep = this.session.endpoint;
    if (ep?.kind === 'relay' && ep.region === region) this.link.resume();
  }

  /** A newer netmap entry for this peer. */
  update(p: NetmapPeer): void {
    const before = this.info.endpoints.join(' ');
    const homeBefore = this.info.homeRelay;
    this.info = p;
    if (this.paths) {
      if (p.endpoints.join(' ') !== before) this.paths.setRemoteCandidates(p.endpoints);
      this.paths.relayChanged();
    } else this.#repoint(homeBefore !== p.homeRelay);
  }

  /** Relays connected or were lost, or our home moved: re-point the relay path. */
  relaysChanged(): void {
    if (this.paths) this.paths.relayChanged();
    else this.#repoint(false);
  }

  /** A datagram from this peer through `region`'s relay. */
  fromRelay(region: string, packet: Uint8Array): void {
    const host = this.#d.host;
    const before = host.drops['unknown-index'] ?? 0;
    host.receive(packet, this.relayEndpoint(region));
    // A transport message under keys we do not have: this node restarted (or the keys were
    // zeroed) while the peer kept its session. Start a handshake now instead of waiting for the
    // peer's stale-session timer (WireGuard's rate rules still apply inside initiateHandshake).
    if (packet[0] === 4 && (host.drops['unknown-index'] ?? 0) > before && !this.session.keypairInfo().current)
      this.session.initiateHandshake();
  }

  /** A decrypted payload of this peer's session (SessionHostOptions.onPayload). */
  onPayload(payload: Uint8Array, from: Endpoint): void {
    // link types and anything unknown go to the link (it counts what it cannot read)
    if (payloadKind(payload) !== 'path') return this.link.receive(payload);
    if (this.paths) for (const f of decodePathPayload(payload)) this.paths.onPathFrame(f, from);
  }

  onSessionEvent(ev: SessionEvent): void {
    if (ev.type === 'handshake-complete') {
      this.#log.info({ role: ev.role }, 'session handshake complete');
      this.paths?.start();
    } else if (ev.type === 'source-changed') {
      // nowhere to answer yet (no relay of ours was up): answer where the peer speaks from
      if (this.session.endpoint === undefined) this.session.endpoint = ev.to;
      if (this.paths) this.paths.onSourceChanged(ev.to);
      else this.#roam(ev.to);
    } else if (ev.type === 'handshake-give-up')
      this.#log.warn({ attempts: ev.attempts }, 'session handshake gave up');
  }

  /** `sallyport ping`: PINGs over the path the traffic takes now, then the path's state. */
  async ping(
    req: Extract<CtlRequest, { cmd: 'ping' }>,
    onReply: (r: PingReply) => void,
    signal?: AbortSignal,
  ): Promise<PingReport> {
    if (!this.paths)
      throw new AgentError(
        'AGENT_NO_DIRECT',
        'this node runs with --no-direct: its peers have no path choice to ping (it is the relay)',
      );
    const replies = await runPing(
      this.#d.clock,
      this.paths,
      { ...req, ...(signal ? { signal } : {}) },
      onReply,
    );
    const ps = this.paths.status();
    return {
      peer: { name: this.info.name, key: this.info.key },
      replies,
      path: ps.path,
      why: this.why(),
      candidates: ps.candidates.map((c) => ({
        endpoint: c.endpoint,
        sources: [...c.sources],
        pings: c.pings,
        pongs: c.pongs,
        ...(c.rttMs !== undefined ? { rttMs: Math.round(c.rttMs * 100) / 100 } : {}),
        opened: c.openedAt !== undefined,
        peerOpened: c.peerOpenedAt !== undefined,
      })),
    };
  }

  /** Why this peer's traffic takes its path, in words (status, ping). */
  why(udp = this.#d.direct?.stats()): string {
    return pathWhy({
      udp: this.#d.direct !== undefined,
      paths: this.paths?.status(),
      peerEndpoints: this.info.endpoints ?? [],
      stunServers: udp?.stunServers ?? [],
      mapped: udp?.mapped ?? [],
      now: this.#d.clock.now(),
    });
  }

  pathStatus(): PeerPathStatus | undefined {
    return this.paths?.status();
  }

  stop(reason: string): void {
    this.paths?.stop();
    this.link.stop(reason);
    this.#d.host.removePeer(this.key);
  }

  // ---- internals

  /** Where this peer is reached through a relay: its home relay's region, else ours. */
  #relayHome(): RelayEndpoint | undefined {
    const hr = this.info.homeRelay;
    const region = hr && this.#d.relays.get(hr) ? hr : this.#d.homeRegion();
    return region ? this.relayEndpoint(region) : undefined;
  }

  /**
   * Relay-only: re-pointed to the peer's home relay when that changed or when the relay the
   * session uses is not connected; otherwise it keeps the region it followed the peer to.
   */
  #repoint(homeChanged: boolean): void {
    const cur = this.session.endpoint;
    if (!homeChanged && cur?.kind === 'relay' && this.#d.relays.connected(cur.region)) return;
    const ep = this.#relayHome();
    if (ep && ep !== this.session.endpoint) this.session.endpoint = ep;
  }

  /** Relay-only: the peer's datagrams come through another region; answer there (roaming). */
  #roam(to: Endpoint): void {
    if (to.kind !== 'relay' || to === this.session.endpoint) return;
    this.session.endpoint = to;
    this.#log.info({ to: to.region }, 'peer path changed');
  }

  #newPaths(direct: DirectUdp): PeerPaths {
    const d = this.#d;
    const log = this.#log;
    return new PeerPaths({
      clock: d.clock,
      peer: this.session,
      ...(d.pathTimings ? { timings: d.pathTimings } : {}),
      relayEndpoint: () => this.#relayHome(),
      // the link reads the new path's payload size itself (maxPayload above)
      connection: () => ({ pathChanged: () => this.link.pathChanged() }),
      remoteCandidates: this.info.endpoints,
      localCandidates: direct.candidates(),
      ...(d.openTtl !== undefined ? { openTtl: d.openTtl } : {}),
      ...(d.datagramSizes ? { datagramSizes: d.datagramSizes } : {}),
      activity: () => this.session.stats.txBytes,
      sendFrame: (f, to, ttl, padTo) => {
        const payload = encodePathPayload(f, padTo);
        // an open (ttl) is only ever a direct UDP datagram; the relay has no TTL to set
        if (ttl === undefined) this.session.send(payload, to);
        else if (to.kind === 'direct') direct.mux.withTtl(ttl, () => this.session.send(payload, to));
      },
      onChange: (c) => {
        d.onPathChange?.(c);
        // a lost direct path may mean our mapping changed: ask STUN at once
        if (c.reason === 'trust-expired') direct.stun.refresh();
      },
      onObserved: (ep, prev) => {
        log.info({ observed: ep, previous: prev }, 'peer sees us from a new address');
        direct.stun.refresh();
      },
      logger: log,
    });
  }
}
