// An in-process overlay for integration tests: a coordinator (SQLite in a temp dir), one relay,
// and agents, all on loopback with random ports and self-signed listener certificates. The
// harness drives the admin API like an operator would (deployments, keys, users, grants).
//
//   const h = await Harness.start();
//   await h.deployment('acme-prod');
//   const conn = await h.connector({ deployment: 'acme-prod', services: [...] });
//   const eng = await h.engineer({ user: 'alice', socks5: true });
//   await h.grant({ type: 'user', name: 'alice' }, 'acme-prod', ['web']);
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { realClock, type Clock } from '../clock/index.ts';
import { PrivateKey, PublicKey } from '../crypto/index.ts';
import {
  ApiClient,
  Coordinator,
  loadOrCreateKeys,
  routes,
  type CoordinatorOptions,
} from '../control/index.ts';
import { createSelfSigned } from '../pki/index.ts';
import { RelayServer } from '../relay/index.ts';
import { Agent, type AgentOptions, type ServiceSpec } from '../agent/index.ts';
import type { Netmap } from '../proto/control/index.ts';

export const SUFFIX = 'byoc.test';
export const REGION = 'local-1';

/** Collected JSON log lines of one component (tests assert on what was logged). */
export class LogSink {
  readonly lines: Record<string, unknown>[] = [];
  readonly logger: Logger;
  constructor(level = process.env.SALLYPORT_TEST_LOG ?? 'info') {
    const echo = process.env.SALLYPORT_TEST_LOG_ECHO === '1';
    const stream = new Writable({
      write: (chunk: Buffer, _enc, cb) => {
        for (const l of chunk.toString('utf8').split('\n'))
          if (l) {
            try {
              this.lines.push(JSON.parse(l) as Record<string, unknown>);
            } catch {
              /* not JSON */
            }
            if (echo) process.stderr.write(l + '\n');
          }
        cb();
      },
    });
    this.logger = pino({ level, base: undefined }, stream);
  }
  find(msg: string | RegExp): Record<string, unknown>[] {
    return this.lines.filter((l) => (typeof msg === 'string' ? l.msg === msg : msg.test(String(l.msg))));
  }
}

export interface HarnessOptions {
  clock?: Clock;
  dir?: string;
  /**
   * Puts something between the agents and the relay: called with the relay's port and its
   * listener certificate, returns the port agents are told to use (e.g. a recording TLS tap).
   */
  relayFront?(relayPort: number, cert: { certPem: string; keyPem: string }): Promise<number>;
  /** More relay regions besides the first (each its own relay on loopback, in the relay map). */
  extraRegions?: string[];
  /** More coordinator options (e.g. `oidc`, `publicUrl`). */
  coordinator?: Partial<CoordinatorOptions>;
  /** The coordinator's port (default: a free one); a test that needs its URL first picks it. */
  coordinatorPort?: number;
}

export interface AgentHandle {
  agent: Agent;
  logs: LogSink;
  stateDir: string;
  name: string;
}

export class Harness {
  readonly dir: string;
  readonly clock: Clock;
  coordinator!: Coordinator;
  relay!: RelayServer;
  api!: ApiClient;
  relayPort = 0;
  /** The port agents dial for the relay (the relay's own, or relayFront's). */
  relayDialPort = 0;
  readonly #relayFront: HarnessOptions['relayFront'];
  readonly #coordinatorExtra: Partial<CoordinatorOptions>;
  coordinatorPort = 0;
  relayCert!: { certPem: string; keyPem: string };
  relayKey = PrivateKey.generate();
  readonly coordinatorLogs = new LogSink('warn');
  readonly relayLogs = new LogSink('warn');
  readonly agents: AgentHandle[] = [];
  /** The relays of extraRegions, by region. */
  readonly extraRelays = new Map<string, { relay: RelayServer | undefined; port: number; key: PrivateKey }>();
  #seq = 0;
  readonly #adminPassword = 'harness-admin-password';

  private constructor(o: HarnessOptions) {
    this.dir = o.dir ?? mkdtempSync(join(tmpdir(), 'sallyport-harness-'));
    this.clock = o.clock ?? realClock;
    this.#relayFront = o.relayFront;
    this.#coordinatorExtra = o.coordinator ?? {};
    this.coordinatorPort = o.coordinatorPort ?? 0;
    for (const r of o.extraRegions ?? [])
      this.extraRelays.set(r, { relay: undefined, port: 0, key: PrivateKey.generate() });
  }

  static async start(o: HarnessOptions = {}): Promise<Harness> {
    const h = new Harness(o);
    h.relayCert = await createSelfSigned({
      commonName: 'relay.test',
      dnsNames: ['localhost'],
      ipAddresses: ['127.0.0.1'],
    });
    await h.startRelay();
    if (h.#relayFront) h.relayDialPort = await h.#relayFront(h.relayPort, h.relayCert);
    for (const region of h.extraRelays.keys()) await h.startRelayIn(region);
    await h.startCoordinator();
    return h;
  }

  get coordinatorDir(): string {
    return join(this.dir, 'coordinator');
  }
  get relayUrl(): string {
    return `https://127.0.0.1:${this.relayDialPort || this.relayPort}`;
  }
  /** PEM bundle the agents trust: the coordinator's and the relay's listener certificates. */
  get ca(): string {
    return `${this.coordinator.tls.cert}\n${this.relayCert.certPem}`;
  }

  async startRelay(): Promise<void> {
    const keys = loadOrCreateKeys(this.coordinatorDir);
    this.relay = new RelayServer({
      clock: this.clock,
      privateKey: this.relayKey,
      trusted: [keys.signingKey.verifyKey],
      region: REGION,
      listen: { host: '127.0.0.1', port: this.relayPort },
      tls: { cert: this.relayCert.certPem, key: this.relayCert.keyPem },
      logger: this.relayLogs.logger,
    });
    this.relayPort = (await this.relay.start()).port;
  }

  async stopRelay(): Promise<void> {
    await this.relay.stop();
  }

  /** Starts (or starts again, on its port) the relay of an extra region. */
  async startRelayIn(region: string): Promise<void> {
    const x = this.extraRelays.get(region);
    if (!x) throw new Error(`no extra region ${region}`);
    const keys = loadOrCreateKeys(this.coordinatorDir);
    x.relay = new RelayServer({
      clock: this.clock,
      privateKey: x.key,
      trusted: [keys.signingKey.verifyKey],
      region,
      listen: { host: '127.0.0.1', port: x.port },
      tls: { cert: this.relayCert.certPem, key: this.relayCert.keyPem },
      logger: this.relayLogs.logger,
    });
    x.port = (await x.relay.start()).port;
  }

  async stopRelayIn(region: string): Promise<void> {
    await this.extraRelays.get(region)?.relay?.stop();
  }

  relayUrlIn(region: string): string {
    return `https://127.0.0.1:${this.extraRelays.get(region)!.port}`;
  }

  async startCoordinator(): Promise<void> {
    this.coordinator = await Coordinator.start({
      dataDir: this.coordinatorDir,
      listen: { host: '127.0.0.1', port: this.coordinatorPort },
      suffix: SUFFIX,
      relays: [
        { region: REGION, url: this.relayUrl },
        ...[...this.extraRelays.keys()].map((region) => ({ region, url: this.relayUrlIn(region) })),
      ],
      relayCa: this.relayCert.certPem,
      clock: this.clock,
      logger: this.coordinatorLogs.logger,
      bootstrapAdmin: { name: 'admin', password: this.#adminPassword },
      scrypt: { N: 1024, r: 8, p: 1 },
      ...this.#coordinatorExtra,
    });
    this.coordinatorPort = this.coordinator.port;
    this.api = await new ApiClient({ server: this.coordinator.url, ca: this.coordinator.tls.cert }).login(
      'admin',
      this.#adminPassword,
    );
  }

  async stopCoordinator(): Promise<void> {
    await this.coordinator.stop();
  }

  async deployment(name: string, region = 'us-east-1', cloud = 'aws'): Promise<void> {
    await this.api.route(routes.deploymentsCreate, { body: { name, region, cloud } });
  }

  async user(name: string): Promise<void> {
    await this.api.route(routes.usersCreate, { body: { name, password: `pw-${name}-${'x'.repeat(12)}` } });
  }

  async preauthKey(bind: { deployment: string } | { user: string }, reusable = false): Promise<string> {
    const r = await this.api.route(routes.preauthKeysCreate, { body: { ...bind, reusable } });
    return r.key;
  }

  async grant(
    subject: { type: 'user' | 'group' | 'node'; name: string },
    deployment: string,
    services: string[],
    expiresInSeconds?: number,
    access?: 'read-only' | 'read-write' | 'admin',
  ): Promise<string> {
    const r = await this.api.route(routes.grantsCreate, {
      body: {
        subject,
        deployment,
        services,
        ...(expiresInSeconds ? { expiresInSeconds } : {}),
        ...(access ? { access } : {}),
      },
    });
    return r.id;
  }

  /**
   * A grant ending `ms` from now, written through the store and pushed like the API does (the
   * admin API's shortest grant is 60 s; tests of expiry want seconds).
   */
  async grantFor(
    subject: { type: 'user' | 'group' | 'node'; name: string },
    deployment: string,
    services: string[],
    ms: number,
  ): Promise<string> {
    const g = await this.coordinator.store.createGrant('harness', {
      subject,
      deployment,
      services,
      expiresAt: this.coordinator.store.now() + ms,
    });
    await this.coordinator.hub.changed({ type: 'grant', grant: g });
    return g.id;
  }

  async revokeGrant(id: string): Promise<void> {
    await this.api.route(routes.grantsRevoke, { params: { id } });
  }

  #agentOptions(
    o: { name: string; stateDir?: string },
    logs: LogSink,
  ): Pick<AgentOptions, 'clock' | 'stateDir' | 'coordinator' | 'coordinatorKey' | 'ca' | 'name' | 'logger'> {
    return {
      clock: this.clock,
      stateDir: o.stateDir ?? join(this.dir, `agent-${o.name}-${++this.#seq}`),
      coordinator: this.coordinator.url,
      coordinatorKey: PublicKey.fromBase64(this.coordinator.publicKey),
      ca: this.ca,
      name: o.name,
      logger: logs.logger,
    };
  }

  /** Enrolls (first start) and starts a connector; resolves once its netmap lists its services. */
  async connector(o: {
    deployment: string;
    services: ServiceSpec[];
    name?: string;
    stateDir?: string;
    preauthKey?: string;
    extra?: Partial<AgentOptions>;
  }): Promise<AgentHandle> {
    const name = o.name ?? `${o.deployment}-connector`;
    const logs = new LogSink(process.env.SALLYPORT_TEST_LOG ?? 'info');
    const opts = this.#agentOptions({ name, ...(o.stateDir ? { stateDir: o.stateDir } : {}) }, logs);
    const preauthKey = o.preauthKey ?? (await this.preauthKey({ deployment: o.deployment }));
    const agent = new Agent({ ...opts, kind: 'connector', preauthKey, services: o.services, ...o.extra });
    await agent.start();
    await withTimeout(
      agent.whenNetmap((nm) => o.services.every((s) => nm.services.some((x) => x.name === s.name))),
      15_000,
      `connector ${name}: netmap with its services`,
    );
    const handle = { agent, logs, stateDir: opts.stateDir, name };
    this.agents.push(handle);
    return handle;
  }

  /** Enrolls (with a user-bound pre-auth key) and starts an engineer agent. */
  async engineer(o: {
    user: string;
    name?: string;
    socks5?: boolean;
    stateDir?: string;
    preauthKey?: string;
    extra?: Partial<AgentOptions>;
  }): Promise<AgentHandle> {
    const name = o.name ?? `${o.user}-laptop`;
    const logs = new LogSink(process.env.SALLYPORT_TEST_LOG ?? 'info');
    const opts = this.#agentOptions({ name, ...(o.stateDir ? { stateDir: o.stateDir } : {}) }, logs);
    const preauthKey = o.preauthKey ?? (await this.preauthKey({ user: o.user }));
    const agent = new Agent({
      ...opts,
      kind: 'engineer',
      preauthKey,
      ...(o.socks5 ? { socks5: { host: '127.0.0.1', port: 0 } } : {}),
      ...o.extra,
    });
    await agent.start();
    await withTimeout(agent.whenNetmap(), 15_000, `engineer ${name}: first netmap`);
    const handle = { agent, logs, stateDir: opts.stateDir, name };
    this.agents.push(handle);
    return handle;
  }

  /**
   * Waits until the connector's TLS-terminating services have their certificates, issued by the
   * coordinator's service CA over the agent channel (key and CSR made on the connector), and returns
   * the coordinator's root certificate, which engineers' clients trust.
   */
  /**
   * Waits until a connector holds the service certificates of `services` and the access CA that
   * client certificates must chain to; returns the root the engineer trusts for them.
   */
  async serviceCertRoot(a: Agent, services: string[]): Promise<string> {
    await waitFor(
      () => services.every((s) => a.certs.get(s)) && a.certs.clientTrust() !== undefined,
      15_000,
      `service certificates for ${services.join(', ')} and the client trust from the coordinator`,
    );
    return this.coordinator.pki.root.certPem;
  }

  /** Waits until the engineer's netmap lists the connector and the connector's lists the engineer. */
  async connected(eng: AgentHandle, conn: AgentHandle, ms = 15_000): Promise<void> {
    const e = eng.agent.publicKey.base64();
    const c = conn.agent.publicKey.base64();
    await waitFor(
      () => eng.agent.netmap?.peers.some((p) => p.key === c) ?? false,
      ms,
      'the connector in the engineer netmap',
    );
    await waitFor(
      () => conn.agent.netmap?.peers.some((p) => p.key === e) ?? false,
      ms,
      'the engineer in the connector netmap',
    );
  }

  async stopAgent(h: AgentHandle): Promise<void> {
    await h.agent.stop();
    const i = this.agents.indexOf(h);
    if (i >= 0) this.agents.splice(i, 1);
  }

  async stop(): Promise<void> {
    for (const h of [...this.agents]) await this.stopAgent(h);
    await this.coordinator?.stop().catch(() => {});
    await this.relay?.stop().catch(() => {});
    for (const x of this.extraRelays.values()) await x.relay?.stop().catch(() => {});
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Rejects with `what` if `p` takes longer than `ms`. */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(t)),
    new Promise<never>((_, reject) => {
      t = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
    }),
  ]);
}

/** Polls `cond` every 20 ms until true, or rejects after `ms`. */
export async function waitFor(
  cond: () => boolean | Promise<boolean>,
  ms: number,
  what: string,
): Promise<void> {
  const end = realClock.now() + ms;
  while (!(await cond())) {
    if (realClock.now() > end) throw new Error(`timed out after ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export type { Netmap };
