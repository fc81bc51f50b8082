// The listener certificate: ACME, files (followed as they change), or a self-signed one under
// DIR/tls; and what /health says of it.
import { join } from 'node:path';
import type { Clock } from '../clock/index.ts';
import {
  CertError,
  StaticCertSource,
  inspectPair,
  openCertSource,
  type CertSource,
  type CertSpec,
  type CertStatus,
} from '../certs/index.ts';
import { ControlError } from './errors.ts';
import { loadOrCreateTls } from './keys.ts';
import type { Logger } from './logger.ts';
import type { ControlMetrics } from './metrics.ts';
import type { CoordinatorOptions } from './options.ts';
import type { Health } from './routes/index.ts';

/** The listener certificate: ACME, files (followed), or the self-signed one under DIR/tls. */
export async function openListenerCerts(
  opts: CoordinatorOptions,
  listen: { host: string; port: number },
  clock: Clock,
  logger: Logger,
  metrics: ControlMetrics,
): Promise<CertSource> {
  const given = opts.certs;
  const spec: CertSpec | undefined =
    given?.kind === 'acme'
      ? { ...given, stateDir: given.stateDir ?? join(opts.dataDir, 'acme') }
      : (given ??
        (opts.tls ? { kind: 'files', certFile: opts.tls.certFile, keyFile: opts.tls.keyFile } : undefined));
  const onResult = (result: 'ok' | 'failed') => metrics.certRenewals.inc({ result });
  let source: CertSource;
  try {
    if (spec)
      source = await openCertSource(spec, {
        clock,
        logger,
        onResult,
      });
    else {
      const tls = await loadOrCreateTls(opts.dataDir, {
        hostnames: [
          ...(opts.hostnames ?? []),
          ...(listen.host !== '0.0.0.0' && listen.host !== '::' ? [listen.host] : []),
        ],
        clock,
      });
      const pair = { cert: tls.cert, key: tls.key };
      source = new StaticCertSource(pair, inspectPair(pair), 'self-signed', clock.wallMs());
    }
  } catch (e) {
    if (e instanceof CertError) throw new ControlError('CONFIG', e.message, { cause: e });
    throw e;
  }
  metrics.setCertExpiry(() => source.status().current.notAfterMs / 1000);
  return source;
}

/** What /health says of the listener certificate. */
export function tlsHealth(st: CertStatus): NonNullable<Health['tls']> {
  return {
    source: st.kind,
    fingerprint: st.current.fingerprint,
    notAfter: new Date(st.current.notAfterMs).toISOString(),
    ...(st.renewAtMs !== undefined ? { renewAt: new Date(st.renewAtMs).toISOString() } : {}),
    ...(st.lastError ? { lastError: st.lastError.message } : {}),
  };
}
