// `sallyport ingress`: the customer's TLS-terminating ingress for database traffic (src/ingress/).
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { pino } from 'pino';
import { logDestination } from './log-output.ts';
import { realClock } from '../clock/index.ts';
import { TlsAlpn01Responder, openCertSource, type CertSource, type CertSpec } from '../certs/index.ts';
import {
  AllowList,
  IngressMetrics,
  IngressServer,
  Routes,
  parseHostPort,
  parseRoute,
} from '../ingress/index.ts';
import { serveMetrics } from '../util/metrics-http.ts';
import { UsageError } from './io.ts';
import { LISTENER_OPTIONS, parseListenerFlags } from './listener-flags.ts';
import { applyConfigFile } from './config-file.ts';
import type { Route } from '../ingress/index.ts';

export const help = `usage: sallyport ingress --listen HOST:PORT... --route [PORT/]NAME=HOST:PORT...
                         (--allow CIDR... | --allow-file FILE) --data DIR
                         (--tls-cert FILE --tls-key FILE | --acme-directory URL --acme-domain NAME...
                          --acme-agree-tos [--acme-challenge tls-alpn-01|http-01] ...)
                         [--proxy-from CIDR...] [--private-only] [--metrics-listen HOST:PORT]

The customer's ingress for database traffic (ClickHouse over HTTPS and native TLS): it terminates
TLS with a certificate from files or from ACME, and pipes each connection to the backend its
listener and TLS server name route to. Only client addresses on the allow list get as far as the
TLS handshake; with --proxy-from, the client address is the one a load balancer's PROXY protocol
v2 header gives. This is the customer's data path, separate from the overlay: sallyport's overlay
never carries query traffic.

options:
  --listen HOST:PORT     a TLS listener (repeatable), e.g. 0.0.0.0:8443 (HTTPS) and 0.0.0.0:9440
                         (native protocol); [::]:PORT for IPv6
  --route [PORT/]NAME=HOST:PORT
                         where connections asking for server name NAME go (repeatable). NAME: a DNS
                         name, *.domain (one label), or * (any name, and clients that send none);
                         PORT/: only on the listener with that port. An exact name beats a wildcard,
                         a wildcard beats *. A connection with no route is refused
  --allow CIDR           a client address range allowed in (repeatable): 203.0.113.0/24,
                         2001:db8::/32, or one address. Nothing else is allowed; everyone is
                         --allow 0.0.0.0/0 --allow ::/0, written out
  --allow-file FILE      more allowed ranges, one per line (# comments); read again when the file
                         changes (checked every 5 s) and on SIGHUP. A file that does not parse is
                         refused whole, every bad line named, and the list in force stays
  --proxy-from CIDR      the load balancers in front (repeatable): every connection must come from
                         one and start with a PROXY protocol v2 header, whose source address is the
                         client checked against the allow list (haproxy: send-proxy-v2)
  --private-only         listen only on private addresses and admit only clients with private,
                         loopback or link-local addresses (10/8, 172.16/12, 192.168/16, 100.64/10,
                         fc00::/7), whatever the allow list says
  --data DIR             state directory (ACME account and certificates under DIR/acme)
  --acme-challenge TYPE  tls-alpn-01 (default with ACME: the CA connects to port 443, which must be
                         one of the --listen ports, or mapped to it) or http-01 (port 80, answered
                         on --acme-http-listen)
  --config FILE          JSON with any of these flags by long name, e.g. {"listen": ["0.0.0.0:8443"],
                         "route": ["ch.acme.example.com=10.0.1.5:8123"], "allow-file": "…"}; flags win
  --log-level LEVEL      fatal, error, warn, info (default), debug, trace, silent
  --help                 this text

certificate (one of; files are read again every 60 s and on SIGHUP; a new certificate is served to
new connections while open ones keep theirs):
  --tls-cert FILE, --tls-key FILE
  --acme-directory URL, --acme-domain NAME (repeatable), --acme-agree-tos, --acme-email ADDR,
  --acme-http-listen HOST:PORT (http-01), --acme-ca FILE (a private ACME CA's root)
metrics:
  --metrics-listen HOST:PORT   GET /metrics over plain HTTP on this address (bind a private one)

examples:
  sallyport ingress --data /var/lib/sallyport-ingress --listen 0.0.0.0:8443 --listen 0.0.0.0:9440 \\
    --route 8443/ch.acme.example.com=10.0.1.5:8123 --route 9440/ch.acme.example.com=10.0.1.5:9000 \\
    --allow-file /etc/sallyport/allow.txt --tls-cert /etc/ssl/ingress.pem --tls-key /etc/ssl/ingress.key

exit codes: 0 stopped by a signal, 1 could not start (a listener, a certificate), 2 bad usage or a
  configuration that cannot be enforced
`;

const { 'metrics-token-file': _token, ...LISTENER_CERT_AND_METRICS_LISTEN } = LISTENER_OPTIONS;

export const OPTIONS = {
  listen: { type: 'string', multiple: true },
  route: { type: 'string', multiple: true },
  allow: { type: 'string', multiple: true },
  'allow-file': { type: 'string' },
  'proxy-from': { type: 'string', multiple: true },
  'private-only': { type: 'boolean' },
  data: { type: 'string' },
  'acme-challenge': { type: 'string' },
  // the listener flags of coordinator and relay, but for a metrics token: the ingress has no HTTP
  // listener of its own to put /metrics on (--metrics-listen only)
  ...LISTENER_CERT_AND_METRICS_LISTEN,
  'log-level': { type: 'string' },
  config: { type: 'string' },
  help: { type: 'boolean' },
} as const;

/** What the flags say, checked together (no file is read but --config's): a UsageError otherwise. */
export interface IngressConfig {
  listeners: { host: string; port: number }[];
  routes: Route[];
  allow: string[];
  allowFile: string | undefined;
  proxyFrom: string[];
  privateOnly: boolean;
  certSpec: CertSpec;
  challenge: 'tls-alpn-01' | 'http-01';
  metricsListen: { host: string; port: number } | undefined;
  logLevel: string;
}

type Flags = ReturnType<typeof parseArgs<{ options: typeof OPTIONS }>>['values'];

export function ingressConfig(a: Flags): IngressConfig {
  if (!a.listen?.length) throw new UsageError('--listen HOST:PORT is required (repeatable)');
  if (!a.data) throw new UsageError('--data DIR is required (ACME state, and nothing else secret)');
  const listeners = a.listen.map((l) => parseHostPort(l, '--listen', true));
  const routes = (a.route ?? []).map(parseRoute);
  new Routes(routes); // duplicates and an empty list are refused here
  for (const r of routes)
    if (r.port !== undefined && !listeners.some((l) => l.port === r.port))
      throw new UsageError(`--route '${r.text}': no --listen on port ${r.port}`);
  const challenge = a['acme-challenge'] ?? 'tls-alpn-01';
  if (challenge !== 'tls-alpn-01' && challenge !== 'http-01')
    throw new UsageError(`--acme-challenge takes tls-alpn-01 or http-01, got '${challenge}'`);
  if (a['acme-challenge'] && !a['acme-directory'])
    throw new UsageError('--acme-challenge needs --acme-directory URL');
  if (challenge === 'tls-alpn-01' && a['acme-http-listen'])
    throw new UsageError('--acme-http-listen is for --acme-challenge http-01');
  const l = parseListenerFlags(
    {
      ...a,
      ...(challenge === 'tls-alpn-01' && a['acme-directory'] ? { 'acme-http-listen': '127.0.0.1:0' } : {}),
    },
    join(a.data, 'acme'),
  );
  if (!l.certs)
    throw new UsageError(
      'a certificate is required: --tls-cert FILE --tls-key FILE, or --acme-directory URL',
    );
  return {
    listeners,
    routes,
    allow: a.allow ?? [],
    allowFile: a['allow-file'],
    proxyFrom: a['proxy-from'] ?? [],
    privateOnly: !!a['private-only'],
    certSpec: l.certs,
    challenge,
    metricsListen: l.metricsListen,
    logLevel: a['log-level'] ?? 'info',
  };
}

export async function run(argv: string[], opts: { signal?: AbortSignal } = {}): Promise<number> {
  let a;
  try {
    a = parseArgs({ args: argv, options: OPTIONS, strict: true, allowPositionals: false }).values;
    if (a.config && !a.help) applyConfigFile(a, a.config, { options: OPTIONS });
  } catch (e) {
    process.stderr.write(`sallyport ingress: ${(e as Error).message}\n\n${help}`);
    return 2;
  }
  if (a.help) {
    process.stdout.write(help);
    return 0;
  }
  let cfg: IngressConfig;
  try {
    cfg = ingressConfig(a);
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (!(e instanceof UsageError) && code !== 'INGRESS_CONFIG') throw e;
    process.stderr.write(`sallyport ingress: ${(e as Error).message}\n(see sallyport ingress --help)\n`);
    return 2;
  }
  const log = pino({ level: cfg.logLevel, base: { cmd: 'ingress' } }, logDestination(1));
  const metrics = new IngressMetrics();
  let server: IngressServer | undefined;
  let allow: AllowList;
  let proxyFrom: AllowList | undefined;
  let certSpec = cfg.certSpec;
  let tlsAlpn01: TlsAlpn01Responder | undefined;
  try {
    if (certSpec.kind === 'acme' && cfg.challenge === 'tls-alpn-01') {
      tlsAlpn01 = new TlsAlpn01Responder();
      const { http01Listen: _unused, ...rest } = certSpec;
      certSpec = { ...rest, challenge: 'tls-alpn-01', tlsAlpn01 };
    }
    allow = new AllowList({
      cidrs: cfg.allow,
      ...(cfg.allowFile ? { file: cfg.allowFile } : {}),
      clock: realClock,
      onReload: (r) => {
        metrics.allowReloads.inc({ result: r.ok ? 'ok' : 'failed' });
        if (r.ok) {
          log.info({ entries: r.entries }, 'allow list reloaded');
          server?.allowListChanged();
        } else
          log.error(
            { code: r.error.code, err: r.error.message },
            'allow list NOT reloaded: the list in force stays',
          );
      },
    });
    if (cfg.proxyFrom.length) proxyFrom = new AllowList({ cidrs: cfg.proxyFrom, clock: realClock });
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code !== 'INGRESS_CONFIG' && code !== 'INGRESS_ALLOWLIST') throw e;
    process.stderr.write(`sallyport ingress: ${(e as Error).message}\n(see sallyport ingress --help)\n`);
    return 2;
  }
  let certs: CertSource | undefined;
  let metricsServer: Awaited<ReturnType<typeof serveMetrics>> | undefined;
  const onHup = (): void => {
    allow.reload();
    certs?.reload?.();
  };
  const ac = new AbortController();
  const onSignal = (): void => ac.abort();
  try {
    const certOpts = {
      clock: realClock,
      logger: log,
      onResult: (r: 'ok' | 'failed') => metrics.certRenewals.inc({ result: r }),
    };
    // http-01 and files: the certificate first (no listener without one). tls-alpn-01: the CA
    // validates on our own listener, so it comes up first and answers only validations until
    // the certificate is issued.
    if (!tlsAlpn01) certs = await openCertSource(certSpec, certOpts);
    server = new IngressServer({
      listeners: cfg.listeners,
      routes: new Routes(cfg.routes),
      allow,
      certs,
      ...(tlsAlpn01 ? { tlsAlpn01 } : {}),
      ...(proxyFrom ? { proxyFrom } : {}),
      ...(cfg.privateOnly ? { privateOnly: true } : {}),
      clock: realClock,
      logger: log,
      metrics,
    });
    const addrs = await server.start();
    if (tlsAlpn01) {
      certs = await openCertSource(certSpec, certOpts);
      server.useCertificates(certs);
    }
    const metricsListen = cfg.metricsListen;
    if (metricsListen) metricsServer = await serveMetrics(metrics.registry, metricsListen);
    process.on('SIGHUP', onHup);
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    opts.signal?.addEventListener('abort', onSignal, { once: true });
    process.stdout.write(
      `ingress listening on ${addrs.map((x) => `${x.host}:${x.port}`).join(', ')}; ${allow.size} allowed ranges` +
        (metricsServer ? `; metrics on http://${metricsListen!.host}:${metricsServer.port}/metrics` : '') +
        '\n',
    );
    await new Promise<void>((resolve) => {
      if (ac.signal.aborted || opts.signal?.aborted) resolve();
      else ac.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    await server.stop();
    return 0;
  } catch (e) {
    await server?.stop();
    const code = (e as { code?: string }).code;
    process.stderr.write(`sallyport ingress: ${(e as Error).message}\n`);
    return code === 'INGRESS_CONFIG' ? 2 : 1;
  } finally {
    allow.stop();
    await metricsServer?.close();
    await certs?.stop();
    process.off('SIGHUP', onHup);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    opts.signal?.removeEventListener('abort', onSignal);
  }
}
