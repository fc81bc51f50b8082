// The node: one agent process (connector or engineer). It owns the node key, the agent channel,
// the relay clients, one SessionHost with a PeerSession + PeerLink per netmap peer, and — by mode —
// the router (connector) or the SOCKS5 proxy and local forwards (engineer), plus the local control
// socket. Every decision about peers follows the current netmap:
//
//   netmap ─► relays: start/stop RelayClients    peers: addPeer / removePeer (+ link stop)
//          ─► router.recheck (cut streams whose grant ended; the router times the next end itself)   ─► certificate requests
//   relay packet from key K ─► K in netmap? ─no─► drop, count, log (I3) ─yes─► SessionHost.receive
//   session payload ─► PeerLink (epoch) ─► stream Connection ─► router / proxied socket
import type { Duplex } from 'node:stream';
import { pino, type Logger } from 'pino';
import type { Clock } from '../clock/index.ts';
import { PublicKey, type PrivateKey } from '../crypto/index.ts';
import { FEATURE_ANCHORS, FEATURE_NOTICES } from '../proto/control/index.ts';
import type { Hello, Netmap, NetmapPeer, NetmapService, ServerMessage } from '../proto/control/index.ts';
import { SessionHost, type PeerSession, type SessionEvent } from '../session/index.ts';
import type { ConnectionOptions } from '../stream/index.ts';
import {
  PeerPaths,
  decodePathDatagram,
  encodePathDatagram,
  isDirectEndpoint,
  sendPayloadTo,
  type PathTimings,
  type PeerPathStatus,
  chooseHome,
} from '../paths/index.ts';
import { registration, parseHostPort, type ServiceSpec } from './config.ts';
import { ServiceCerts } from './certs.ts';
import { ControlLoop } from './control.ts';
import { DirectUdp } from './direct.ts';
import {
  findPeer,
  pathWhy,
  runNetcheck,
  runPing,
  type NetcheckReport,
  type PingReply,
  type PingReport,
} from './diagnose.ts';
import { CtlServer, type CtlReply, type CtlRequest } from './ctl.ts';
import { AgentError } from './errors.ts';
import { LocalForward } from './forward.ts';
import { resolveServiceRef, resolveTailnetName } from './grants.ts';
import { isLowerKey } from './link-codec.ts';
import { PeerLink } from './link.ts';
import { AgentMetrics } from './metrics.ts';
import { RelayPaths, relayEndpoint, parseRelayEndpoint, DIRECT_PAYLOAD, PATH_PAYLOAD } from './paths.ts';
import { ConnectorSide } from './connector.ts';
import type { Router } from './router.ts';
import type { ConnectorTargets } from './targets.ts';
import { GrantCerts, type GrantCertificate } from './grant-certs.ts';
import { PathReporter } from './path-report.ts';
import { REP_HOST_UNREACHABLE, SocksServer } from './socks.ts';
import { loadOrCreateNodeKey, socketPath } from './state.ts';
import { ServiceRefusals } from './service-refusals.ts';
import { buildStatus, peerPathReports, type AgentStatus } from './status.ts';

/** Least time between two log lines about one refused key, ms. */
const REFUSAL_LOG_INTERVAL_MS = 10_000;

export interface AgentOptions {
  clock: Clock;
  stateDir: string;
  /**
   * Coordinator base URL, https://host:port, or several coordinators sharing one PostgreSQL (the
   * agent fails over between them: control.ts).
   */
  coordinator: string | readonly string[];
  /** The coordinator's X25519 key, pinned. */
  coordinatorKey: PublicKey;
  /** PEM certificates to trust for the coordinator's and relays' TLS listeners. */
  ca?: string;
  kind: 'connector' | 'engineer';
  /** Node name sent in the hello; default the host name. */
  name: string;
  preauthKey?: string;
  /** Connector: the services it serves. */
  services?: ServiceSpec[];
  /**
   * Connector: while the coordinator refuses one of its services (another connector serves it),
   * register again this often, ms; default 300000 (service-refusals.ts).
   */
  serviceRetryMs?: number;
  /** Engineer: where the SOCKS5 proxy listens. */
  socks5?: { host: string; port: number };
  /** Open the control socket in the state directory; default true. */
  controlSocket?: boolean;
  /** Session payload size over relays; default 16 KiB. */
  relayPayloadSize?: number;
  /** How often each relay's round-trip time is measured (home relay choice), ms; default 10000. */
  relayProbeMs?: number;
  /**
   * Reach a region's relay at this URL instead of the relay map's (a private endpoint, an egress
   * proxy), by region; the certificate is still checked against the relay map's host name.
   */
  relayAddresses?: Readonly<Record<string, string>>;
  connection?: Partial<ConnectionOptions>;
  logger?: Logger;
  /** The node key; default: loaded from (or created in) the state directory. */
  nodeKey?: PrivateKey;
  /**
   * Direct UDP paths (DESIGN.md §4): the agent's one UDP socket, port 0 = ephemeral. Omitted: every
   * peer stays on the relay (the CLI turns this on by default).
   */
  udp?: {
    port?: number;
    host?: string;
    includeLoopback?: boolean;
    /** Extra STUN servers ("HOST:PORT"), asked after the relays' STUN ports. Default none. */
    stunServers?: string[];
    /** IP TTL of the opens before the first PINGs to a candidate (paths/path-choice.ts); 0: none. Default 2. */
    openTtl?: number;
    /** Session payload sizes a direct path may prove, largest first (paths/path-choice.ts). Default none. */
    datagramSizes?: number[];
  };
  /** Path-choice timings (paths/timers.ts); defaults documented there. */
  pathTimings?: Partial<PathTimings>;
}

interface PeerEntry {
  info: NetmapPeer;
  session: PeerSession;
  link: PeerLink;
  /** Direct-path driver; undefined without a UDP socket. */
  paths: PeerPaths | undefined;
}

export class Agent {
  readonly o: AgentOptions;
  readonly log: Logger;
  readonly metrics = new AgentMetrics();
  readonly nodeKey: PrivateKey;
  readonly publicKey: PublicKey;
  readonly keyCreated: boolean;
  readonly control: ControlLoop;
  readonly host: SessionHost;
  readonly relays: RelayPaths;
  /** Connector: router, targets and local audit, service certificates. */
  readonly connector: ConnectorSide | undefined;
  readonly certs: ServiceCerts;
  /** Connector: its services the coordinator would not register (another connector holds them). */
  readonly serviceRefusals: ServiceRefusals;
  readonly #peers = new Map<string, PeerEntry>();
  readonly #forwards = new Set<LocalForward>();
  readonly #refusalLogged = new Map<string, number>();
  readonly #services: Map<string, ServiceSpec>;
  readonly #grantCerts: GrantCerts;
  readonly #pathReport: PathReporter;
  #socks: SocksServer | undefined;
  #ctl: CtlServer | undefined;
  #homeRegion: string | undefined;
  #direct: DirectUdp | undefined;
  /** control.connects when our endpoints were last announced. */
  #announcedOn = -1;
  #stopped = false;
  socksAddress: { host: string; port: number } | undefined;
  /** Session messages refused before the session layer, by reason (mirror of the metric). */
  readonly refused: Record<string, number> = {};
  /** How often the home relay was chosen anew (the first choice counts). */
  homeChanges = 0;

  constructor(o: AgentOptions) {
    this.o = o;
    this.log = o.logger ?? pino({ level: 'silent' });
    if (o.nodeKey) {
      this.nodeKey = o.nodeKey;
      this.keyCreated = false;
    } else {
      const k = loadOrCreateNodeKey(o.stateDir);
      this.nodeKey = k.key;
      this.keyCreated = k.created;
    }
    this.publicKey = this.nodeKey.publicKey;
    this.log = this.log.child({ node: this.publicKey.fingerprint() });
    this.#services = new Map((o.services ?? []).map((s) => [s.name, s]));
    this.certs = new ServiceCerts(o.stateDir);
    this.metrics.setPathSource(() => this.peerPaths());
    this.metrics.setUdpSource(() => this.#direct?.stats());
    this.host = new SessionHost({
      clock: o.clock,
      privateKey: this.nodeKey,
      send: (d, to) => {
        if (this.#direct && isDirectEndpoint(to)) return void this.#direct.send(d, to);
        const r = this.relays.resolve(to);
        if (!r) this.host.drops['no-path'] = (this.host.drops['no-path'] ?? 0) + 1;
        else r.path.send(r.dst, d);
      },
      onPayload: (peer, payload, from) => {
        const e = this.#peers.get(peer.publicKey.base64());
        if (!e) return;
        if (payload[0] !== PATH_PAYLOAD) return e.link.receive(payload);
        if (e.paths) for (const f of decodePathDatagram(payload.subarray(1))) e.paths.onPathFrame(f, from);
      },
      onEvent: (ev) => this.#sessionEvent(ev),
    });
    this.relays = new RelayPaths({
      clock: o.clock,
      privateKey: this.nodeKey,
      ...(o.ca ? { ca: o.ca } : {}),
      logger: this.log.child({ part: 'relay' }),
      ...(o.relayPayloadSize ? { payloadSize: o.relayPayloadSize } : {}),
      onPacket: (ep, src, packet) => this.#fromRelay(ep, src, packet),
      ...(o.relayProbeMs ? { probeMs: o.relayProbeMs } : {}),
      ...(o.relayAddresses ? { addresses: o.relayAddresses } : {}),
      onState: (region, state) => {
        this.log.info({ region, state }, 'relay connection');
        this.#evaluateHome(true);
        if (state === 'connected') this.#announce();
      },
      onRtt: () => this.#evaluateHome(false),
    });
    this.connector =
      o.kind === 'connector'
        ? new ConnectorSide({
            clock: o.clock,
            logger: this.log,
            metrics: this.metrics,
            stateDir: o.stateDir,
            selfKey: this.publicKey.base64(),
            services: this.#services,
            certs: this.certs,
            netmap: () => this.netmap,
            send: (m) => this.control.send(m),
          })
        : undefined;
    this.control = new ControlLoop({
      clock: o.clock,
      urls: typeof o.coordinator === 'string' ? [o.coordinator] : o.coordinator,
      coordinatorKey: o.coordinatorKey,
      nodeKey: this.nodeKey,
      ...(o.ca ? { ca: o.ca } : {}),
      logger: this.log.child({ part: 'control' }),
      hello: () => this.#hello(),
    });
    this.control.on('netmap', (nm: Netmap) => {
      this.serviceRefusals.onNetmap(nm, this.publicKey.base64());
      this.#apply(nm);
    });
    this.#grantCerts = new GrantCerts(o.clock, (m) => this.control.send(m));
    this.serviceRefusals = new ServiceRefusals(
      o.clock,
      () => this.control.send({ type: 'services', services: this.#hello().services ?? [] }),
      o.serviceRetryMs,
    );
    this.#pathReport = new PathReporter(
      o.clock,
      () => peerPathReports(this.#peers.values()),
      (peers) => this.control.send({ type: 'paths', peers }),
      () => this.control.connects,
    );
    this.control.on('message', (m: ServerMessage) => {
      this.#grantCerts.onMessage(m);
      if (m.type === 'error') {
        this.serviceRefusals.onMessage(m, o.clock.wallMs());
        this.log.warn(
          { code: m.code, ...(m.service ? { service: m.service } : {}) },
          `coordinator: ${m.message}`,
        );
      }
      this.connector?.onMessage(m);
    });
  }

  /** Connector: the router (undefined on an engineer's node). */
  get router(): Router | undefined {
    return this.connector?.router;
  }

  /** Connector: the services' targets and the local (customer-side) audit. */
  get targets(): ConnectorTargets | undefined {
    return this.connector?.targets;
  }

  /** The region of this node's home relay: where its peers send to reach it through a relay. */
  get homeRelay(): string | undefined {
    return this.#homeRegion;
  }

  get netmap(): Netmap | undefined {
    return this.control.netmap;
  }

  /** Starts the agent channel, the SOCKS5 proxy and the control socket. */
  async start(): Promise<void> {
    // First: a connector whose services cannot be enforced refuses to start before it opens
    // anything or registers a service (fail closed).
    await this.connector?.start();
    if (this.o.udp) {
      this.#direct = await DirectUdp.open({
        clock: this.o.clock,
        ...this.o.udp,
        sendFirst: this.o.kind === 'connector',
        onWireGuard: (d, from) => this.host.receive(d, from),
        onCandidates: (c) => {
          this.log.info({ candidates: c }, 'local endpoints');
          for (const e of this.#peers.values()) e.paths?.setLocalCandidates(c);
          this.#announce();
        },
      });
      this.log.info({ port: this.#direct.port }, 'UDP socket for direct paths');
    }
    this.control.start();
    this.#pathReport.start();
    if (this.o.socks5) {
      this.#socks = new SocksServer({
        logger: this.log.child({ part: 'socks' }),
        open: (host) => {
          const svc = resolveTailnetName(this.netmap, host);
          if (!svc) return REP_HOST_UNREACHABLE;
          return this.openStream(svc) ?? REP_HOST_UNREACHABLE;
        },
        onResult: (r) => this.metrics.proxyRequests.inc({ via: 'socks5', result: r }),
      });
      this.socksAddress = await this.#socks.listen(this.o.socks5.host, this.o.socks5.port);
      this.log.info(this.socksAddress, 'SOCKS5 proxy listening');
    }
    if (this.o.controlSocket ?? true) {
      this.#ctl = new CtlServer(socketPath(this.o.stateDir), {
        handle: (r, c, p) => this.#ctlHandle(r, c, p),
      });
      await this.#ctl.listen();
    }
  }

  /** Resolves once the netmap satisfies `pred` (tests, CLI readiness). */
  whenNetmap(pred: (nm: Netmap) => boolean = () => true): Promise<Netmap> {
    const nm = this.netmap;
    if (nm && pred(nm)) return Promise.resolve(nm);
    return new Promise((resolve) => {
      const on = (m: Netmap): void => {
        if (!pred(m)) return;
        this.control.off('netmap', on);
        resolve(m);
      };
      this.control.on('netmap', on);
    });
  }

  /** Opens a stream to a service through its connector; undefined when the connector is no peer. */
  openStream(svc: NetmapService): Duplex | undefined {
    const e = this.#peers.get(svc.connectorKey);
    if (!e) return undefined;
    try {
      return e.link.openStream(svc.name);
    } catch (err) {
      this.log.warn({ service: svc.name, err: (err as Error).message }, 'could not open a stream');
      return undefined;
    }
  }

  /** Engineer: a client certificate for one of the grants in this node's netmap (key made here). */
  grantCertificate(grantId: string): Promise<GrantCertificate> {
    const g = this.netmap?.grants.find((x) => x.id === grantId);
    if (this.o.kind !== 'engineer' || !g?.user)
      return Promise.reject(new AgentError('AGENT_REFUSED', `no grant ${grantId} in this node's netmap`));
    return this.#grantCerts.request(grantId, g.user);
  }

  /** Starts a local forward to DEPLOYMENT/SERVICE. */
  async forward(ref: string, local: string): Promise<{ forward: LocalForward; host: string; port: number }> {
    const svc = resolveServiceRef(this.netmap, ref);
    if (!svc) throw new AgentError('AGENT_NO_SUCH_SERVICE', `no service '${ref}' in this node's netmap`);
    const { host, port } = parseHostPort(local, '--local', true);
    const f = new LocalForward(ref, () => {
      const now = resolveServiceRef(this.netmap, ref);
      const s = now && this.openStream(now);
      this.metrics.proxyRequests.inc({ via: 'forward', result: s ? 'ok' : 'unreachable' });
      return s;
    });
    const a = await f.listen(host, port);
    this.#forwards.add(f);
    this.log.info({ service: ref, local: `${a.host}:${a.port}` }, 'local forward listening');
    return { forward: f, ...a };
  }

  closeForward(f: LocalForward): void {
    f.close();
    this.#forwards.delete(f);
  }

  status(): AgentStatus {
    return buildStatus(this, [...this.#peers.values()]);
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#grantCerts.stop();
    this.serviceRefusals.stop();
    this.#pathReport.stop();
    this.control.stop();
    this.#socks?.close();
    this.#ctl?.close();
    for (const f of this.#forwards) f.close();
    await this.connector?.stop();
    for (const e of this.#peers.values()) {
      e.paths?.stop();
      e.link.stop('agent stopped');
    }
    this.#peers.clear();
    this.host.stop();
    this.relays.stop();
    this.#direct?.stop();
  }

  // ---- internals

  #hello(): Hello {
    const h: Hello = { version: 1, kind: this.o.kind, name: this.o.name };
    if (this.o.preauthKey) h.preauthKey = this.o.preauthKey;
    if (this.o.kind === 'connector') {
      h.services = [...this.#services.values()].map(registration);
      h.features = [FEATURE_ANCHORS, FEATURE_NOTICES];
    }
    return h;
  }

  #apply(nm: Netmap): void {
    if (this.#stopped) return;
    this.relays.update(nm.relays);
    this.#evaluateHome(false);
    // our endpoints again after a new agent channel (the coordinator keeps them per connection)
    if (this.control.connects !== this.#announcedOn) {
      this.#announcedOn = this.control.connects;
      this.#announce();
    }
    this.#setStunServers(nm);
    const want = new Map(nm.peers.map((p) => [p.key, p]));
    for (const [k, e] of this.#peers) {
      if (want.has(k)) continue;
      this.log.info({ peer: k.slice(0, 8), name: e.info.name }, 'peer left the netmap');
      e.paths?.stop();
      e.link.stop('peer left the netmap');
      this.host.removePeer(e.session.publicKey);
      this.#peers.delete(k);
    }
    for (const [k, p] of want) {
      const e = this.#peers.get(k);
      if (e) {
        const before = e.info.endpoints.join(' ');
        const homeBefore = e.info.homeRelay;
        e.info = p;
        if (e.paths && p.endpoints.join(' ') !== before) e.paths.setRemoteCandidates(p.endpoints);
        e.paths?.relayChanged();
        if (!e.paths) this.#repointRelayed(e, homeBefore !== p.homeRelay);
        continue;
      }
      this.#addPeer(p);
    }
    this.connector?.netmapChanged(nm);
  }

  #addPeer(p: NetmapPeer): void {
    const key = PublicKey.fromBase64(p.key);
    const relayEp = (): string | undefined => this.#relayEndpointFor(this.#peers.get(p.key)?.info ?? p);
    const ep0 = relayEp();
    const session = this.host.addPeer(key, ep0 ? { endpoint: ep0 } : {});
    const isClient = isLowerKey(this.publicKey.bytes, key.bytes);
    const log = this.log.child({ peer: key.fingerprint(), peerName: p.name });
    const link: PeerLink = new PeerLink({
      clock: this.o.clock,
      session,
      isClient,
      maxPayload: () => {
        const ep = session.endpoint ? parseRelayEndpoint(session.endpoint) : undefined;
        if (ep) return this.relays.get(ep.region)?.maxPayload() ?? DIRECT_PAYLOAD;
        // direct: the size this path proved (paths/path-choice.ts "Datagram size")
        return this.#peers.get(p.key)?.paths?.datagramSize() ?? DIRECT_PAYLOAD;
      },
      onIncomingStream: (req) => {
        if (!this.connector) return req.refuse(2, 'not-a-connector');
        this.connector.router.handle(req, p.key, this.#peers.get(p.key)?.info.name);
      },
      onEvent: (ev, detail) => log.debug(detail ?? {}, ev),
      ...(this.o.connection ? { connection: this.o.connection } : {}),
    });
    const paths = this.#direct ? this.#peerPaths(p, session, link, relayEp, log) : undefined;
    this.#peers.set(p.key, { info: p, session, link, paths });
    log.info({ kind: p.kind, role: isClient ? 'client' : 'server' }, 'peer added');
  }

  #peerPaths(
    p: NetmapPeer,
    session: PeerSession,
    link: PeerLink,
    relayEp: () => string | undefined,
    log: Logger,
  ): PeerPaths {
    const direct = this.#direct!;
    return new PeerPaths({
      clock: this.o.clock,
      peer: session,
      ...(this.o.pathTimings ? { timings: this.o.pathTimings } : {}),
      relayEndpoint: relayEp,
      // the link reads the new path's payload size itself (maxPayload above)
      connection: () => ({ pathChanged: () => link.pathChanged() }),
      remoteCandidates: p.endpoints,
      localCandidates: direct.candidates(),
      ...(this.o.udp?.openTtl !== undefined ? { openTtl: this.o.udp.openTtl } : {}),
      ...(this.o.udp?.datagramSizes ? { datagramSizes: this.o.udp.datagramSizes } : {}),
      activity: () => session.stats.txBytes,
      sendFrame: (f, to, ttl, padTo) => {
        // padTo counts the whole session payload, our marker byte included
        const d = encodePathDatagram(f, padTo === undefined ? 0 : padTo - 1);
        const payload = new Uint8Array(d.length + 1);
        payload[0] = PATH_PAYLOAD;
        payload.set(d, 1);
        // an open (ttl) is only ever a direct UDP datagram; the relay has no TTL to set
        if (ttl === undefined) sendPayloadTo(session, payload, to);
        else if (isDirectEndpoint(to)) direct.mux.withTtl(ttl, () => sendPayloadTo(session, payload, to));
      },
      onChange: (c) => {
        this.metrics.pathChanged(c.to.kind, c.reason);
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

  #fromRelay(endpoint: string, src: PublicKey, packet: Uint8Array): void {
    const k = src.base64();
    if (!this.#peers.has(k)) {
      // I3: only peers of the current netmap get to the session layer at all.
      const reason = packet[0] === 1 ? 'handshake-not-in-netmap' : 'packet-not-in-netmap';
      this.metrics.handshakesRefused.inc({ reason });
      this.refused[reason] = (this.refused[reason] ?? 0) + 1;
      const now = this.o.clock.now();
      if (now - (this.#refusalLogged.get(k) ?? -Infinity) >= REFUSAL_LOG_INTERVAL_MS) {
        this.#refusalLogged.set(k, now);
        if (this.#refusalLogged.size > 1024) this.#refusalLogged.clear();
        this.log.warn(
          { from: src.fingerprint(), reason },
          'refused session message from a key not in the netmap',
        );
      }
      return;
    }
    const before = this.host.drops['unknown-index'] ?? 0;
    this.host.receive(packet, endpoint);
    // A transport message under keys we do not have: this node restarted (or the keys were
    // zeroed) while the peer kept its session. Start a handshake now instead of waiting for the
    // peer's stale-session timer (WireGuard's rate rules still apply inside initiateHandshake).
    if (packet[0] === 4 && (this.host.drops['unknown-index'] ?? 0) > before) {
      const e = this.#peers.get(k);
      if (e && !e.session.keypairInfo().current) e.session.initiateHandshake();
    }
  }

  #sessionEvent(ev: SessionEvent): void {
    if (ev.type === 'handshake-complete') {
      this.log.info({ peer: ev.peer.publicKey.fingerprint(), role: ev.role }, 'session handshake complete');
      this.#peers.get(ev.peer.publicKey.base64())?.paths?.start();
    } else if (ev.type === 'endpoint-changed' && this.#direct) {
      // the path layer owns the endpoint: it hears of the roam and puts the chosen path back
      this.#peers.get(ev.peer.publicKey.base64())?.paths?.onEndpointChanged(ev.to);
    } else if (ev.type === 'handshake-give-up')
      this.log.warn(
        { peer: ev.peer.publicKey.fingerprint(), attempts: ev.attempts },
        'session handshake gave up',
      );
    else if (ev.type === 'endpoint-changed' && !this.#direct)
      this.log.info(
        { peer: ev.peer.publicKey.fingerprint(), to: ev.to.replace(/\/.*/, '') },
        'peer path changed',
      );
  }

  /** Where a peer is reached through a relay: its home relay's region, else ours. */
  #relayEndpointFor(p: NetmapPeer): string | undefined {
    const hr = p.homeRelay;
    const region = hr && this.relays.get(hr) ? hr : this.#homeRegion;
    return region ? relayEndpoint(region, PublicKey.fromBase64(p.key)) : undefined;
  }

  /**
   * A relay-only peer (no direct paths to manage it) is re-pointed to its home relay when that
   * changed or when the relay its session uses is not connected; otherwise it keeps the endpoint
   * it may have roamed to.
   */
  #repointRelayed(e: PeerEntry, homeChanged: boolean): void {
    const cur = e.session.endpoint ? parseRelayEndpoint(e.session.endpoint) : undefined;
    if (!homeChanged && cur && this.relays.connected(cur.region)) return;
    const ep = this.#relayEndpointFor(e.info);
    if (ep && ep !== e.session.endpoint) e.session.endpoint = ep;
  }

  /**
   * Picks the home relay again (paths/home.ts) and announces a change; then, when the home moved or
   * `relaysChanged` (a relay connected or was lost), re-points the peers' relay endpoints.
   */
  #evaluateHome(relaysChanged: boolean): void {
    if (this.#stopped) return;
    const views = this.relays.status().map((r) => ({
      region: r.region,
      connected: r.state === 'connected',
      ...(r.stats.rttMs !== undefined ? { rttMs: r.stats.rttMs } : {}),
    }));
    const c = chooseHome(this.#homeRegion, views);
    if (c.home !== this.#homeRegion) {
      this.log.info(
        { from: this.#homeRegion ?? null, to: c.home ?? null, reason: c.reason, relays: views },
        'home relay',
      );
      this.#homeRegion = c.home;
      this.homeChanges++;
      this.metrics.homeRelayChanges.inc({ reason: c.reason });
      this.#announce();
      if (this.netmap) this.#setStunServers(this.netmap);
    } else if (!relaysChanged) return;
    for (const e of this.#peers.values()) {
      if (e.paths) e.paths.relayChanged();
      else this.#repointRelayed(e, false);
    }
  }

  #announce(): void {
    if (this.#homeRegion)
      this.control.send({
        type: 'endpoints',
        endpoints: this.#direct?.candidates() ?? [],
        homeRelay: this.#homeRegion,
      });
  }

  /**
   * STUN against the home relay's STUN port, then the other regions', then any configured servers
   * (`udp.stunServers`), resolved to IP literals.
   */
  #setStunServers(nm: Netmap): void {
    const direct = this.#direct;
    if (!direct) return;
    const rs = [...nm.relays].sort((a, b) =>
      a.region === this.#homeRegion ? -1 : b.region === this.#homeRegion ? 1 : 0,
    );
    const servers = rs
      .filter((r) => r.stunPort !== undefined)
      .map((r) => `${new URL(r.url).hostname}:${r.stunPort}`)
      .concat(this.o.udp?.stunServers ?? []);
    void direct.setStunServers(servers).then((ok) => {
      if (ok.length < servers.length) this.log.warn({ servers, resolved: ok }, 'STUN server not resolved');
    });
  }

  /** Each peer's path (status, metrics). */
  peerPaths(): Map<string, PeerPathStatus> {
    const out = new Map<string, PeerPathStatus>();
    for (const [k, e] of this.#peers) if (e.paths) out.set(k, e.paths.status());
    return out;
  }

  /** The UDP socket's state, or undefined without one. */
  directStats(): ReturnType<DirectUdp['stats']> | undefined {
    return this.#direct?.stats();
  }

  /** `sallyport ping`: see diagnose.ts. */
  async ping(
    req: Extract<CtlRequest, { cmd: 'ping' }>,
    onReply: (r: PingReply) => void,
    signal?: AbortSignal,
  ): Promise<PingReport> {
    const all = [...this.#peers.values()].map((e) => ({ ...e, name: e.info.name, key: e.info.key }));
    const e = findPeer(all, req.peer);
    if (!e.paths)
      throw new AgentError(
        'AGENT_NO_DIRECT',
        'this node runs with --no-direct: its peers have no path choice to ping (it is the relay)',
      );
    const replies = await runPing(this.o.clock, e.paths, { ...req, ...(signal ? { signal } : {}) }, onReply);
    const ps = e.paths.status();
    return {
      peer: { name: e.info.name, key: e.info.key },
      replies,
      path: ps.path,
      why: this.#why(e),
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

  /** Why a peer's traffic takes its path, in words (status, ping). */
  #why(e: PeerEntry, d = this.#direct?.stats()): string {
    return pathWhy({
      udp: this.#direct !== undefined,
      paths: e.paths?.status(),
      peerEndpoints: e.info.endpoints ?? [],
      stunServers: d?.stunServers ?? [],
      mapped: d?.mapped ?? [],
      now: this.o.clock.now(),
    });
  }

  /** Each peer's "why" line, by key (status). */
  pathWhys(): Map<string, string> {
    const out = new Map<string, string>();
    const d = this.#direct?.stats(); // once, not per peer
    for (const [k, e] of this.#peers) out.set(k, this.#why(e, d));
    return out;
  }

  /** `sallyport netcheck`: see diagnose.ts. */
  netcheck(timeoutMs: number): Promise<NetcheckReport> {
    const relays = this.relays.status().map((r) => ({
      region: r.region,
      url: r.url,
      state: r.state,
      rttMs: r.stats.rttMs !== undefined ? Math.round(r.stats.rttMs * 10) / 10 : null,
      home: r.region === this.homeRelay,
    }));
    return runNetcheck(this.#direct, relays, { timeoutMs });
  }

  async #ctlHandle(
    req: CtlRequest,
    onClose: (fn: () => void) => void,
    progress: (p: unknown) => void,
  ): Promise<CtlReply> {
    this.metrics.controlRequests.inc({ command: req.cmd });
    if (req.cmd === 'status') return { ok: true, status: this.status() };
    if (req.cmd === 'metrics') return { ok: true, text: await this.metrics.registry.metrics() };
    if (req.cmd === 'cert') return { ok: true, cert: await this.grantCertificate(req.grant) };
    if (req.cmd === 'netcheck') return { ok: true, netcheck: await this.netcheck(req.timeoutMs) };
    if (req.cmd === 'ping') {
      const ac = new AbortController();
      onClose(() => ac.abort());
      return { ok: true, ping: await this.ping(req, progress, ac.signal) };
    }
    const f = await this.forward(req.service, req.local);
    onClose(() => this.closeForward(f.forward));
    return { ok: true, local: `${f.host}:${f.port}` };
  }
}
