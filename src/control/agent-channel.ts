// One agent channel on the coordinator side, as a state machine over WebSocket messages:
//
//   AwaitingHello ──msg 1 (Noise IK, hello)──► Admitting ──welcome──► Open ──close──► Closed
//        │                                      │ refusal
//        └── bad/unauthenticated msg 1, timeout ─┴──────────────────────────────► Closed
//
// Messages are handled one at a time, in order. Anything malformed closes the channel and is
// counted by reason (I10); a refusal is sent inside the encrypted message 2 so that the agent
// learns why.
import type { WebSocket } from 'ws';
import { Timer, type Clock } from '../clock/index.ts';
import type { PrivateKey } from '../crypto/index.ts';
import { StoreError, type NodeRecord, type Store } from '../store/index.ts';
import {
  ControlProtoError,
  decodeAgentMessage,
  encodeServerMessage,
  CONTROL_VERSION,
  FEATURE_ANCHORS,
  FEATURE_NOTICES,
  type AgentMessage,
  type ChannelCipher,
  type Hello,
  type RefusalCode,
  type ServerMessage,
} from '../proto/control/index.ts';
import { accept, respond } from './channel-noise.ts';
import type { Hub, Session } from './hub.ts';
import { PkiError } from '../pki/index.ts';
import { issueGrantCert, issueServiceCert, type CoordinatorPki } from './pki.ts';
import type { Logger } from './logger.ts';
import type { ControlMetrics } from './metrics.ts';

export const HELLO_TIMEOUT_MS = 10_000;
/** Messages received but not yet handled, per channel, before the channel is dropped. */
export const MAX_PENDING_MESSAGES = 64;

export interface ChannelDeps {
  store: Store;
  hub: Hub;
  clock: Clock;
  staticKey: PrivateKey;
  h1: Uint8Array;
  pki: CoordinatorPki;
  logger: Logger;
  metrics: ControlMetrics;
}

const REFUSAL_OF: Record<string, RefusalCode> = {
  AUTH: 'PREAUTH_INVALID',
  EXPIRED: 'PREAUTH_EXPIRED',
  EXHAUSTED: 'PREAUTH_USED',
  REVOKED: 'PREAUTH_REVOKED',
  INVALID: 'WRONG_KIND',
  CONFLICT: 'PREAUTH_INVALID',
};

class Refusal extends Error {
  constructor(
    readonly code: RefusalCode,
    message: string,
  ) {
    super(message);
  }
}

/** Activity reports a connector's channel may send per minute (the local audit keeps them all). */
export const ACTIVITY_PER_MINUTE = 600;

export class AgentChannel {
  #activityWindow = 0;
  #activityCount = 0;
  #state: 'hello' | 'admitting' | 'open' | 'closed' = 'hello';
  #cipher: ChannelCipher | undefined;
  #session: Session | undefined;
  #node: NodeRecord | undefined;
  #queue: Promise<void> = Promise.resolve();
  #pending = 0;
  /** Registrations of the hello refused as takeovers: reported once the channel is open. */
  #helloRefused: { name: string; holder: string }[] = [];
  readonly #timer: Timer;
  readonly #ws: WebSocket;
  readonly #d: ChannelDeps;
  #log: Logger;

  constructor(ws: WebSocket, deps: ChannelDeps, remote: string) {
    this.#ws = ws;
    this.#d = deps;
    this.#log = deps.logger.child({ remote });
    this.#timer = new Timer(deps.clock, () => this.#drop('hello-timeout'));
    this.#timer.mod(HELLO_TIMEOUT_MS);
    ws.on('message', (data, isBinary) => {
      if (!isBinary) return this.#drop('text-message');
      // Messages are handled in order; an agent that outruns the coordinator is cut off.
      if (this.#pending >= MAX_PENDING_MESSAGES) return this.#drop('flood');
      const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
      this.#pending++;
      this.#queue = this.#queue
        .then(() => this.#onMessage(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)))
        .finally(() => this.#pending--);
    });
    ws.on('close', () => this.#closed());
    ws.on('error', () => this.#closed());
  }

  async #onMessage(b: Uint8Array): Promise<void> {
    if (this.#state === 'closed') return;
    try {
      if (this.#state === 'hello') return await this.#onHello(b);
      if (this.#state !== 'open' || !this.#cipher) return this.#drop('unexpected-message');
      const r = this.#cipher.open(b);
      if (!r.ok) return this.#drop(r.code.toLowerCase());
      let msg: AgentMessage;
      try {
        msg = decodeAgentMessage(r.plaintext);
      } catch (e) {
        if (!(e instanceof ControlProtoError)) throw e;
        this.#send({ type: 'error', code: e.code, message: e.message });
        return this.#drop(e.code.toLowerCase());
      }
      await this.#handle(msg);
    } catch (err) {
      this.#log.error({ err }, 'agent channel failed');
      this.#drop('internal');
    }
  }

  async #onHello(b: Uint8Array): Promise<void> {
    this.#state = 'admitting';
    this.#timer.del();
    const a = accept(this.#d.staticKey, b, this.#d.h1);
    if (!a) return this.#drop('bad-handshake');
    const fp = a.nodeKey.fingerprint();
    this.#log = this.#log.child({ node: fp });
    let reply;
    let node: NodeRecord | undefined;
    try {
      if ('error' in a) throw new Refusal('BAD_HELLO', a.error.message);
      node = await this.#admit(a.nodeKey.base64(), a.hello);
      reply = respond(a.state, {
        type: 'welcome',
        version: CONTROL_VERSION,
        nodeId: node.id,
        name: node.name,
        kind: node.kind,
        expiresAt: node.expiresAt,
        serverTime: Math.floor(this.#d.clock.wallMs()),
      });
    } catch (e) {
      if (!(e instanceof Refusal)) throw e;
      this.#d.metrics.channelRefusals.inc({ reason: e.code });
      this.#log.warn({ reason: e.code }, `agent refused: ${e.message}`);
      const r = respond(a.state, { type: 'refused', code: e.code, message: e.message });
      this.#ws.send(r.message, () => this.#ws.close(4003, e.code));
      this.#state = 'closed';
      return;
    }
    if (this.#state !== 'admitting') return; // closed meanwhile
    this.#cipher = reply.cipher;
    this.#node = node;
    this.#ws.send(reply.message);
    this.#state = 'open';
    this.#log.info({ kind: node.kind, name: node.name }, 'agent channel open');
    this.#session = await this.#d.hub.attach(
      node,
      (m) => this.#send(m),
      (reason) => this.#close(4000, reason),
      {
        anchors: node.kind === 'connector' && (a.hello.features ?? []).includes(FEATURE_ANCHORS),
        notices: node.kind === 'connector' && (a.hello.features ?? []).includes(FEATURE_NOTICES),
      },
    );
    this.#refuseTakeovers(this.#helloRefused);
    this.#helloRefused = [];
  }

  /** Admission: a known live node key, or first enrollment with a pre-auth key. */
  async #admit(key: string, hello: Hello): Promise<NodeRecord> {
    const { store, hub } = this.#d;
    let node = await store.getNodeByKey(key);
    let enrolled = false;
    if (node) {
      if (node.revokedAt !== null)
        throw new Refusal('NODE_REVOKED', 'this node key was revoked; enroll a new key');
      if (node.expiresAt <= store.now())
        throw new Refusal('NODE_EXPIRED', 'this node key expired; enroll a new key');
      if (node.kind !== hello.kind) throw new Refusal('WRONG_KIND', `this node is enrolled as ${node.kind}`);
    } else if (hello.preauthKey !== undefined) {
      try {
        node = await store.enrollWithPreauthKey({
          key: hello.preauthKey,
          nodeKey: key,
          kind: hello.kind,
          name: hello.name,
        });
      } catch (e) {
        if (e instanceof StoreError && e.code in REFUSAL_OF) throw new Refusal(REFUSAL_OF[e.code], e.message);
        throw e;
      }
      enrolled = true;
      this.#d.metrics.enrollments.inc({ kind: node.kind });
    } else throw new Refusal('UNKNOWN_NODE', 'unknown node key: enroll with a pre-auth key or device login');
    let servicesChanged = false;
    if (node.kind === 'connector' && hello.services) {
      this.#helloRefused = (await store.registerServices(node, hello.services)).refused;
      servicesChanged = true;
    }
    if (enrolled || servicesChanged)
      await hub.changed({ type: 'node', node, previousPeers: [], servicesChanged });
    return node;
  }

  async #handle(m: AgentMessage): Promise<void> {
    const node = this.#node!;
    const { store, hub } = this.#d;
    switch (m.type) {
      case 'ping':
        return this.#send(m.id === undefined ? { type: 'pong' } : { type: 'pong', id: m.id });
      case 'endpoints': {
        await store.touchNode(node.id, {
          endpoints: m.endpoints,
          ...(m.homeRelay !== undefined ? { homeRelay: m.homeRelay } : {}),
        });
        return hub.changed({ type: 'node', node, previousPeers: this.#peers() });
      }
      case 'services': {
        if (node.kind !== 'connector') {
          this.#send({
            type: 'error',
            code: 'NOT_A_CONNECTOR',
            message: 'only connectors register services',
          });
          return;
        }
        const prev = this.#peers();
        const r = await store.registerServices(node, m.services);
        this.#refuseTakeovers(r.refused);
        return hub.changed({ type: 'node', node, previousPeers: prev, servicesChanged: true });
      }
      case 'csr':
        return this.#csr(m);
      case 'paths': {
        // Kept only for peers this node may see (its netmap), in memory, for the console.
        const session = this.#session;
        if (!session) return;
        const allowed = new Set(session.netmap?.peers.map((p) => p.key) ?? []);
        session.paths = { at: this.#d.clock.wallMs(), peers: m.peers.filter((p) => allowed.has(p.key)) };
        return;
      }
      case 'activity': {
        // As for usage: only a connector, about a grant on its own deployment covering the
        // service; at most ACTIVITY_PER_MINUTE per channel (the rest stays in the local audit).
        const now = this.#d.clock.wallMs();
        if (now - this.#activityWindow >= 60_000) {
          this.#activityWindow = now;
          this.#activityCount = 0;
        }
        if (++this.#activityCount > ACTIVITY_PER_MINUTE) {
          this.#d.metrics.channelRefusals.inc({ reason: 'activity-rate' });
          return;
        }
        if (!(await this.#reportCovered(node, m.grant, m.service))) return;
        await store.recordAudit(`node:${node.publicKey}`, {
          action: m.kind === 'stream' ? 'grant.stream' : 'grant.query',
          subject: `grant:${m.grant}`,
          details: { service: m.service, at: m.at, ...m.detail },
        });
        return;
      }
      case 'usage': {
        // Only a connector, about a grant on its own deployment covering that service. The
        // summary usually comes at the grant's end, when the grant has left the netmap already.
        if (!(await this.#reportCovered(node, m.grant, m.service))) return;
        await store.recordAudit(`node:${node.publicKey}`, {
          action: 'grant.usage',
          subject: `grant:${m.grant}`,
          details: { service: m.service, queries: m.queries, failures: m.failures },
        });
        return;
      }
    }
  }

  /**
   * Whether a connector may report about `grant` on `service`: a grant on its own deployment
   * covering that service (it may have left the netmap already: reports come at the end). Else
   * the connector is told (UNKNOWN_GRANT) and the report is dropped.
   */
  async #reportCovered(node: NodeRecord, grant: string, service: string): Promise<boolean> {
    const g = node.kind === 'connector' ? await this.#d.store.getGrant(grant) : undefined;
    const covers =
      g !== undefined &&
      g.deploymentId === node.deploymentId &&
      (g.services.length === 0 || g.services.includes(service));
    if (!covers)
      this.#send({
        type: 'error',
        code: 'UNKNOWN_GRANT',
        message: `no grant ${grant} for ${service} on this deployment`,
      });
    return covers;
  }

  /**
   * Certificates for keys made on the agent (I9): a connector's server certificate for one of its
   * services' tailnet names (service CA), or an engineer's client certificate for one of its
   * active grants (access CA; CN = user, SAN URI = sallyport:grant:<id>). Each issuance is audited.
   */
  async #csr(m: Extract<AgentMessage, { type: 'csr' }>): Promise<void> {
    const node = this.#node!;
    const map = this.#session?.netmap;
    const fail = (code: string, message: string) => this.#send({ type: 'error', code, message, id: m.id });
    const { pki, clock, store, metrics } = this.#d;
    try {
      let cert;
      let subject: string;
      if (m.service !== undefined) {
        if (node.kind !== 'connector')
          return fail('NOT_A_CONNECTOR', 'only connectors get service certificates');
        const svc = map?.services.find((s) => s.name === m.service && s.connectorKey === node.publicKey);
        if (!svc) return fail('UNKNOWN_SERVICE', `this connector does not serve ${m.service}`);
        subject = svc.tailnetName;
        cert = await issueServiceCert(pki, {
          csrPem: m.csr,
          tailnetName: svc.tailnetName,
          nodeExpiresAt: node.expiresAt,
          clock,
        });
      } else {
        if (node.kind !== 'engineer')
          return fail('NOT_AN_ENGINEER', 'only engineer nodes get client certificates');
        const grant = map?.grants.find((g) => g.id === m.grant);
        if (!grant || !grant.user) return fail('UNKNOWN_GRANT', `no active grant ${m.grant} for this node`);
        subject = `sallyport:grant:${grant.id}`;
        cert = await issueGrantCert(pki, {
          csrPem: m.csr,
          user: grant.user,
          grantId: grant.id,
          grantEnd: grant.notAfter,
          nodeExpiresAt: node.expiresAt,
          clock,
        });
      }
      await store.recordAudit(`node:${node.publicKey}`, {
        action: m.service !== undefined ? 'certificate.service' : 'certificate.client',
        subject,
        details: { serial: cert.serial, notAfter: cert.notAfterMs },
      });
      metrics.certificates.inc({ kind: m.service !== undefined ? 'service' : 'client' });
      this.#log.info({ subject, serial: cert.serial }, 'certificate issued');
      this.#send({
        type: 'certificate',
        id: m.id,
        ...(m.service !== undefined ? { service: m.service } : { grant: m.grant! }),
        chainPem: cert.chainPem,
        rootPem: pki.root.certPem,
        ...(m.service !== undefined ? { accessCaPem: pki.access.certPem } : {}),
        notAfter: cert.notAfterMs,
      });
    } catch (e) {
      if (e instanceof PkiError) return fail('BAD_CSR', e.message);
      throw e;
    }
  }

  /** Tells the connector which of its services another live connector holds (it logs and shows them). */
  #refuseTakeovers(refused: readonly { name: string; holder: string }[]): void {
    for (const r of refused) {
      this.#d.metrics.takeoversRefused.inc();
      this.#log.warn({ service: r.name, holder: r.holder.slice(0, 8) }, 'service takeover refused');
      this.#send({
        type: 'error',
        code: 'SERVICE_TAKEN',
        service: r.name,
        message:
          `service ${r.name} is served by another connector of this deployment (key ${r.holder.slice(0, 8)}); ` +
          'it is not registered here. Revoke that connector, or have an administrator bind the service ' +
          `to this one: sallyport admin services bind <deployment>/${r.name} --node <this node's key>`,
      });
    }
  }

  #peers(): string[] {
    return this.#session?.netmap?.peers.map((p) => p.key) ?? [];
  }

  #send(m: ServerMessage): void {
    if (this.#state !== 'open' || !this.#cipher) return;
    this.#ws.send(this.#cipher.seal(encodeServerMessage(m)));
  }

  #drop(reason: string): void {
    if (this.#state === 'closed') return;
    this.#d.metrics.channelDrops.inc({ reason });
    this.#log.warn({ reason }, 'agent channel closed on bad input');
    this.#close(4002, reason);
  }

  #close(code: number, reason: string): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#timer.del();
    try {
      this.#ws.close(code, reason.slice(0, 120));
    } catch {
      this.#ws.terminate();
    }
    this.#closed();
  }

  #closed(): void {
    this.#state = 'closed';
    this.#timer.del();
    if (this.#session) {
      const s = this.#session;
      this.#session = undefined;
      this.#d.hub.detach(s, 'channel closed');
      this.#log.info('agent channel closed');
    }
  }
}
