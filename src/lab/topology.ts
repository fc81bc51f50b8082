// The lab's parties in one process on loopback, each as it runs in production: the coordinator
// (SQLite and keys under DIR/coordinator, the console at /console/), one relay with a STUN
// responder, and agents (connectors, engineers) that dial out to both. Each agent has its own
// state directory, its UDP socket for direct paths and — engineers — a SOCKS5 proxy.
//
//   relay (TLS, STUN) ◄──── agents ────► coordinator (HTTPS API, agent channel, console)
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Clock } from '../clock/index.ts';
import { PrivateKey, PublicKey } from '../crypto/index.ts';
import { ApiClient, Coordinator, loadOrCreateKeys, routes } from '../control/index.ts';
import { createSelfSigned } from '../pki/index.ts';
import { RelayServer } from '../relay/index.ts';
import { Agent, type ServiceSpec } from '../agent/index.ts';

export const LAB_SUFFIX = 'byoc.test';
export const LAB_REGION = 'local-1';

export interface TopologyOptions {
  dir: string;
  /** The coordinator's HTTPS port on 127.0.0.1 (0 = any). */
  port: number;
  clock: Clock;
  logger: Logger;
  /** Cancels start-up. */
  signal: AbortSignal;
}

export interface LabUser {
  name: string;
  password: string;
}

/** A random password a person can still type. */
export function newPassword(): string {
  return randomBytes(12).toString('base64url');
}

export class Topology {
  readonly o: TopologyOptions;
  coordinator!: Coordinator;
  relay!: RelayServer;
  /** Signed in as the bootstrap administrator. */
  admin!: ApiClient;
  readonly adminUser: LabUser = { name: 'admin', password: newPassword() };
  relayCertPem = '';
  /** https://127.0.0.1:PORT of the relay, once started. */
  relayUrl = '';
  readonly agents: Agent[] = [];

  private constructor(o: TopologyOptions) {
    this.o = o;
  }

  /** Starts the relay, then the coordinator (which lists the relay in every netmap). */
  static async start(o: TopologyOptions): Promise<Topology> {
    const t = new Topology(o);
    try {
      await t.#startRelay();
      o.signal.throwIfAborted();
      await t.#startCoordinator();
    } catch (e) {
      await t.stop();
      throw e;
    }
    return t;
  }

  get coordinatorDir(): string {
    return join(this.o.dir, 'coordinator');
  }

  /** PEM the agents trust for the coordinator's and the relay's listeners. */
  get listenerCa(): string {
    return `${this.coordinator.tls.cert}\n${this.relayCertPem}`;
  }

  get consoleUrl(): string {
    return `${this.coordinator.url}/console/`;
  }

  async #startRelay(): Promise<void> {
    const cert = await createSelfSigned({
      commonName: 'relay.lab',
      dnsNames: ['localhost'],
      ipAddresses: ['127.0.0.1'],
    });
    this.relayCertPem = cert.certPem;
    mkdirSync(this.coordinatorDir, { recursive: true, mode: 0o700 });
    // The relay trusts the coordinator's token-signing key (created here on first start).
    const keys = loadOrCreateKeys(this.coordinatorDir);
    this.relay = new RelayServer({
      clock: this.o.clock,
      privateKey: PrivateKey.generate(),
      trusted: [keys.signingKey.verifyKey],
      region: LAB_REGION,
      listen: { host: '127.0.0.1', port: 0 },
      stunPort: 0,
      tls: { cert: cert.certPem, key: cert.keyPem },
      logger: this.o.logger.child({ party: 'relay' }),
    });
  }

  async #startCoordinator(): Promise<void> {
    const addr = await this.relay.start();
    this.relayUrl = `https://127.0.0.1:${addr.port}`;
    this.coordinator = await Coordinator.start({
      dataDir: this.coordinatorDir,
      listen: { host: '127.0.0.1', port: this.o.port },
      suffix: LAB_SUFFIX,
      relays: [
        {
          region: LAB_REGION,
          url: this.relayUrl,
          ...(addr.stunPort ? { stunPort: addr.stunPort } : {}),
        },
      ],
      relayCa: this.relayCertPem,
      clock: this.o.clock,
      logger: this.o.logger.child({ party: 'coordinator' }),
      bootstrapAdmin: this.adminUser,
    });
    this.admin = await this.anonymous().login(this.adminUser.name, this.adminUser.password);
  }

  /** An API client without a token (to sign in). */
  anonymous(): ApiClient {
    return new ApiClient({ server: this.coordinator.url, ca: this.coordinator.tls.cert });
  }

  async addGroup(name: string): Promise<void> {
    await this.admin.route(routes.groupsCreate, { body: { name } });
  }

  /** A user with a generated password, member of `groups` (which must exist). */
  async addUser(name: string, groups: string[]): Promise<LabUser> {
    const u = { name, password: newPassword() };
    await this.admin.route(routes.usersCreate, { body: u });
    for (const g of groups)
      await this.admin.route(routes.groupMembersAdd, { params: { name: g, user: name } });
    return u;
  }

  async preauthKey(bind: { deployment: string } | { user: string }): Promise<string> {
    const r = await this.admin.route(routes.preauthKeysCreate, { body: { ...bind, reusable: false } });
    return r.key;
  }

  #agent(o: {
    name: string;
    kind: 'connector' | 'engineer';
    preauthKey: string;
    services?: ServiceSpec[];
    socks5?: boolean;
  }): Agent {
    const stateDir = join(this.o.dir, o.name);
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    const a = new Agent({
      clock: this.o.clock,
      stateDir,
      coordinator: this.coordinator.url,
      coordinatorKey: PublicKey.fromBase64(this.coordinator.publicKey),
      ca: this.listenerCa,
      kind: o.kind,
      name: o.name,
      preauthKey: o.preauthKey,
      ...(o.services ? { services: o.services } : {}),
      ...(o.socks5 ? { socks5: { host: '127.0.0.1', port: 0 } } : {}),
      // direct UDP paths; on one machine the candidates are loopback addresses
      udp: { port: 0, includeLoopback: true },
      logger: this.o.logger.child({ party: o.name }),
    });
    this.agents.push(a);
    return a;
  }

  /** Enrols (pre-auth key bound to the deployment) and starts a connector serving `services`. */
  async connector(o: { name: string; deployment: string; services: ServiceSpec[] }): Promise<Agent> {
    const preauthKey = await this.preauthKey({ deployment: o.deployment });
    const a = this.#agent({ name: o.name, kind: 'connector', preauthKey, services: o.services });
    await a.start();
    return a;
  }

  /** Enrols (pre-auth key bound to the user) and starts an engineer node with a SOCKS5 proxy. */
  async engineer(o: { name: string; user: string }): Promise<Agent> {
    const preauthKey = await this.preauthKey({ user: o.user });
    const a = this.#agent({ name: o.name, kind: 'engineer', preauthKey, socks5: true });
    await a.start();
    return a;
  }

  /** Stops agents, then the coordinator, then the relay; never throws. */
  async stop(): Promise<void> {
    for (const a of this.agents.splice(0)) await a.stop().catch(() => {});
    await this.coordinator?.stop().catch(() => {});
    await this.relay?.stop().catch(() => {});
  }
}
