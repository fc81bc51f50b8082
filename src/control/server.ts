// The coordinator: HTTPS (Fastify) with the admin API, /openapi.json, /metrics and /health, and
// the agent channel (WebSocket upgrade on /agent/v1, handled by AgentChannel). Keys and the
// listener certificate live under the data directory; the store is SQLite there by default.
import { randomBytes } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import { fastify, type FastifyError, type FastifyInstance, type FastifyRequest } from 'fastify';
import swagger from '@fastify/swagger';
import { WebSocketServer } from 'ws';
import { realClock, Timer, type Clock, type TimerHandle } from '../clock/index.ts';
import { Store, parseDatabaseConfig, type Membership, type TimerHint } from '../store/index.ts';
import { AGENT_CHANNEL_PATH, DRAIN_CLOSE_CODE, MAX_MESSAGE_BYTES } from '../proto/control/index.ts';
import { AgentChannel } from './agent-channel.ts';
import { preMessageHash } from './channel-noise.ts';
import { Hub } from './hub.ts';
import { loadOrCreateKeys, type CoordinatorKeys, type ListenerTls } from './keys.ts';
import { createLogger, type Logger } from './logger.ts';
import { createMetrics, type ControlMetrics } from './metrics.ts';
import { registerApi } from './api/index.ts';
import { errorSchema } from './routes/parts.ts';
import { errorAnswer } from './http-errors.ts';
import { loadOrCreatePki, type CoordinatorPki } from './pki.ts';
import { createAuditSigner, type CoordinatorAuditSigner } from './audit-signer.ts';
import { AccessService } from './access.ts';
import { registerAccessApi } from './access-api/index.ts';
import { registerAlertsApi } from './alerts-api.ts';
import { StandingGrants } from './standing.ts';
import { RevocationPublisher } from './revocations.ts';
import { registerLoginThrottle } from './login-throttle.ts';
import { DeviceLoginGuard } from './device-login.ts';
import { RefusalAudit, REFUSAL_WINDOW_MS } from './refusal-audit.ts';
import { Webhooks } from './webhooks.ts';
import { registerManagementApi } from './management-api.ts';
import { registerConsole } from './console/index.ts';
import { SessionAuth } from './bearer.ts';
import { IdentityProvider } from './oidc/idp.ts';
import { registerSso } from './oidc/routes.ts';
import { registerCustomerApi } from './customer-api/index.ts';
import { follow, type CertSource } from '../certs/index.ts';
import { bearerMatches, METRICS_REFUSED, serveMetrics } from '../util/metrics-http.ts';
import { NetmapFanout } from './fanout.ts';
import { LocalTimers, TimerLock, type TimerGate } from './timer-owner.ts';
import { checkOptions, instanceName, type CoordinatorOptions } from './options.ts';
import { openListenerCerts, tlsHealth } from './listener-certs.ts';

export type { CoordinatorOptions } from './options.ts';

export class Coordinator {
  readonly store: Store;
  readonly hub: Hub;
  readonly keys: CoordinatorKeys;
  /** The listener's certificate source (self-signed, files or ACME). */
  readonly certs: CertSource;
  readonly metrics: ControlMetrics;
  readonly logger: Logger;
  readonly app: FastifyInstance;
  readonly pki: CoordinatorPki;
  readonly access: AccessService;
  readonly webhooks: Webhooks;
  /** Signs audit checkpoints over heads that extend its anchor (DIR/audit-anchor.json). */
  readonly auditSigner: CoordinatorAuditSigner;
  /** Keeps the policies' standing grants (machine identities) in the store. */
  readonly standing: StandingGrants;
  /** The per-user bound on refusal records; its summaries are flushed every window. */
  readonly refusals: RefusalAudit;
  readonly #refusalFlush: Timer;
  #stopping = false;
  /** Pushes the signed list of nodes that lost access to the relays. */
  readonly revocations: RevocationPublisher;
  /** This coordinator's name among several on one database. */
  readonly instance: string;
  /** Who runs the timers: always this one on SQLite; the advisory-lock holder on PostgreSQL. */
  readonly timers: TimerGate & { start?(): Promise<void>; stop?(): Promise<void> };
  /** Netmap changes to and from other coordinators (PostgreSQL only). */
  readonly fanout: NetmapFanout | undefined;
  readonly #wss: WebSocketServer;
  #metricsListener: { port: number; close: () => Promise<void> } | undefined;
  #unfollow: (() => void) | undefined;
  #port = 0;
  #host = '';
  #drainMs = 2000;
  readonly #clock: Clock;

  private constructor(parts: {
    store: Store;
    hub: Hub;
    keys: CoordinatorKeys;
    certs: CertSource;
    metrics: ControlMetrics;
    logger: Logger;
    app: FastifyInstance;
    wss: WebSocketServer;
    pki: CoordinatorPki;
    access: AccessService;
    webhooks: Webhooks;
    refusals: RefusalAudit;
    revocations: RevocationPublisher;
    auditSigner: CoordinatorAuditSigner;
    instance: string;
    timerLockPollMs: number | undefined;
    fanoutRetryMs: number | undefined;
  }) {
    this.instance = parts.instance;
    this.refusals = parts.refusals;
    this.#refusalFlush = new Timer(parts.access.clock, () => void this.#flushRefusals());
    this.revocations = parts.revocations;
    this.auditSigner = parts.auditSigner;
    this.pki = parts.pki;
    this.access = parts.access;
    this.webhooks = parts.webhooks;
    this.store = parts.store;
    this.hub = parts.hub;
    this.keys = parts.keys;
    this.certs = parts.certs;
    this.metrics = parts.metrics;
    this.logger = parts.logger;
    this.app = parts.app;
    this.#wss = parts.wss;
    const clock = parts.access.clock;
    this.#clock = clock;
    const gate = { owns: () => this.timers.owns(), hint: (h: TimerHint) => this.timers.hint(h) };
    this.standing = new StandingGrants({
      store: parts.store,
      hub: parts.hub,
      clock,
      logger: parts.logger.child({ component: 'standing' }),
      gate,
    });
    if (!parts.store.isPostgres) {
      this.timers = new LocalTimers(this.instance);
      this.fanout = undefined;
      return;
    }
    const log = parts.logger.child({ component: 'cluster', instance: this.instance });
    this.fanout = new NetmapFanout({
      store: parts.store,
      hub: parts.hub,
      clock,
      logger: log,
      metrics: parts.metrics,
      instance: this.instance,
      onHint: (h) => {
        if (!this.timers.owns()) return;
        if (h === 'access') void this.access.arm();
        else void this.standing.reconcile();
      },
      onReconnect: () => this.#ownerResweep(),
      ...(parts.fanoutRetryMs ? { retryMinMs: parts.fanoutRetryMs } : {}),
    });
    this.timers = new TimerLock({
      store: parts.store,
      clock,
      logger: log,
      metrics: parts.metrics,
      instance: this.instance,
      ...(parts.timerLockPollMs ? { pollMs: parts.timerLockPollMs } : {}),
      onAcquire: () => this.#ownerResweep(),
      onLose: () => {
        void this.access.arm();
        this.standing.pause();
      },
      onOwnerMaintenance: async () => {
        await this.fanout?.prune();
      },
    });
  }

  /** As the timer owner: sweep due deadlines, re-arm, reconcile standing grants. */
  #ownerResweep(): void {
    if (this.#stopping || !this.timers.owns()) return;
    void this.access.sweep();
    void this.standing.reconcile();
  }

  /** The certificate served now, with its fingerprint (it changes at each renewal or reload). */
  get tls(): ListenerTls {
    const pair = this.certs.current();
    return { cert: pair.cert, key: pair.key, fingerprint: this.certs.status().current.fingerprint };
  }

  /** The port of the separate /metrics listener, when there is one. */
  get metricsPort(): number | undefined {
    return this.#metricsListener?.port;
  }

  /** https://host:port */
  get url(): string {
    return `https://${this.#host.includes(':') ? `[${this.#host}]` : this.#host}:${this.#port}`;
  }
  get port(): number {
    return this.#port;
  }
  /** The agent-channel static key agents pin, base64. */
  get publicKey(): string {
    return this.keys.staticKey.publicKey.base64();
  }

  static async start(opts: CoordinatorOptions): Promise<Coordinator> {
    const clock = opts.clock ?? realClock;
    const instance = instanceName(opts);
    const logger = opts.logger ?? createLogger();
    const listen = opts.listen ?? { host: '127.0.0.1', port: 8443 };
    checkOptions(opts);
    const keys = loadOrCreateKeys(opts.dataDir);
    const metrics = createMetrics();
    const certs = await openListenerCerts(opts, listen, clock, logger, metrics);
    const pki = await loadOrCreatePki(opts.dataDir, clock);
    const auditSigner = createAuditSigner(keys.auditKey, clock, opts.auditCheckpointEvery, {
      dataDir: opts.dataDir,
      logger: logger.child({ component: 'audit' }),
      metrics,
    });
    const refusals = new RefusalAudit({ clock, onSuppressed: () => metrics.auditRefusalsSuppressed.inc() });
    const store = await Store.open(parseDatabaseConfig(opts.db ?? join(opts.dataDir, 'coordinator.db')), {
      clock,
      auditSigner,
      refusalAudit: refusals,
      ...(opts.scrypt ? { scrypt: opts.scrypt } : {}),
    });
    let c: Coordinator | undefined;
    try {
      // A database rewritten while the coordinator was down alarms now, not at the next checkpoint.
      await store.checkAuditAnchor();
      await bootstrap(store, opts, logger);
      c = Coordinator.#assemble(opts, {
        clock,
        instance,
        logger,
        keys,
        metrics,
        certs,
        pki,
        auditSigner,
        refusals,
        store,
      });
      await c.#routes(opts, clock);
      // Listening for other coordinators' changes before any agent attaches: none is missed.
      await c.fanout?.start();
      c.#acceptAgents(opts.maxChannels ?? 20_000);
      await c.#listen(opts, listen);
      return c;
    } catch (e) {
      await c?.timers.stop?.();
      await c?.fanout?.stop();
      await store.close();
      await certs.stop();
      throw e;
    }
  }

  /** The hub, webhooks, access service, HTTP app and agent-channel server around an open store. */
  static #assemble(
    opts: CoordinatorOptions,
    p: {
      clock: Clock;
      instance: string;
      logger: Logger;
      keys: CoordinatorKeys;
      metrics: ControlMetrics;
      certs: CertSource;
      pki: CoordinatorPki;
      auditSigner: CoordinatorAuditSigner;
      refusals: RefusalAudit;
      store: Store;
    },
  ): Coordinator {
    const { clock, logger, keys, metrics, store, auditSigner } = p;
    // The coordinator these parts make, for the callbacks that run once it exists.
    const made: { c?: Coordinator } = {};
    const hub = new Hub({
      store,
      clock,
      suffix: opts.suffix,
      relays: opts.relays ?? [],
      signingKey: keys.signingKey,
      logger: logger.child({ component: 'hub' }),
      metrics,
      audit: { publicKey: auditSigner.publicKey, latest: auditSigner.latest },
    });
    auditSigner.onCheckpoint((cp) => hub.checkpoint(cp));
    const webhooks = new Webhooks({
      urls: opts.webhooks ?? [],
      clock,
      ...(opts.webhookCa ? { ca: opts.webhookCa } : {}),
      onDrop: (reason) => logger.warn({ reason }, 'webhook notification dropped'),
      consoleUrl: () => (opts.console === false ? undefined : (opts.publicUrl ?? made.c?.url)),
    });
    const access = new AccessService({
      store,
      hub,
      clock,
      logger: logger.child({ component: 'access' }),
      webhooks,
      gate: { owns: () => made.c?.timers.owns() ?? false, hint: (h) => made.c?.timers.hint(h) },
    });
    const tls = p.certs.current();
    const app = fastify({
      https: { cert: tls.cert, key: tls.key },
      loggerInstance: logger.child({ component: 'api' }),
      bodyLimit: opts.bodyLimit ?? 64 * 1024,
      ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: false } },
      return503OnClosing: true,
    });
    const wss = new WebSocketServer({
      noServer: true,
      maxPayload: MAX_MESSAGE_BYTES + 64,
      perMessageDeflate: false,
    });
    const c = new Coordinator({
      ...p,
      hub,
      app: app as unknown as FastifyInstance,
      wss,
      access,
      webhooks,
      revocations: new RevocationPublisher({
        store,
        relays: opts.relays ?? [],
        signingKey: keys.signingKey,
        clock,
        logger: logger.child({ component: 'revocations' }),
        metrics,
        ...(opts.relayCa ? { ca: opts.relayCa } : {}),
        ...(opts.revocationPushMs ? { intervalMs: opts.revocationPushMs } : {}),
      }),
      timerLockPollMs: opts.timerLockPollMs,
      fanoutRetryMs: opts.fanoutRetryMs,
    });
    made.c = c;
    // A node or user change may take a node's access away: tell the relays now.
    hub.onChange((ch) => {
      if ((ch.type === 'node' && ch.node.revokedAt !== null) || ch.type === 'user') c.revocations.kick();
    });
    return c;
  }

  /** Takes agent-channel upgrades on AGENT_CHANNEL_PATH (at most maxChannels at once; none while draining). */
  #acceptAgents(maxChannels: number): void {
    const { store, hub, keys, pki, logger, metrics } = this;
    const wss = this.#wss;
    const h1 = preMessageHash(keys.staticKey.publicKey);
    this.app.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      const path = (req.url ?? '').split('?')[0];
      if (this.#stopping) {
        // Draining: agents go to another coordinator.
        metrics.channelRefusals.inc({ reason: 'draining' });
        socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
        return;
      }
      if (path !== AGENT_CHANNEL_PATH || wss.clients.size >= maxChannels) {
        metrics.channelRefusals.inc({
          reason: path !== AGENT_CHANNEL_PATH ? 'bad-path' : 'too-many-channels',
        });
        socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
        return;
      }
      // Dead agents (vanished NAT state, powered-off hosts) are found by TCP keepalive.
      req.socket.setKeepAlive(true, 30_000);
      wss.handleUpgrade(req, socket, head, (ws) => {
        new AgentChannel(
          ws,
          {
            store,
            hub,
            clock: this.#clock,
            staticKey: keys.staticKey,
            h1,
            pki,
            logger: logger.child({ component: 'channel' }),
            metrics,
          },
          req.socket.remoteAddress ?? '?',
        );
      });
    });
  }

  /** Listens, follows certificate renewals, then starts the timers and background work. */
  async #listen(opts: CoordinatorOptions, listen: { host: string; port: number }): Promise<void> {
    const { app, certs } = this;
    await app.listen({ host: listen.host, port: listen.port });
    // New handshakes get each renewed or reloaded certificate; open connections keep theirs.
    this.#unfollow = follow(app.server as unknown as Parameters<typeof follow>[0], certs);
    if (opts.metrics?.listen)
      this.#metricsListener = await serveMetrics(this.metrics.registry, opts.metrics.listen);
    const addr = app.server.address();
    this.#port = typeof addr === 'object' && addr ? addr.port : listen.port;
    this.#host = listen.host;
    if (opts.drainMs !== undefined) this.#drainMs = opts.drainMs;
    await this.timers.start?.();
    await this.access.sweep();
    this.logger.info(
      { url: this.url, publicKey: this.publicKey, tlsFingerprint: certs.status().current.fingerprint },
      'coordinator listening',
    );
    this.standing.start();
    this.#refusalFlush.mod(REFUSAL_WINDOW_MS);
    this.revocations.start();
  }

  async #routes(opts: CoordinatorOptions, clock: Clock): Promise<void> {
    const { app } = this;
    await app.register(swagger, {
      openapi: {
        info: { title: 'sallyport coordinator', version: '1' },
        components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
        security: [{ bearer: [] }],
      },
    });
    this.#errorAnswers();
    this.#serviceRoutes(opts);
    registerLoginThrottle(app, {
      clock,
      onThrottled: () => this.metrics.apiRefusals.inc({ code: 'RATE_LIMITED' }),
    });
    const idp = opts.oidc ? await IdentityProvider.discover(opts.oidc) : undefined;
    const membershipsChanged = async (changed: readonly Membership[]) => {
      for (const m of changed) await this.hub.changed({ type: 'membership', ...m });
    };
    const auth = new SessionAuth({
      store: this.store,
      clock,
      idp,
      membershipsChanged,
      ...(opts.approvalMaxAgeMs !== undefined ? { approvalMaxAgeMs: opts.approvalMaxAgeMs } : {}),
      idpUnreachable: (err) => this.logger.warn({ err: err.message }, 'identity provider unreachable'),
    });
    const codeTtlMs = opts.deviceCodeTtlMs ?? 10 * 60_000;
    const tokenTtlMs = opts.tokenTtlMs ?? 12 * 3600_000;
    registerSso(app, {
      store: this.store,
      auth,
      idp,
      clock,
      logger: this.logger.child({ component: 'sso' }),
      publicUrl: opts.publicUrl,
      sessionTtlMs: tokenTtlMs,
      deviceGuard: new DeviceLoginGuard({ clock, coordinatorKey: this.keys.staticKey, codeTtlMs }),
      membershipsChanged,
    });
    this.#adminApi(auth, opts, clock, { codeTtlMs, tokenTtlMs });
    this.#otherApis(auth, opts, clock, tokenTtlMs);
  }

  /** Every refusal as `{ error: { code, message } }`, counted; a signed-in user's 403 audited. */
  #errorAnswers(): void {
    const { app, metrics } = this;
    app.setErrorHandler(async (err: FastifyError, req, reply) => {
      const { status, code, message } = errorAnswer(err);
      if (status >= 500) req.log.error({ err }, 'request failed');
      metrics.apiRefusals.inc({ code });
      if (status === 403 && req.user) await this.#auditRefusal(req, code, message);
      return reply.code(status).send({ error: { code, message } });
    });
    app.setNotFoundHandler((req, reply) => {
      metrics.apiRefusals.inc({ code: 'NOT_FOUND' });
      void reply
        .code(404)
        .send({ error: { code: 'NOT_FOUND', message: `no route ${req.method} ${req.url.split('?')[0]}` } });
    });
    app.addHook('onResponse', async (req, reply) => {
      metrics.apiRequests.inc({ route: req.routeOptions.url ?? 'unknown', status: String(reply.statusCode) });
    });
  }

  /** /metrics (text, behind its token) and /openapi.json: not API routes, not in the route table. */
  #serviceRoutes(opts: CoordinatorOptions): void {
    const { app, metrics } = this;
    const metricsToken = opts.metrics?.token;
    app.get(
      '/metrics',
      { schema: { hide: true, response: { 200: { type: 'string' }, '4xx': { type: 'string' } } } },
      async (req, reply) => {
        if (metricsToken === undefined || !bearerMatches(req.headers.authorization, metricsToken)) {
          metrics.apiRefusals.inc({ code: 'METRICS_REFUSED' });
          void reply.code(metricsToken === undefined ? 403 : 401).type('text/plain');
          return METRICS_REFUSED;
        }
        void reply.type(metrics.registry.contentType);
        return metrics.registry.metrics();
      },
    );
    app.get(
      '/openapi.json',
      {
        schema: {
          hide: true,
          response: { 200: { type: 'object', additionalProperties: true }, '4xx': errorSchema },
        },
      },
      async () => app.swagger(),
    );
  }

  #adminApi(
    auth: SessionAuth,
    opts: CoordinatorOptions,
    clock: Clock,
    ttl: { codeTtlMs: number; tokenTtlMs: number },
  ): void {
    registerApi(this.app, {
      auth,
      store: this.store,
      hub: this.hub,
      suffix: opts.suffix,
      publicKey: this.publicKey,
      signingKey: this.keys.signingKey.verifyKey.base64(),
      auditKey: this.keys.auditKey.verifyKey.base64(),
      auditState: () => this.auditSigner.state(),
      tlsState: () => tlsHealth(this.certs.status()),
      clusterState: () => ({
        timers: this.timers.state(),
        ...(this.fanout ? { fanout: this.fanout.state() } : {}),
      }),
      rootCaPem: this.pki.root.certPem,
      tokenTtlMs: ttl.tokenTtlMs,
      deviceCodeTtlMs: ttl.codeTtlMs,
      verificationUri: 'sallyport admin device approve CODE',
      deviceGuard: new DeviceLoginGuard({
        clock,
        coordinatorKey: this.keys.staticKey,
        codeTtlMs: ttl.codeTtlMs,
      }),
    });
  }

  /** The access, alerts, customer and management APIs, and the console. */
  #otherApis(auth: SessionAuth, opts: CoordinatorOptions, clock: Clock, tokenTtlMs: number): void {
    const { app, store, metrics } = this;
    registerAccessApi(app, {
      auth,
      store,
      access: this.access,
      pki: this.pki,
      clock,
      policyChanged: () => void this.standing.reconcile(),
    });
    registerAlertsApi(app, {
      auth,
      store,
      metrics,
      notify: (notices) => {
        this.webhooks.enqueue(notices);
        // The console reloads its incident list on these, as on access changes.
        for (const n of notices) this.access.events.emit({ topic: n.topic, subject: n.subject, at: n.at });
      },
    });
    registerCustomerApi(app, {
      auth,
      store,
      access: this.access,
      consoleUrl: () => opts.publicUrl ?? this.url,
    });
    registerManagementApi(app, {
      auth,
      store,
      hub: this.hub,
      notify: (notices, also) => this.webhooks.enqueue(notices, also),
    });
    if (opts.console !== false)
      registerConsole(app, {
        store,
        auth,
        clock,
        auditKey: this.keys.auditKey.verifyKey,
        sessionTtlMs: tokenTtlMs,
      });
  }

  /** Audits a signed-in user's refused API call (bounded per user); a failure is logged, not thrown. */
  async #auditRefusal(req: FastifyRequest, code: string, reason: string): Promise<void> {
    const route = req.routeOptions.url ?? req.url.split('?')[0];
    try {
      await this.store.recordRefusal({
        actor: `user:${req.user!.name}`,
        action: 'api.refuse',
        subject: `route:${req.method} ${route}`,
        details: { method: req.method, route, code, reason },
      });
    } catch (err) {
      this.logger.error({ err }, 'could not audit a refused API call');
    }
  }

  /** Writes the summaries of refusal windows that have ended; re-arms every window. */
  async #flushRefusals(all = false): Promise<void> {
    try {
      await this.store.recordAuditEntries(all ? this.refusals.flushAll() : this.refusals.flush());
    } catch (err) {
      this.logger.error({ err }, 'could not audit suppressed refusals');
    }
    if (!all && !this.#stopping) this.#refusalFlush.mod(REFUSAL_WINDOW_MS);
  }

  /**
   * Tells every connected agent to move to another coordinator (close 1012, which agents answer by
   * reconnecting to the next URL they hold at once) and waits up to drainMs for the channels to
   * close; the rest are cut.
   */
  async #drainAgents(): Promise<void> {
    const open = [...this.#wss.clients];
    if (open.length)
      this.logger.info({ agents: open.length }, 'draining: agents move to another coordinator');
    const closed = open.map((ws) => new Promise<void>((r) => ws.once('close', () => r())));
    for (const ws of open) ws.close(DRAIN_CLOSE_CODE, 'coordinator draining');
    let timer: TimerHandle | undefined;
    await Promise.race([
      Promise.all(closed),
      new Promise<void>((r) => (timer = this.#clock.setTimeout(r, this.#drainMs))),
    ]);
    if (timer) this.#clock.clearTimeout(timer);
    for (const ws of this.#wss.clients) ws.terminate();
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    this.#refusalFlush.del();
    await this.revocations.stop();
    await this.standing.stop();
    await this.access.stop();
    // The lock goes with its session: another coordinator takes the timers over at its next poll.
    await this.timers.stop?.();
    await this.#drainAgents();
    this.hub.stop();
    await new Promise<void>((r) => this.#wss.close(() => r()));
    await this.app.close();
    this.#unfollow?.();
    await this.certs.stop();
    await this.#metricsListener?.close();
    await this.#flushRefusals(true);
    // Changes made while closing are published before the store closes.
    await this.fanout?.stop();
    await this.store.close();
  }
}

async function bootstrap(store: Store, opts: CoordinatorOptions, logger: Logger): Promise<void> {
  if ((await store.countUsers()) > 0) return;
  if (opts.bootstrapAdmin) {
    await store.createUser('system', { ...opts.bootstrapAdmin, admin: true });
    return;
  }
  const password = randomBytes(18).toString('base64url');
  const file = join(opts.dataDir, 'initial-admin-password');
  await store.createUser('system', { name: 'admin', password, admin: true });
  if (!existsSync(file)) writeFileSync(file, `${password}\n`, { mode: 0o600 });
  logger.warn(
    { file },
    'created user "admin"; its password is in this file (0600): log in, then delete the file',
  );
}
