// The node: one agent process (connector or engineer). It owns the node key and wires its rooms:
// the agent channel (control.ts), the relay clients (paths.ts), the UDP socket (direct.ts), the home
// relay (home-relay.ts), the data plane (peers.ts: one Peer per netmap peer), the connector side
// (router, targets, audit) or the engineer side (SOCKS5, forwards, grant certificates), and the
// local control socket. Every decision about peers follows the current netmap:
//   netmap ─► relays.update ─► home.onNetmap ─► peers.apply ─► connector.netmapChanged
//   relay packet ─► peers.fromRelay (I3)       UDP datagram ─► DirectUdp (I1) ─► SessionHost
import type { Duplex } from 'node:stream';
import { pino, type Logger } from 'pino';
import type { PrivateKey, PublicKey } from '../crypto/index.ts';
import type { Netmap, NetmapService, ServerMessage } from '../proto/control/index.ts';
import type { SessionHost } from '../session/index.ts';
import type { PeerPathStatus } from '../paths/index.ts';
import type { ServiceSpec } from './config.ts';
import { ServiceCerts } from './certs.ts';
import { ControlLoop } from './control.ts';
import { DirectUdp } from './direct.ts';
import type { PingReply, PingReport } from './diagnose.ts';
import { CtlServer, type CtlRequest } from './ctl.ts';
import type { LocalForward } from './forward.ts';
import { EngineerSide } from './engineer.ts';
import { handleCtl } from './ctl-handler.ts';
import { AgentMetrics } from './metrics.ts';
import { helloOf, type AgentOptions } from './options.ts';
import { RelayPaths } from './paths.ts';
import { Peers } from './peers.ts';
import { ConnectorSide } from './connector.ts';
import type { Router } from './router.ts';
import type { ConnectorTargets } from './targets.ts';
import { HomeRelay } from './home-relay.ts';
import type { GrantCertificate } from './grant-certs.ts';
import { PathReporter } from './path-report.ts';
import { loadOrCreateNodeKey, socketPath } from './state.ts';
import { ServiceRefusals } from './service-refusals.ts';
import { buildStatus, peerPathReports, type AgentStatus } from './status.ts';

export type { AgentOptions };

export class Agent {
  readonly o: AgentOptions;
  readonly log: Logger;
  readonly metrics = new AgentMetrics();
  readonly nodeKey: PrivateKey;
  readonly publicKey: PublicKey;
  readonly keyCreated: boolean;
  readonly control: ControlLoop;
  /** The data plane: the session host and one Peer per netmap peer. */
  readonly peers: Peers;
  readonly relays: RelayPaths;
  /** Connector: router, targets and local audit, service certificates. */
  readonly connector: ConnectorSide | undefined;
  readonly certs: ServiceCerts;
  /** Connector: its services the coordinator would not register (another connector holds them). */
  readonly serviceRefusals: ServiceRefusals;
  readonly #engineer: EngineerSide;
  readonly #services: Map<string, ServiceSpec>;
  readonly #pathReport: PathReporter;
  #ctl: CtlServer | undefined;
  readonly #home: HomeRelay;
  #direct: DirectUdp | undefined;
  #stopped = false;

  constructor(o: AgentOptions) {
    this.o = o;
    this.log = o.logger ?? pino({ level: 'silent' });
    const k = o.nodeKey ? { key: o.nodeKey, created: false } : loadOrCreateNodeKey(o.stateDir);
    [this.nodeKey, this.keyCreated] = [k.key, k.created];
    this.publicKey = this.nodeKey.publicKey;
    this.log = this.log.child({ node: this.publicKey.fingerprint() });
    this.#services = new Map((o.services ?? []).map((s) => [s.name, s]));
    this.certs = new ServiceCerts(o.stateDir);
    this.metrics.setPathSource(() => this.peerPaths());
    this.metrics.setUdpSource(() => this.#direct?.stats());
    this.relays = new RelayPaths({
      clock: o.clock,
      privateKey: this.nodeKey,
      ...(o.ca ? { ca: o.ca } : {}),
      logger: this.log.child({ part: 'relay' }),
      ...(o.relayPayloadSize ? { payloadSize: o.relayPayloadSize } : {}),
      onPacket: (region, src, packet) => this.peers.fromRelay(region, src, packet),
      ...(o.relayProbeMs ? { probeMs: o.relayProbeMs } : {}),
      ...(o.relayAddresses ? { addresses: o.relayAddresses } : {}),
      onState: (region, state) => {
        this.log.info({ region, state }, 'relay connection');
        this.#home.evaluate(true);
        if (state === 'connected') this.#home.announce();
      },
      onRtt: () => this.#home.evaluate(false),
      onDrain: (region) => this.peers.relayDrained(region),
      onPeerBusy: (_region, peer) => this.peers.get(peer.base64())?.link.connection?.congestionSignal(),
    });
    this.peers = new Peers({
      clock: o.clock,
      log: this.log,
      nodeKey: this.nodeKey,
      metrics: this.metrics,
      relays: this.relays,
      homeRegion: () => this.#home.region,
      onIncomingStream: (req, peer) => {
        if (!this.connector) return req.refuse(2, 'not-a-connector');
        this.connector.router.handle(req, peer.info.key, peer.info.name);
      },
      onPathChange: (c) => this.metrics.pathChanged(c.to.kind, c.reason),
      ...(o.connection ? { connection: o.connection } : {}),
      ...(o.pathTimings ? { pathTimings: o.pathTimings } : {}),
      ...(o.udp?.openTtl !== undefined ? { openTtl: o.udp.openTtl } : {}),
      ...(o.udp?.datagramSizes ? { datagramSizes: o.udp.datagramSizes } : {}),
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
      hello: () => helloOf(o, this.#services),
    });
    this.#home = new HomeRelay({
      log: this.log,
      metrics: this.metrics,
      relays: this.relays,
      control: this.control,
      direct: () => this.#direct,
      stunServers: o.udp?.stunServers ?? [],
      onRelaysChanged: () => this.peers.relaysChanged(),
    });
    this.control.on('netmap', (nm: Netmap) => {
      this.serviceRefusals.onNetmap(nm, this.publicKey.base64());
      this.#apply(nm);
    });
    this.#engineer = new EngineerSide({
      clock: o.clock,
      log: this.log,
      metrics: this.metrics,
      engineer: o.kind === 'engineer',
      netmap: () => this.netmap,
      openStream: (svc) => this.openStream(svc),
      send: (m) => this.control.send(m),
    });
    this.serviceRefusals = new ServiceRefusals(
      o.clock,
      () => this.control.send({ type: 'services', services: helloOf(o, this.#services).services ?? [] }),
      o.serviceRetryMs,
    );
    this.#pathReport = new PathReporter(
      o.clock,
      () => peerPathReports(this.peers.values()),
      (peers) => this.control.send({ type: 'paths', peers }),
      () => this.control.connects,
    );
    this.control.on('message', (m: ServerMessage) => {
      this.#engineer.onMessage(m);
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

  /** The session host (tests: a peer added by hand). */
  get host(): SessionHost {
    return this.peers.host;
  }

  /** Session messages refused before the session layer, by reason. */
  get refused(): Record<string, number> {
    return this.peers.refused;
  }

  /** Engineer: where the SOCKS5 proxy listens. */
  get socksAddress(): { host: string; port: number } | undefined {
    return this.#engineer.socksAddress;
  }

  /** Connector: the router (undefined on an engineer's node). */
  get router(): Router | undefined {
    return this.connector?.router;
  }

  /** Connector: the services' targets and the local (customer-side) audit. */
  get targets(): ConnectorTargets | undefined {
    return this.connector?.targets;
  }

  /** How often the home relay was chosen anew (the first choice counts). */
  get homeChanges(): number {
    return this.#home.changes;
  }

  /** The region of this node's home relay: where its peers send to reach it through a relay. */
  get homeRelay(): string | undefined {
    return this.#home.region;
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
          this.peers.localCandidates(c);
          this.#home.announce();
        },
      });
      this.peers.direct = this.#direct;
      this.log.info({ port: this.#direct.port }, 'UDP socket for direct paths');
    }
    this.control.start();
    this.#pathReport.start();
    if (this.o.socks5) await this.#engineer.listenSocks(this.o.socks5.host, this.o.socks5.port);
    if (this.o.controlSocket ?? true) {
      this.#ctl = new CtlServer(socketPath(this.o.stateDir), {
        handle: (r, c, p) => handleCtl(this, r, c, p),
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
    const e = this.peers.get(svc.connectorKey);
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
    return this.#engineer.grantCertificate(grantId);
  }

  /** Starts a local forward to DEPLOYMENT/SERVICE. */
  forward(ref: string, local: string): Promise<{ forward: LocalForward; host: string; port: number }> {
    return this.#engineer.forward(ref, local);
  }

  closeForward(f: LocalForward): void {
    this.#engineer.closeForward(f);
  }

  status(): AgentStatus {
    return buildStatus(this, [...this.peers.values()]);
  }

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#home.stop();
    this.#engineer.stop();
    this.serviceRefusals.stop();
    this.#pathReport.stop();
    this.control.stop();
    this.#ctl?.close();
    await this.connector?.stop();
    this.peers.stop();
    this.relays.stop();
    this.#direct?.stop();
  }

  // ---- internals

  #apply(nm: Netmap): void {
    if (this.#stopped) return;
    this.relays.update(nm.relays);
    this.#home.onNetmap(nm);
    this.peers.apply(nm.peers);
    this.connector?.netmapChanged(nm);
  }

  /** Each peer's path (status, metrics). */
  peerPaths(): Map<string, PeerPathStatus> {
    return this.peers.paths();
  }

  /** The UDP socket for direct paths; undefined when relay-only (or not started). */
  get direct(): DirectUdp | undefined {
    return this.#direct;
  }

  /** `sallyport ping`: see diagnose.ts. */
  ping(
    req: Extract<CtlRequest, { cmd: 'ping' }>,
    onReply: (r: PingReply) => void,
    signal?: AbortSignal,
  ): Promise<PingReport> {
    return this.peers.ping(req, onReply, signal);
  }

  /** Each peer's "why" line, by key (status). */
  pathWhys(): Map<string, string> {
    return this.peers.whys();
  }
}
