// The connector's half of an agent: the router in front of the customer's services, their targets
// and the local audit, and the service certificates the router terminates TLS with (key and CSR
// made here, certificate from the coordinator's service CA, with the access CA to check clients).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { ANCHOR_ACTION, checkpointSignatureValid } from '../audit/index.ts';
import type { Clock } from '../clock/index.ts';
import { VerifyKey } from '../crypto/index.ts';
import {
  MAX_ACTIVITY_QUERY,
  type AgentMessage,
  type Netmap,
  type ServerMessage,
} from '../proto/control/index.ts';
import type { ServiceCerts } from './certs.ts';
import { checkServices, isPassthrough, type ServiceSpec } from './config.ts';
import type { AgentMetrics } from './metrics.ts';
import { Router } from './router.ts';
import { ConnectorTargets } from './targets.ts';

export interface ConnectorOptions {
  clock: Clock;
  logger: Logger;
  metrics: AgentMetrics;
  stateDir: string;
  /** This node's key, base64. */
  selfKey: string;
  services: Map<string, ServiceSpec>;
  certs: ServiceCerts;
  netmap(): Netmap | undefined;
  send(m: AgentMessage): boolean;
}

export class ConnectorSide {
  readonly router: Router;
  readonly targets: ConnectorTargets;
  readonly #o: ConnectorOptions;
  /** Checkpoints kept this run (keyId:seq): a reconnect resends the latest. */
  readonly #anchored = new Set<string>();
  #deployment: string | undefined;

  constructor(o: ConnectorOptions) {
    this.#o = o;
    this.targets = new ConnectorTargets({
      clock: o.clock,
      logger: o.logger.child({ part: 'targets' }),
      stateDir: o.stateDir,
      actor: `node:${o.selfKey}`,
      services: [...o.services.values()],
      deployment: () => o.netmap()?.self.deployment ?? '',
      report: (u) =>
        void o.send({
          type: 'usage',
          grant: u.grantId,
          service: u.service,
          queries: u.queries,
          failures: u.failures,
        }),
    });
    // The coordinator hears of each stream served and each query run under a grant (its audit,
    // so the customer portal shows them); the local audit stays the customer's full record.
    this.targets.audit.onAppend = (action, subject, d) => {
      const m = activityOf(action, subject, d, Math.floor(o.clock.wallMs()));
      if (m) o.send(m);
    };
    this.router = new Router({
      clock: o.clock,
      logger: o.logger.child({ part: 'router' }),
      metrics: o.metrics,
      netmap: o.netmap,
      services: () => o.services,
      certificate: (svc) => {
        const t = o.netmap()?.services.find((s) => s.name === svc && s.connectorKey === o.selfKey);
        return o.certs.get(svc, t?.tailnetName);
      },
      clientTrust: () => o.certs.clientTrust(),
      proxy: (svc) => this.targets.get(svc)?.proxy,
      audit: (action, subject, details) => this.targets.audit.append(action, subject, details),
    });
  }

  /**
   * Removes an earlier config's leftover grant users, checks the services (fail closed:
   * AGENT_CONFIG), then creates the targets (bad options or a
   * mode the server cannot enforce reject here, before the agent connects). Every passthrough
   * service is logged at warn and counted (status shows it).
   */
  async start(o: { signal?: AbortSignal } = {}): Promise<void> {
    // Leftover grant users go first, whatever this config says (even one refused just below).
    await this.targets.sweep();
    checkServices([...this.#o.services.values()]);
    await this.targets.start(o);
    const piped = [...this.#o.services.values()].filter(isPassthrough);
    this.#o.metrics.passthroughServices.set(piped.length);
    for (const s of piped)
      this.#o.logger.warn(
        { service: s.name, kind: s.kind, address: s.address, tls: s.tls },
        'passthrough service: the router pipes its bytes unfiltered (no client certificate, no target)',
      );
  }

  netmapChanged(nm: Netmap): void {
    this.#deployment = nm.self.deployment ?? this.#deployment;
    this.router.recheck();
    void this.#requestCerts(nm);
    this.targets.netmapChanged(nm);
  }

  /**
   * The certificate for a CSR sent earlier (see #requestCerts): installed if it matches. An audit
   * checkpoint: kept in the local audit as an anchor (anchor.ts).
   */
  onMessage(m: ServerMessage): void {
    if (m.type === 'checkpoint') return this.#anchor(m);
    if (m.type === 'notice') return this.#notice(m);
    if (m.type !== 'certificate' || m.service === undefined) return;
    try {
      this.#o.certs.install(
        m.service,
        m.chainPem,
        m.accessCaPem ? { rootPem: m.rootPem, accessCaPem: m.accessCaPem } : undefined,
      );
      this.#o.logger.info({ service: m.service }, 'service certificate installed');
    } catch (e) {
      this.#o.logger.warn({ service: m.service, err: (e as Error).message }, 'unexpected certificate');
    }
  }

  /**
   * Keeps a checkpoint the coordinator sent as an `audit.anchor` record of the customer's log, so
   * that the customer holds signed heads of the vendor's audit the vendor's database cannot take
   * back. One whose signature does not verify against the key it names is dropped and logged.
   */
  #anchor(m: Extract<ServerMessage, { type: 'checkpoint' }>): void {
    const cp = m.checkpoint;
    const id = `${cp.keyId}:${cp.seq}`;
    if (this.#anchored.has(id)) return;
    let valid = false;
    try {
      valid = checkpointSignatureValid(cp, VerifyKey.fromBase64(m.publicKey));
    } catch {
      valid = false;
    }
    if (!valid) {
      this.#o.logger.warn({ seq: cp.seq, keyId: cp.keyId }, 'audit checkpoint with a bad signature dropped');
      return;
    }
    this.#anchored.add(id);
    if (this.#anchored.size > 1024) this.#anchored.delete(this.#anchored.values().next().value!);
    this.targets.audit.append(ANCHOR_ACTION, `audit:${cp.keyId}`, { ...cp, publicKey: m.publicKey });
  }

  /**
   * A break-glass the vendor recorded for this deployment (its audit record `id`): into the
   * customer's local audit, once — the ids kept are in STATE/notices.json, so a reconnect or a
   * restart does not write it twice.
   */
  #notice(m: Extract<ServerMessage, { type: 'notice' }>): void {
    const file = join(this.#o.stateDir, 'notices.json');
    let seen: number[] = [];
    try {
      if (existsSync(file))
        seen = (JSON.parse(readFileSync(file, 'utf8')) as number[]).filter(Number.isInteger);
    } catch {
      seen = [];
    }
    if (seen.includes(m.id)) return;
    this.targets.audit.append(m.action, `deployment:${this.#deployment ?? '?'}`, {
      ...m.details,
      vendorAuditSeq: m.id,
      at: new Date(m.at).toISOString(),
      by: m.actor,
    });
    this.#o.logger.warn(
      { vendorAuditSeq: m.id, by: m.actor, reason: m.details.reason, publicServer: m.details.publicServer },
      'BREAK-GLASS: the vendor used the public management endpoint',
    );
    seen.push(m.id);
    try {
      writeFileSync(file, JSON.stringify(seen.slice(-1000)), { mode: 0o600 });
    } catch (e) {
      this.#o.logger.error(
        { err: (e as Error).message },
        'cannot remember the notice: it may be written again',
      );
    }
  }

  async #requestCerts(nm: Netmap): Promise<void> {
    for (const s of nm.services) {
      if (s.connectorKey !== this.#o.selfKey) continue;
      const spec = this.#o.services.get(s.name);
      if ((spec?.tls ?? s.tlsMode) !== 'terminate') continue;
      try {
        const req = await this.#o.certs.request(s.name, s.tailnetName);
        if (req) {
          this.#o.logger.info({ service: s.name, name: s.tailnetName }, 'service certificate requested');
          this.#o.send({ type: 'csr', id: req.id, service: s.name, csr: req.csrPem });
        }
      } catch (e) {
        this.#o.logger.error(
          { service: s.name, err: (e as Error).message },
          'could not make a certificate request',
        );
      }
    }
  }

  async stop(): Promise<void> {
    this.router.stop();
    await this.targets.stop();
  }
}

/** The coordinator's activity message for a local audit record, if it is one it mirrors. */
export function activityOf(
  action: string,
  subject: string,
  d: Record<string, unknown>,
  now: number,
): Extract<AgentMessage, { type: 'activity' }> | undefined {
  const grant = /^grant:([A-Za-z0-9_-]{1,64})$/.exec(subject)?.[1];
  const service = typeof d.service === 'string' ? d.service : undefined;
  if (!grant || !service) return undefined;
  const n = (v: unknown) => (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : undefined);
  const s = (v: unknown, max: number) => (typeof v === 'string' ? v.slice(0, max) : undefined);
  if (action === 'stream.served') {
    const start = typeof d.start === 'string' ? Date.parse(d.start) : NaN;
    const end = typeof d.end === 'string' ? Date.parse(d.end) : NaN;
    const user = s(d.user, 63);
    return {
      type: 'activity',
      grant,
      service,
      kind: 'stream',
      at: Number.isNaN(start) ? now : start,
      detail: {
        ...(n(d.bytesIn) !== undefined ? { bytesIn: n(d.bytesIn) } : {}),
        ...(n(d.bytesOut) !== undefined ? { bytesOut: n(d.bytesOut) } : {}),
        ...(!Number.isNaN(start) && !Number.isNaN(end) && end >= start ? { durationMs: end - start } : {}),
        ...(user ? { user } : {}),
      },
    };
  }
  if (action === 'clickhouse.query') {
    const user = s(d.engineer, 63);
    return {
      type: 'activity',
      grant,
      service,
      kind: 'query',
      at: typeof d.eventTime === 'number' ? d.eventTime * 1000 : now,
      detail: {
        query: s(d.query, MAX_ACTIVITY_QUERY) ?? '',
        status: d.status === 'failed' ? 'failed' : 'ok',
        ...(n(d.durationMs) !== undefined ? { durationMs: n(d.durationMs) } : {}),
        ...(user ? { user } : {}),
      },
    };
  }
  return undefined;
}
