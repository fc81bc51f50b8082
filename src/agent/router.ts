// The connector's router: every stream a peer opens names a service; the router refuses it unless
// an active grant covers (peer key, service, now), then terminates TLS with the service-CA
// certificate of the tailnet name (or passes TLS through) and forwards to the internal address.
// Streams whose grant ends or disappears from the netmap are cut (I5). Every served stream is
// logged when it ends (who, grant, service, bytes, start, end): the customer-side record.
//
//   incoming ─► service known? ─no─► refuse UNKNOWN_SERVICE
//                  └─► grant covers? ─no─► refuse NO_GRANT (counted, logged)
//                         └─► tls terminate and no certificate? ─► refuse NO_CERTIFICATE
//                                └─► accept ─► [TLS server] ─► TCP to address ─► pipe both ways
import { connect, type Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { Clock } from '../clock/index.ts';
import type { Netmap } from '../proto/control/index.ts';
import type { IncomingStreamRequest } from '../stream/index.ts';
import type { ServiceSpec } from './config.ts';
import { coveringGrant } from './grants.ts';
import type { AgentMetrics } from './metrics.ts';
import { parseHostPort } from './config.ts';

export const REFUSE_NO_GRANT = 1;
export const REFUSE_UNKNOWN_SERVICE = 2;
export const REFUSE_NO_CERTIFICATE = 3;

export interface RouterDeps {
  clock: Clock;
  logger: Logger;
  metrics: AgentMetrics;
  netmap(): Netmap | undefined;
  /** Local service definitions (from --serve / config), by name. */
  services(): Map<string, ServiceSpec>;
  /** The certificate for a service's tailnet name, once issued. */
  certificate(service: string): { cert: string; key: string } | undefined;
}

interface Active {
  peerKey: string;
  service: string;
  grantId: string;
  stream: Duplex;
  upstream?: Socket;
}

export class Router {
  readonly #d: RouterDeps;
  readonly #active = new Set<Active>();

  constructor(d: RouterDeps) {
    this.#d = d;
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
      req.refuse(code, reason);
    };
    const address = spec?.address ?? svc?.address;
    if (!svc || !address) return refuse(REFUSE_UNKNOWN_SERVICE, 'unknown-service');
    const now = this.#d.clock.wallMs();
    const grant = coveringGrant(nm, peerKey, req.service, now);
    if (!grant) return refuse(REFUSE_NO_GRANT, 'no-grant');
    const tlsMode = spec?.tls ?? svc.tlsMode;
    const cert = tlsMode === 'terminate' ? this.#d.certificate(req.service) : undefined;
    if (tlsMode === 'terminate' && !cert) return refuse(REFUSE_NO_CERTIFICATE, 'no-certificate');

    const stream = req.accept();
    const started = now;
    metrics.streamsAccepted.inc();
    const a: Active = { peerKey, service: req.service, grantId: grant.id, stream };
    this.#active.add(a);
    const front: Duplex = cert
      ? new TLSSocket(stream, { isServer: true, cert: cert.cert, key: cert.key })
      : stream;
    const { host, port } = parseHostPort(address);
    const up = connect({ host, port, allowHalfOpen: true });
    a.upstream = up;
    let upBytes = 0;
    let downBytes = 0;
    front.on('data', (b: Buffer) => (upBytes += b.length));
    up.on('data', (b: Buffer) => (downBytes += b.length));
    let ended = false;
    const end = (why: string, err?: Error): void => {
      if (ended) return;
      ended = true;
      this.#active.delete(a);
      metrics.streamBytes.inc({ direction: 'in' }, upBytes);
      metrics.streamBytes.inc({ direction: 'out' }, downBytes);
      logger.info(
        {
          peer: peerKey.slice(0, 8),
          peerName,
          user: grant.user,
          grant: grant.id,
          service: req.service,
          bytesIn: upBytes,
          bytesOut: downBytes,
          start: new Date(started).toISOString(),
          end: new Date(this.#d.clock.wallMs()).toISOString(),
          why,
          ...(err ? { err: err.message } : {}),
        },
        'stream served',
      );
    };
    const destroyBoth = (why: string) => (err?: Error | null) => {
      if (err) {
        front.destroy();
        up.destroy();
      }
      end(why, err ?? undefined);
    };
    front.on('error', (err: Error) =>
      // The client closing its side early (STOP_SENDING / reset) is an ordinary end, not a fault.
      destroyBoth(/stopped reading|reset the stream/.test(err.message) ? 'client-closed' : 'client-error')(
        err,
      ),
    );
    up.on('error', destroyBoth('upstream-error'));
    front.pipe(up);
    up.pipe(front);
    up.on('close', () => {
      front.end();
      end('upstream-closed');
    });
    front.on('close', () => {
      up.end();
      end('client-closed');
    });
    stream.on('close', () => up.destroy());
  }

  /** Cuts streams no longer covered by an active grant (netmap change or grant end). */
  recheck(): number {
    const nm = this.#d.netmap();
    const now = this.#d.clock.wallMs();
    let cut = 0;
    for (const a of [...this.#active]) {
      if (coveringGrant(nm, a.peerKey, a.service, now)) continue;
      cut++;
      this.#active.delete(a);
      this.#d.metrics.streamsCut.inc();
      this.#d.logger.warn(
        { peer: a.peerKey.slice(0, 8), service: a.service, grant: a.grantId },
        'grant ended: stream cut',
      );
      a.upstream?.destroy();
      a.stream.destroy();
    }
    return cut;
  }

  /** The earliest notAfter of the grants of active streams, for the cut timer. */
  nextExpiry(): number | undefined {
    const nm = this.#d.netmap();
    let t: number | undefined;
    for (const a of this.#active) {
      const g = nm?.grants.find((x) => x.id === a.grantId);
      if (g?.notAfter != null && (t === undefined || g.notAfter < t)) t = g.notAfter;
    }
    return t;
  }

  stop(): void {
    for (const a of this.#active) {
      a.upstream?.destroy();
      a.stream.destroy();
    }
    this.#active.clear();
  }
}
