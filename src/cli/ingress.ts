// `sallyport ingress`: the customer's TLS-terminating ingress for database traffic (src/ingress/).
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { TlsAlpn01Responder, openCertSource, type CertSource, type CertSpec } from '../certs/index.ts';
import { realClock } from '../clock/index.ts';
import {
  AllowList,
  IngressMetrics,
  IngressServer,
  Routes,
  parseHostPort,
  parseRoute,
  type Route,
} from '../ingress/index.ts';
import { serveMetrics } from '../util/metrics-http.ts';
import {
  Failed,
  HELP_FLAG,
  UsageError,
  optionLines,
  parseArgsOptions,
  processIo,
  runCommand,
  type FlagTable,
  type FlagValues,
} from './kit/index.ts';
import { LISTENER_FLAGS, parseListenerFlags } from './listener-flags.ts';
import { logDestination } from './log-output.ts';
import { onHangup, onStop } from './signals.ts';

const OWN = {
  listen: {
    type: 'repeatable',
    value: 'HOST:PORT',
    help: `a TLS listener (repeatable), e.g. 0.0.0.0:8443 (HTTPS) and 0.0.0.0:9440
(native protocol); [::]:PORT for IPv6`,
  },
  route: {
    type: 'repeatable',
    value: '[PORT/]NAME=HOST:PORT',
    help: `where connections asking for server name NAME go (repeatable). NAME: a DNS
name, *.domain (one label), or * (any name, and clients that send none);
PORT/: only on the listener with that port. An exact name beats a wildcard,
a wildcard beats *. A connection with no route is refused`,
  },
  allow: {
    type: 'repeatable',
    value: 'CIDR',
    help: `a client address range allowed in (repeatable): 203.0.113.0/24,
2001:db8::/32, or one address. Nothing else is allowed; everyone is
--allow 0.0.0.0/0 --allow ::/0, written out`,
  },
  'allow-file': {
    type: 'string',
    value: 'FILE',
    help: `more allowed ranges, one per line (# comments); read again when the file
changes (checked every 5 s) and on SIGHUP. A file that does not parse is
refused whole, every bad line named, and the list in force stays`,
  },
  'proxy-from': {
    type: 'repeatable',
    value: 'CIDR',
    help: `the load balancers in front (repeatable): every connection must come from
one and start with a PROXY protocol v2 header, whose source address is the
client checked against the allow list (haproxy: send-proxy-v2)`,
  },
  'private-only': {
    type: 'boolean',
    help: `listen only on private addresses and admit only clients with private,
loopback or link-local addresses (10/8, 172.16/12, 192.168/16, 100.64/10,
fc00::/7), whatever the allow list says`,
  },
  data: {
    type: 'string',
    value: 'DIR',
    help: 'state directory (ACME account and certificates under DIR/acme)',
  },
  'acme-challenge': {
    type: 'string',
    value: 'TYPE',
    help: `tls-alpn-01 (default with ACME: the CA connects to port 443, which must be
one of the --listen ports, or mapped to it) or http-01 (port 80, answered
on --acme-http-listen)`,
  },
  config: {
    type: 'string',
    value: 'FILE',
    notInFile: true,
    help: `JSON with any of these flags by long name, e.g. {"listen": ["0.0.0.0:8443"],
"route": ["ch.acme.example.com=10.0.1.5:8123"], "allow-file": "…"}; flags win`,
  },
  'log-level': {
    type: 'string',
    value: 'LEVEL',
    help: 'fatal, error, warn, info (default), debug, trace, silent',
  },
  ...HELP_FLAG,
} as const satisfies FlagTable;

const OWN_FLAGS = Object.keys(OWN);

// The listener flags of coordinator and relay, but for a metrics token: the ingress has no HTTP
// listener of its own to put /metrics on (--metrics-listen only).
const { 'metrics-token-file': _token, ...CERT_AND_METRICS_LISTEN } = LISTENER_FLAGS;

const FLAGS = { ...OWN, ...CERT_AND_METRICS_LISTEN } as const satisfies FlagTable;

/** The flags as a node:util parseArgs table (docs tests read the examples with it). */
export const OPTIONS = parseArgsOptions(FLAGS);

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
${optionLines(FLAGS, 25, OWN_FLAGS)}
certificate (one of; files are read again every 60 s and on SIGHUP; a new certificate is served to
new connections while open ones keep theirs):
  --tls-cert FILE, --tls-key FILE
  --acme-directory URL, --acme-domain NAME (repeatable), --acme-agree-tos, --acme-email ADDR,
  --acme-http-listen HOST:PORT (http-01), --acme-ca FILE (a private ACME CA's root)
metrics:
${optionLines(FLAGS, 31, [
  { flag: 'metrics-listen', help: 'GET /metrics over plain HTTP on this address (bind a private one)' },
])}
examples:
  sallyport ingress --data /var/lib/sallyport-ingress --listen 0.0.0.0:8443 --listen 0.0.0.0:9440 \\
    --route 8443/ch.acme.example.com=10.0.1.5:8123 --route 9440/ch.acme.example.com=10.0.1.5:9000 \\
    --allow-file /etc/sallyport/allow.txt --tls-cert /etc/ssl/ingress.pem --tls-key /etc/ssl/ingress.key

exit codes: 0 stopped by a signal, 1 could not start (a listener, a certificate), 2 bad usage or a
  configuration that cannot be enforced
`;

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

/** The flags as parsed (by the kit, or by node:util parseArgs with OPTIONS). */
type Flags = Partial<FlagValues<typeof FLAGS>>;

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

/** The allow lists, and the certificate source's spec with its ACME responder (not yet serving). */
interface IngressParts {
  allow: AllowList;
  proxyFrom: AllowList | undefined;
  certSpec: CertSpec;
  tlsAlpn01: TlsAlpn01Responder | undefined;
  /** The server, once it exists: the allow list's reloads tell it. */
  live: { server?: IngressServer };
}

/** Builds what the server needs; INGRESS_CONFIG / INGRESS_ALLOWLIST: a list that cannot be used. */
function buildParts(cfg: IngressConfig, log: Logger, metrics: IngressMetrics): IngressParts {
  let certSpec = cfg.certSpec;
  let tlsAlpn01: TlsAlpn01Responder | undefined;
  if (certSpec.kind === 'acme' && cfg.challenge === 'tls-alpn-01') {
    tlsAlpn01 = new TlsAlpn01Responder();
    const { http01Listen: _unused, ...rest } = certSpec;
    certSpec = { ...rest, challenge: 'tls-alpn-01', tlsAlpn01 };
  }
  const live: { server?: IngressServer } = {};
  const allow = new AllowList({
    cidrs: cfg.allow,
    ...(cfg.allowFile ? { file: cfg.allowFile } : {}),
    clock: realClock,
    onReload: (r) => {
      metrics.allowReloads.inc({ result: r.ok ? 'ok' : 'failed' });
      if (r.ok) {
        log.info({ entries: r.entries }, 'allow list reloaded');
        live.server?.allowListChanged();
      } else
        log.error(
          { code: r.error.code, err: r.error.message },
          'allow list NOT reloaded: the list in force stays',
        );
    },
  });
  const proxyFrom = cfg.proxyFrom.length
    ? new AllowList({ cidrs: cfg.proxyFrom, clock: realClock })
    : undefined;
  return { allow, proxyFrom, certSpec, tlsAlpn01, live };
}

/** Starts the listeners and serves until SIGINT, SIGTERM or `signal`; SIGHUP rereads lists and files. */
async function serve(
  cfg: IngressConfig,
  parts: IngressParts,
  log: Logger,
  metrics: IngressMetrics,
  signal: AbortSignal | undefined,
): Promise<number> {
  const { allow, tlsAlpn01 } = parts;
  let certs: CertSource | undefined;
  let metricsServer: Awaited<ReturnType<typeof serveMetrics>> | undefined;
  let offHup: (() => void) | undefined;
  let stop: ReturnType<typeof onStop> | undefined;
  try {
    const certOpts = {
      clock: realClock,
      logger: log,
      onResult: (r: 'ok' | 'failed') => metrics.certRenewals.inc({ result: r }),
    };
    // http-01 and files: the certificate first (no listener without one). tls-alpn-01: the CA
    // validates on our own listener, so it comes up first and answers only validations until
    // the certificate is issued.
    if (!tlsAlpn01) certs = await openCertSource(parts.certSpec, certOpts);
    const server = new IngressServer({
      listeners: cfg.listeners,
      routes: new Routes(cfg.routes),
      allow,
      certs,
      ...(tlsAlpn01 ? { tlsAlpn01 } : {}),
      ...(parts.proxyFrom ? { proxyFrom: parts.proxyFrom } : {}),
      ...(cfg.privateOnly ? { privateOnly: true } : {}),
      clock: realClock,
      logger: log,
      metrics,
    });
    parts.live.server = server;
    const addrs = await server.start();
    if (tlsAlpn01) {
      certs = await openCertSource(parts.certSpec, certOpts);
      server.useCertificates(certs);
    }
    const metricsListen = cfg.metricsListen;
    if (metricsListen) metricsServer = await serveMetrics(metrics.registry, metricsListen);
    offHup = onHangup(() => {
      allow.reload();
      certs?.reload?.();
    });
    stop = onStop(signal);
    processIo.stdout(
      `ingress listening on ${addrs.map((x) => `${x.host}:${x.port}`).join(', ')}; ${allow.size} allowed ranges` +
        (metricsServer ? `; metrics on http://${metricsListen!.host}:${metricsServer.port}/metrics` : '') +
        '\n',
    );
    await stop.stopped;
    await server.stop();
    return 0;
  } catch (e) {
    await parts.live.server?.stop();
    const message = (e as Error).message;
    throw (e as { code?: string }).code === 'INGRESS_CONFIG'
      ? new UsageError(message, { cause: e })
      : new Failed(message, { cause: e });
  } finally {
    allow.stop();
    await metricsServer?.close();
    await certs?.stop();
    offHup?.();
    stop?.dispose();
  }
}

const COMMAND = { name: 'ingress', flags: FLAGS, help, config: { flag: 'config' } } as const;

export function run(argv: string[], opts: { signal?: AbortSignal } = {}): Promise<number> {
  return runCommand(
    COMMAND,
    argv,
    processIo,
    ({ values: a }) => {
      const cfg = ingressConfig(a);
      const log = pino({ level: cfg.logLevel, base: { cmd: 'ingress' } }, logDestination(1));
      const metrics = new IngressMetrics();
      return serve(cfg, buildParts(cfg, log, metrics), log, metrics, opts.signal);
    },
    { usageCodes: ['INGRESS_CONFIG', 'INGRESS_ALLOWLIST'] },
  );
}
