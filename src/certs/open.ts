// One entry point from configuration to a CertSource: files followed as they change, or ACME.
import type { Logger } from 'pino';
import type { Clock } from '../clock/index.ts';
import { AcmeCertSource, type AcmeOptions } from './acme-source.ts';
import { FileCertSource } from './file-source.ts';
import type { CertSource } from './source.ts';

export type CertSpec =
  | { kind: 'files'; certFile: string; keyFile: string; /** default 60 000 */ pollMs?: number }
  | ({ kind: 'acme' } & Omit<AcmeOptions, 'clock' | 'logger' | 'onRenewal'>);

export interface CertMetricsHooks {
  /** A renewal (ACME) or reload (files) attempt's outcome. */
  onResult?: (result: 'ok' | 'failed') => void;
}

export async function openCertSource(
  spec: CertSpec,
  ctx: { clock: Clock; logger?: Logger } & CertMetricsHooks,
): Promise<CertSource> {
  const logger = ctx.logger?.child({ component: 'certs' });
  if (spec.kind === 'files') {
    const s = new FileCertSource({
      certFile: spec.certFile,
      keyFile: spec.keyFile,
      clock: ctx.clock,
      ...(spec.pollMs ? { pollMs: spec.pollMs } : {}),
      ...(logger ? { logger } : {}),
      onReloadFailure: () => ctx.onResult?.('failed'),
    });
    s.onChange(() => ctx.onResult?.('ok'));
    return s;
  }
  const { kind: _kind, ...acme } = spec;
  return AcmeCertSource.start({
    ...acme,
    clock: ctx.clock,
    ...(logger ? { logger } : {}),
    ...(ctx.onResult ? { onRenewal: ctx.onResult } : {}),
  });
}
