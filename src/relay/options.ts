import type { Logger } from 'pino';
import type { Clock } from '../clock/index.ts';
import type { PrivateKey, VerifyKey } from '../crypto/index.ts';
import { MAX_REGION_LEN } from '../proto/relay/index.ts';
import { RelayServerError } from './errors.ts';

/** Options of RelayServer; every field is checked once, at construction. */
export interface RelayServerOptions {
  clock: Clock;
  /** The relay's X25519 key: clients bind their proof of possession to it. */
  privateKey: PrivateKey;
  /** Coordinator Ed25519 keys whose relay tokens are accepted (at least one). */
  trusted: VerifyKey[];
  /** The region tokens must name (UTF-8, at most 64 bytes). */
  region: string;
  /** TLS listener; port 0 picks a free port (start() reports it). */
  listen: { host: string; port: number };
  /** PEM certificate chain and key of the TLS listener (setCertificate() replaces it later). */
  tls: { cert: string; key: string };
  /**
   * Bearer token that GET /metrics on the TLS listener requires; default none, and then /metrics
   * there answers 403 (serve it on a private address with serveMetrics(relay.registry, …) instead).
   */
  metricsToken?: string;
  /** UDP port of the STUN binding responder on listen.host; undefined: no responder; 0: any port. */
  stunPort?: number;
  queue?: {
    /** Frames waiting for one client at most; default 512. */
    maxPackets?: number;
    /** Bytes waiting for one client at most; default 1 MiB. */
    maxBytes?: number;
    /** Bytes waiting for all clients together; past it new packets are dropped ('relay_full'); default 256 MiB. */
    maxTotalBytes?: number;
  };
  /** Interval of server KEEPALIVE frames to a client that got nothing else, ms; default 60000. */
  keepAliveMs?: number;
  /** A client silent for this long is disconnected, ms; default 3 × keepAliveMs; 0 = never. */
  idleTimeoutMs?: number;
  /** A connection must be admitted within this time after the upgrade, ms; default 10000. */
  admitTimeoutMs?: number;
  /** Period of the one sweep timer (keepalives, timeouts, token expiry), ms; default 1000. */
  sweepMs?: number;
  /** Clock skew tolerated on token times, ms; default 30000. */
  tokenSkewMs?: number;
  /** Disconnect an admitted client once its token expires (it reconnects with a fresh one); default true. */
  enforceTokenExpiry?: boolean;
  /** Most connections (admitted or not) at once; more are refused ('capacity'); default 100000. */
  maxClients?: number;
  /** pino logger; the relay logs through a child { component: 'relay' }. Default: silent. */
  logger?: Logger;
}

export interface ResolvedRelayOptions extends Required<
  Omit<RelayServerOptions, 'stunPort' | 'logger' | 'queue' | 'metricsToken'>
> {
  stunPort: number | undefined;
  metricsToken: string | undefined;
  logger: Logger | undefined;
  queue: { maxPackets: number; maxBytes: number; maxTotalBytes: number };
}

function int(name: string, v: number | undefined, dflt: number, min: number, max = 2 ** 31): number {
  const x = v ?? dflt;
  if (!Number.isInteger(x) || x < min || x > max)
    throw new RelayServerError(
      'RELAY_INVALID_OPTIONS',
      `${name} must be an integer in [${min}, ${max}] (got ${x})`,
    );
  return x;
}

export function resolveOptions(o: RelayServerOptions): ResolvedRelayOptions {
  const bad = (m: string) => new RelayServerError('RELAY_INVALID_OPTIONS', m);
  if (!o || !o.clock) throw bad('clock is required');
  if (!o.privateKey) throw bad('privateKey is required');
  if (!Array.isArray(o.trusted) || o.trusted.length === 0)
    throw bad('trusted needs at least one coordinator key');
  if (typeof o.region !== 'string' || new TextEncoder().encode(o.region).length > MAX_REGION_LEN)
    throw bad(`region must be a string of at most ${MAX_REGION_LEN} bytes`);
  if (!o.listen || typeof o.listen.host !== 'string') throw bad('listen.host is required');
  if (!o.tls || typeof o.tls.cert !== 'string' || typeof o.tls.key !== 'string')
    throw bad('tls.cert and tls.key (PEM) are required');
  if (o.metricsToken !== undefined && (typeof o.metricsToken !== 'string' || o.metricsToken.length < 16))
    throw bad('metricsToken must be at least 16 characters');
  const keepAliveMs = int('keepAliveMs', o.keepAliveMs, 60_000, 100);
  return {
    clock: o.clock,
    privateKey: o.privateKey,
    trusted: [...o.trusted],
    region: o.region,
    listen: { host: o.listen.host, port: int('listen.port', o.listen.port, 0, 0, 65535) },
    tls: { cert: o.tls.cert, key: o.tls.key },
    stunPort: o.stunPort === undefined ? undefined : int('stunPort', o.stunPort, 0, 0, 65535),
    metricsToken: o.metricsToken,
    queue: {
      maxPackets: int('queue.maxPackets', o.queue?.maxPackets, 512, 1),
      maxBytes: int('queue.maxBytes', o.queue?.maxBytes, 1 << 20, 1024),
      maxTotalBytes: int('queue.maxTotalBytes', o.queue?.maxTotalBytes, 256 << 20, 1024, 2 ** 52),
    },
    keepAliveMs,
    idleTimeoutMs: int('idleTimeoutMs', o.idleTimeoutMs, 3 * keepAliveMs, 0),
    admitTimeoutMs: int('admitTimeoutMs', o.admitTimeoutMs, 10_000, 1),
    sweepMs: int('sweepMs', o.sweepMs, 1000, 1),
    tokenSkewMs: int('tokenSkewMs', o.tokenSkewMs, 30_000, 0),
    enforceTokenExpiry: o.enforceTokenExpiry ?? true,
    maxClients: int('maxClients', o.maxClients, 100_000, 1),
    logger: o.logger,
  };
}
