// The connector's router: every stream a peer opens names a service; the router admits it only
// when an active grant covers (peer key, service, now), and — for TLS-terminating services — the
// client certificate names that grant and its user, chains to the access CA and is within its
// validity on this agent's clock (I4, client-cert.ts). It then hands the plaintext to the
// service's target proxy (kubernetes, clickhouse, prometheus) or pipes it to the internal
// address. Streams whose grant or certificate ends are cut (I5). Every stream is logged when it
// ends (who, grant, service, bytes, start, end): the customer-side record.
//
//   incoming ─► service known? ─no─► refuse UNKNOWN_SERVICE
//                  └─► grant covers peer+service+now? ─no─► refuse NO_GRANT (counted, logged)
//                         └─► kind with a target proxy but passthrough, or no proxy? ─► refuse NO_TARGET
//                         └─► terminate and no service certificate / trust? ─► refuse NO_CERTIFICATE
//                                └─► accept ─► passthrough: pipe to address
//                                         └─► terminate: TLS server, client certificate required
//                                                └─► checkClientCert ─no─► close (counted, logged)
//                                                       └─► target proxy, or pipe to address
import { inForce } from '../access/index.ts';
import { TLSSocket } from 'node:tls';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { Timer, type Clock } from '../clock/index.ts';
import { grantAccess, type Netmap } from '../proto/control/index.ts';
import type { IncomingStreamRequest } from '../stream/index.ts';
import type { TargetProxy } from '../targets/index.ts';
import type { ClientTrust } from './certs.ts';
import { checkClientCert, examine } from './client-cert.ts';
import { hasTargetProxy, type ServiceSpec } from './config.ts';
import { coveringGrant } from './grants.ts';
import { AgentError } from './errors.ts';
import type { AgentMetrics } from './metrics.ts';
import { pipeToAddress } from './pipe.ts';

export const REFUSE_NO_GRANT = 1;
export const REFUSE_UNKNOWN_SERVICE = 2;
export const REFUSE_NO_CERTIFICATE = 3;
/** A service whose kind has a target proxy, but no proxy (or passthrough): never a raw pipe. */
export const REFUSE_NO_TARGET = 4;

/** A client that opens a stream but does not finish its TLS handshake is dropped after this, ms. */
export const TLS_HANDSHAKE_TIMEOUT_MS = 10_000;

export interface RouterDeps {
  clock: Clock;
  logger: Logger;
  metrics: AgentMetrics;
  netmap(): Netmap | undefined;
  /** Local service definitions (from --serve / config), by name. */
  services(): Map<string, ServiceSpec>;
  /** The certificate for a service's tailnet name, once issued. */
  certificate(service: string): { cert: string; key: string } | undefined;
  /** The root and access CA client certificates must chain to (with the service certificates). */
  clientTrust(): ClientTrust | undefined;
  /** The protocol-aware proxy of a service, if its kind has one. */
  proxy?(service: string): TargetProxy | undefined;
  /** The connector's local audit: one record per stream served and per refusal. */
  audit?(action: string, subject: string, details: Record<string, unknown>): void;
}

interface Active {
  peerKey: string;
  service: string;
  grantId: string;
  /** For certificate-admitted streams: min(grant end, certificate notAfter). */
  until?: number | null;
  stream: Duplex;
  abort: AbortController;
  /** Pending while a TLS-terminated stream has not finished its handshake. */
  handshake?: Timer;
}

export class Router {
  readonly #d: RouterDeps;
  readonly #active = new Set<Active>();
  /** Fires at the earliest end (grant or certificate) of the streams in flight. */
  readonly #cut: Timer;

  constructor(d: RouterDeps) {
    this.#d = d;
    this.#cut = new Timer(d.clock, () => this.recheck());
  }

  get activeStreams(): number {
    return this.#active.size;
  }

  handle(req: IncomingStreamRequest, peerKey: string, peerName: string | undefined): void {
    const { metrics, logger } = this.#d;
    const nm = this.#d.netmap();
    const spec = this.#d.services().get(req.service);
    const svc = nm?.services.find((s) => s.name === req.service && s.connectorKey === nm.self.key);
    const refuse = (code: number, reason: string): void => {
      metrics.streamsRefused.inc({ reason });
      logger.warn({ peer: peerKey.slice(0, 8), peerName, service: req.service, reason }, 'stream refused');
      this.#d.audit?.('stream.refuse', `service:${req.service}`, { peer: peerKey, reason });
      req.refuse(code, reason);
    };
    const address = spec?.address ?? svc?.address;
    if (!svc || !address) return refuse(REFUSE_UNKNOWN_SERVICE, 'unknown-service');
    const now = this.#d.clock.wallMs();
    const grant = coveringGrant(nm, peerKey, req.service, now);
    if (!grant) return refuse(REFUSE_NO_GRANT, 'no-grant');
    const terminate = (spec?.tls ?? svc.tlsMode) === 'terminate';
    // Defence in depth (fail closed): config checks refuse these at start; never pipe them here.
    const proxied = hasTargetProxy(spec?.kind ?? svc.kind);
    if (proxied && (!terminate || !this.#d.proxy?.(req.service)))
      return refuse(REFUSE_NO_TARGET, 'no-target');
    const cert = terminate ? this.#d.certificate(req.service) : undefined;
    const trust = terminate ? this.#d.clientTrust() : undefined;
    if (terminate && (!cert || !trust)) return refuse(REFUSE_NO_CERTIFICATE, 'no-certificate');

    const stream = req.accept();
    stream.on('error', () => {}); // every end is logged where it is handled; never an unhandled error
    metrics.streamsAccepted.inc();
    const a: Active = {
      peerKey,
      service: req.service,
      grantId: grant.id,
      stream,
      abort: new AbortController(),
    };
    this.#active.add(a);
    this.#schedule();
    const who = { peer: peerKey.slice(0, 8), peerName, service: req.service };
    const served = (front: Duplex, user: string | null) =>
      pipeToAddress(front, address, {
        clock: this.#d.clock,
        metrics,
        logger,
        signal: a.abort.signal,
        record: { ...who, user, grant: a.grantId },
        onEnd: (r) => {
          this.#active.delete(a);
          this.#d.audit?.('stream.served', `grant:${a.grantId}`, { ...r, peer: peerKey });
        },
      });
    if (!terminate) return served(stream, grant.user);

    const tls = new TLSSocket(stream, {
      isServer: true,
      cert: cert!.cert,
      key: cert!.key,
      ca: trust!.ca,
      requestCert: true,
      rejectUnauthorized: false,
    });
    let secured = false;
    const handshake = new Timer(this.#d.clock, () => dropped('tls-timeout', 'no TLS handshake'));
    a.handshake = handshake;
    const dropped = (reason: string, detail: string) => {
      handshake.del();
      if (!this.#active.delete(a)) return;
      metrics.streamsRefused.inc({ reason });
      logger.warn({ ...who, reason, detail }, 'stream refused: client certificate');
      this.#d.audit?.('stream.refuse', `service:${req.service}`, { peer: peerKey, reason, detail });
      tls.destroy();
      stream.destroy();
    };
    handshake.mod(TLS_HANDSHAKE_TIMEOUT_MS);
    tls.on('error', (err: Error) => {
      if (!secured) dropped('tls-error', err.message);
    });
    tls.on('close', () => {
      if (!secured) dropped('tls-closed', 'closed before the TLS handshake finished');
    });
    tls.once('secure', () => {
      secured = true;
      handshake.del();
      const verdict = checkClientCert(examine(tls.getPeerCertificate()?.raw, trust!.accessCa), {
        netmap: this.#d.netmap(),
        peerKey,
        service: req.service,
        nowMs: this.#d.clock.wallMs(),
      });
      if (!verdict.ok) return dropped(`cert-${verdict.reason.toLowerCase()}`, verdict.detail);
      a.grantId = verdict.grant.id;
      a.until = verdict.until;
      this.#schedule();
      const proxy = this.#d.proxy?.(req.service);
      if (!proxy && proxied) return dropped('no-target', 'its target is gone');
      if (!proxy) return served(tls, verdict.grant.user);
      this.#d.audit?.('stream.admit', `grant:${verdict.grant.id}`, {
        peer: peerKey,
        service: req.service,
        user: verdict.grant.user,
        until: verdict.until,
      });
      tls.on('close', () => this.#active.delete(a));
      proxy.serve(tls, {
        grantId: verdict.grant.id,
        user: verdict.grant.user ?? '',
        service: req.service,
        deployment: nm?.self.deployment ?? '',
        notAfter: verdict.until,
        access: grantAccess(verdict.grant),
        address,
        clock: this.#d.clock,
        logger: logger.child({ grant: verdict.grant.id, service: req.service }),
        signal: a.abort.signal,
      });
    });
  }

  /** Cuts streams no longer covered by an active grant (netmap change, grant or certificate end). */
  recheck(): number {
    const nm = this.#d.netmap();
    const now = this.#d.clock.wallMs();
    let cut = 0;
    for (const a of [...this.#active]) {
      const g = nm?.grants.find(
        (x) => x.id === a.grantId && x.peerKey === a.peerKey && x.services.includes(a.service),
      );
      const live = g && inForce({ notBefore: g.notBefore, end: g.notAfter }, now);
      const certLive = a.until == null || now < a.until;
      if (live && certLive) continue;
      cut++;
      this.#active.delete(a);
      this.#d.metrics.streamsCut.inc();
      this.#d.logger.warn(
        { peer: a.peerKey.slice(0, 8), service: a.service, grant: a.grantId },
        live ? 'certificate ended: stream cut' : 'grant ended: stream cut',
      );
      // Reset first, with an error: a clean end would let the data already queued keep flowing.
      a.stream.destroy(new AgentError('AGENT_GRANT_ENDED', live ? 'certificate ended' : 'grant ended'));
      a.abort.abort();
    }
    this.#schedule();
    return cut;
  }

  #schedule(): void {
    const t = this.nextExpiry();
    if (t === undefined) this.#cut.del();
    else this.#cut.mod(Math.max(0, t - this.#d.clock.wallMs()) + 1);
  }

  /** The earliest end (grant or certificate) of the active streams, for the cut timer. */
  nextExpiry(): number | undefined {
    const nm = this.#d.netmap();
    let t: number | undefined;
    for (const a of this.#active) {
      const g = nm?.grants.find((x) => x.id === a.grantId);
      for (const e of [g?.notAfter, a.until]) if (e != null && (t === undefined || e < t)) t = e;
    }
    return t;
  }

  stop(): void {
    this.#cut.del();
    for (const a of this.#active) {
      a.handshake?.del();
      a.abort.abort();
      a.stream.destroy();
    }
    this.#active.clear();
  }
}
