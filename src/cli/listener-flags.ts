// The flags coordinator and relay share for their own listener: where its certificate comes from
// (files followed as they change, or ACME) and how /metrics is reached (a listener of its own, or a
// bearer token on the main one).
import { readFileSync } from 'node:fs';
import type { CertSpec } from '../certs/index.ts';
import { parseMetricsToken } from '../util/metrics-http.ts';
import { UsageError, optionLines, type FlagTable } from './kit/index.ts';

export const LISTENER_FLAGS = {
  'tls-cert': {
    type: 'string',
    value: 'FILE',
    help: 'PEM certificate chain of the listener (with --tls-key)',
  },
  'tls-key': { type: 'string', value: 'FILE', help: 'PEM private key of the listener' },
  'acme-directory': {
    type: 'string',
    value: 'URL',
    help: `get and renew the certificate from this ACME CA (RFC 8555), e.g.
https://acme-v02.api.letsencrypt.org/directory; http-01 validation`,
  },
  'acme-domain': {
    type: 'repeatable',
    value: 'NAME',
    help: 'DNS name the certificate covers, resolving to this host; repeatable',
  },
  'acme-agree-tos': {
    type: 'boolean',
    help: "you agree to the ACME CA's terms of service (required with ACME)",
  },
  'acme-email': { type: 'string', value: 'ADDR', help: 'contact for the ACME account (expiry notices)' },
  'acme-http-listen': {
    type: 'string',
    value: 'HOST:PORT',
    help: `where the http-01 responder listens (default 0.0.0.0:80: the CA connects to
port 80 of each domain; it answers only /.well-known/acme-challenge/)`,
  },
  'acme-ca': {
    type: 'string',
    value: 'FILE',
    help: "PEM CA to trust for the ACME server's own HTTPS (a private CA)",
  },
  'metrics-listen': {
    type: 'string',
    value: 'HOST:PORT',
    help: 'serve GET /metrics over plain HTTP on this address (bind a private one)',
  },
  'metrics-token-file': {
    type: 'string',
    value: 'FILE',
    help: `serve GET /metrics on the main listener to 'Authorization: Bearer TOKEN',
TOKEN being this file's one line (16+ characters; openssl rand -hex 24)`,
  },
} as const satisfies FlagTable;

const CERT_FLAGS = [
  'tls-cert',
  'tls-key',
  'acme-directory',
  'acme-domain',
  'acme-agree-tos',
  'acme-email',
  'acme-http-listen',
  'acme-ca',
] as const;

export const LISTENER_HELP = `listener certificate (one of; the files are read again every 60 s and on SIGHUP, and a new
certificate is served to new connections while open ones keep theirs):
${optionLines(LISTENER_FLAGS, 24, CERT_FLAGS)}metrics (GET /metrics on the main listener answers 403 unless a token is set):
${optionLines(LISTENER_FLAGS, 24, ['metrics-listen', 'metrics-token-file'])}`;

export interface ListenerFlags {
  'tls-cert'?: string;
  'tls-key'?: string;
  'acme-directory'?: string;
  'acme-domain'?: string[];
  'acme-email'?: string;
  'acme-agree-tos'?: boolean;
  'acme-http-listen'?: string;
  'acme-ca'?: string;
  'metrics-listen'?: string;
  'metrics-token-file'?: string;
}

export interface ListenerConfig {
  /** Undefined: neither files nor ACME were given (the coordinator then makes a self-signed one). */
  certs: CertSpec | undefined;
  metricsListen: { host: string; port: number } | undefined;
  metricsToken: string | undefined;
}

function hostPort(flag: string, s: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(s);
  if (!m || Number(m[3]) > 65535) throw new UsageError(`${flag} wants HOST:PORT or [V6]:PORT, got '${s}'`);
  return { host: m[1] ?? m[2], port: Number(m[3]) };
}

function readText(flag: string, file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(`${flag} ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/** Checks the flags together; UsageError says what to change. `acmeStateDir` is where ACME keeps its state. */
export function parseListenerFlags(a: ListenerFlags, acmeStateDir: string): ListenerConfig {
  const files = !!a['tls-cert'] || !!a['tls-key'];
  if (files && !(a['tls-cert'] && a['tls-key'])) throw new UsageError('--tls-cert and --tls-key go together');
  const acmeFlags = (
    ['acme-domain', 'acme-email', 'acme-agree-tos', 'acme-http-listen', 'acme-ca'] as const
  ).filter((f) => a[f] !== undefined);
  let certs: CertSpec | undefined;
  if (a['acme-directory']) {
    if (files)
      throw new UsageError('--acme-directory and --tls-cert/--tls-key exclude each other: pick one source');
    if (!a['acme-domain']?.length)
      throw new UsageError('--acme-directory needs --acme-domain NAME (the DNS name clients connect to)');
    if (!a['acme-agree-tos'])
      throw new UsageError("--acme-directory needs --acme-agree-tos: read the CA's terms of service first");
    certs = {
      kind: 'acme',
      directoryUrl: a['acme-directory'],
      domains: a['acme-domain'],
      agreeTos: true,
      stateDir: acmeStateDir,
      http01Listen: hostPort('--acme-http-listen', a['acme-http-listen'] ?? '0.0.0.0:80'),
      ...(a['acme-email'] ? { email: a['acme-email'] } : {}),
      ...(a['acme-ca'] ? { acmeCa: readText('--acme-ca', a['acme-ca']) } : {}),
    };
  } else if (acmeFlags.length) {
    throw new UsageError(`--${acmeFlags[0]} needs --acme-directory URL`);
  } else if (files) {
    certs = { kind: 'files', certFile: a['tls-cert']!, keyFile: a['tls-key']! };
  }
  let metricsToken: string | undefined;
  if (a['metrics-token-file']) {
    const text = readText('--metrics-token-file', a['metrics-token-file']);
    try {
      metricsToken = parseMetricsToken(text, a['metrics-token-file']);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
  }
  return {
    certs,
    metricsListen: a['metrics-listen'] ? hostPort('--metrics-listen', a['metrics-listen']) : undefined,
    metricsToken,
  };
}
