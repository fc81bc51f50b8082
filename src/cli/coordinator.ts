// `sallyport coordinator`: runs the coordinator until SIGINT or SIGTERM.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import {
  Coordinator,
  createLogger,
  parseRelaySpec,
  parseWebhookUrls,
  ControlError,
  type RelayConfig,
} from '../control/index.ts';
import { applyConfigFile } from './config-file.ts';
import { UsageError } from './io.ts';
import { logDestination } from './log-output.ts';
import {
  LISTENER_HELP,
  LISTENER_OPTIONS,
  parseListenerFlags,
  type ListenerConfig,
} from './listener-flags.ts';
import { OIDC_HELP, OIDC_OPTIONS, parseOidcFlags, type OidcConfig } from './oidc-flags.ts';

export const help = `usage: sallyport coordinator --data DIR --suffix DOMAIN [--listen HOST:PORT] [--db postgres://…]
                             [--relay REGION=URL[,stun=PORT]]… [--relay-ca FILE]
                             [--tls-cert FILE --tls-key FILE | --acme-directory URL --acme-domain NAME… --acme-agree-tos]
                             [--metrics-listen HOST:PORT | --metrics-token-file FILE]
                             [--hostname NAME]… [--webhook URL]… [--no-console] [--log-level LEVEL] [--json]
                             [--oidc-issuer URL --oidc-client-id ID --oidc-client-secret-file FILE --public-url URL]
                             [--config FILE]

Runs the coordinator: the admin API under /api/v1 (OpenAPI document at /openapi.json), the agent
channel (WebSocket /agent/v1, Noise IK), the console (/console/) and /health over HTTPS, and
/metrics (Prometheus) on a listener of its own or with a token.
On first start it creates under DIR (0600): its X25519 channel key (coordinator.key), its Ed25519
relay-token signing key (signing.key), a self-signed listener certificate (tls/) unless --tls-cert
is given, the SQLite database (coordinator.db) unless --db is given, and the user "admin" with a
random password in DIR/initial-admin-password; with ACME, the account and certificate under
DIR/acme. Its Ed25519 audit key (audit.key) signs a checkpoint
of the audit log every --audit-checkpoint-every records and at each export; DIR/audit-anchor.json
keeps the last one signed, outside the database: a log rewritten below it is never signed again
(AUDIT_REWRITE logged, /health 503; docs/security-model.md, "Audit anchoring").

options:
  --data DIR            state directory (env SALLYPORT_DATA)
  --db URL              postgres://user@host:port/db (a PostgreSQL database, which several
                        coordinators with the same key files may share: each one's agents get the
                        netmap changes made on any of them, through LISTEN/NOTIFY, and one of them
                        at a time, holding an advisory lock, runs the expiry and standing-grant
                        timers; /health shows which), or a SQLite file path (one coordinator);
                        default DIR/coordinator.db (env SALLYPORT_DB)
  --instance NAME       this coordinator's name among several on one PostgreSQL, shown in /health
                        as the timer owner and in pg_stat_activity; 1-40 of A-Z a-z 0-9 . _ : -;
                        default the host name and a random suffix (env SALLYPORT_INSTANCE)
  --listen HOST:PORT    HTTPS listener; default 127.0.0.1:8443 (env SALLYPORT_LISTEN)
  --suffix DOMAIN       tailnet suffix: services are <service>.<deployment>.<region>.<cloud>.DOMAIN
  --relay SPEC          REGION=https://HOST:PORT[,stun=PORT]; repeatable. Every few seconds, and at
                        once when a node is revoked or a user disabled, the coordinator POSTs its
                        signed list of nodes that lost access to each relay (URL/revocations): the
                        relay drops them within seconds, not at their relay tokens' expiry
  --relay-ca FILE       PEM CA certificates to trust for the relays' TLS listeners (default: the
                        system's); the list is signed, TLS only keeps it private
  --hostname NAME       extra DNS name or IP for the self-signed certificate (made when neither
                        --tls-cert nor --acme-directory is given); repeatable
  --no-console          do not serve the browser console (/console/); the API is unchanged
  --webhook URL         POST access notifications (request, decision, grant start and end) to URL
                        as Slack-compatible JSON ({ text, blocks }); repeatable (env SALLYPORT_WEBHOOKS,
                        space-separated)
  --audit-checkpoint-every N
                        sign an audit checkpoint every N records (default 100; env
                        SALLYPORT_AUDIT_CHECKPOINT_EVERY); the records after the last one are the
                        window a database writer could rewrite unseen
  --log-level LEVEL     fatal, error, warn, info (default), debug, trace, silent
  --json                print the start-up values as one JSON line {url, channelKey, tlsFingerprint,
                        relayTrustKey, data} (logs stay on stderr)
  --config FILE         JSON with comments whose keys are these flags' long names, e.g.
                        { "data": "/var/lib/sallyport", "relay": ["eu-west-1=https://relay-eu:443"] };
                        flags win, then environment, then the file
  --help                this text

${LISTENER_HELP}
${OIDC_HELP}
It prints the values agents and relays need: the URL, the channel key agents pin, the listener
certificate's SHA-256 fingerprint, and the signing key relays trust (sallyport relay --trust-key).

examples:
  sallyport coordinator --data /var/lib/sallyport --listen 0.0.0.0:8443 --suffix byoc.example.com \\
    --relay eu-west-1=https://relay-eu.example.com:443,stun=3478
  sallyport coordinator --data ./coord --suffix byoc.example.com --json | head -1 | jq -r .channelKey
  sallyport coordinator --data /var/lib/sallyport --listen 0.0.0.0:443 --suffix byoc.example.com \
    --acme-directory https://acme-v02.api.letsencrypt.org/directory --acme-domain coord.example.com \
    --acme-agree-tos --acme-email ops@example.com --metrics-listen 10.0.0.5:9464

On SIGTERM or SIGINT it drains: new agent channels get 503, open ones are closed with code 1012 so
their agents move to another coordinator (agents given several with a repeated --coordinator), and
it exits once they have gone (at most 2 s). SIGHUP reloads --tls-cert/--tls-key.

exit codes: 0 stopped by a signal, 1 could not start, 2 bad usage
`;

function parseHostPort(s: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(s);
  if (!m || Number(m[3]) > 65535) return undefined;
  return { host: m[1] ?? m[2], port: Number(m[3]) };
}

export const OPTIONS = {
  config: { type: 'string' },
  data: { type: 'string' },
  db: { type: 'string' },
  instance: { type: 'string' },
  listen: { type: 'string' },
  suffix: { type: 'string' },
  relay: { type: 'string', multiple: true },
  'relay-ca': { type: 'string' },
  ...LISTENER_OPTIONS,
  ...OIDC_OPTIONS,
  hostname: { type: 'string', multiple: true },
  webhook: { type: 'string', multiple: true },
  'no-console': { type: 'boolean' },
  'audit-checkpoint-every': { type: 'string' },
  'log-level': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean' },
} as const;

/** Flag → the environment variable that overrides the --config file for it. */
const ENV = {
  data: 'SALLYPORT_DATA',
  db: 'SALLYPORT_DB',
  instance: 'SALLYPORT_INSTANCE',
  listen: 'SALLYPORT_LISTEN',
  webhook: 'SALLYPORT_WEBHOOKS',
  'audit-checkpoint-every': 'SALLYPORT_AUDIT_CHECKPOINT_EVERY',
  'log-level': 'SALLYPORT_LOG_LEVEL',
} as const;

export async function run(argv: string[], opts: { signal?: AbortSignal } = {}): Promise<number> {
  let a;
  try {
    a = parseArgs({ args: argv, options: OPTIONS, strict: true, allowPositionals: false }).values;
    if (a.config && !a.help) applyConfigFile(a, a.config, { options: OPTIONS, env: ENV });
  } catch (e) {
    process.stderr.write(`sallyport coordinator: ${(e as Error).message}\n\n${help}`);
    return 2;
  }
  if (a.help) {
    process.stdout.write(help);
    return 0;
  }
  const usage = (msg: string) => {
    process.stderr.write(
      `sallyport coordinator: ${msg}\nRun 'sallyport coordinator --help' for the options.\n`,
    );
    return 2;
  };
  const dataDir = a.data ?? process.env.SALLYPORT_DATA;
  if (!dataDir) return usage('--data DIR is required');
  if (!a.suffix) return usage('--suffix DOMAIN is required, e.g. --suffix byoc.example.com');
  const listen = parseHostPort(a.listen ?? process.env.SALLYPORT_LISTEN ?? '127.0.0.1:8443');
  if (!listen) return usage(`--listen wants HOST:PORT, got '${a.listen}'`);
  let listener: ListenerConfig;
  try {
    listener = parseListenerFlags(a, join(dataDir, 'acme'));
  } catch (e) {
    if (e instanceof UsageError) return usage(e.message);
    throw e;
  }
  let sso: OidcConfig;
  try {
    sso = parseOidcFlags(a, process.env);
  } catch (e) {
    if (e instanceof UsageError) return usage(e.message);
    throw e;
  }
  let relays: RelayConfig[];
  try {
    relays = (a.relay ?? []).map(parseRelaySpec);
  } catch (e) {
    return usage((e as Error).message);
  }
  let relayCa: string | undefined;
  if (a['relay-ca']) {
    try {
      relayCa = readFileSync(a['relay-ca'], 'utf8');
    } catch (e) {
      return usage(`--relay-ca ${a['relay-ca']}: ${(e as Error).message}`);
    }
  }
  const webhooks = a.webhook ?? (process.env.SALLYPORT_WEBHOOKS ?? '').split(/\s+/).filter(Boolean);
  try {
    parseWebhookUrls(webhooks);
  } catch (e) {
    return usage((e as Error).message);
  }
  const every = a['audit-checkpoint-every'] ?? process.env.SALLYPORT_AUDIT_CHECKPOINT_EVERY;
  if (every !== undefined && !(/^[0-9]{1,9}$/.test(every) && Number(every) >= 1))
    return usage(`--audit-checkpoint-every wants a positive number of records, got '${every}'`);
  // With --json, stdout carries only the JSON line: logs go to stderr.
  const logger = createLogger({
    level: a['log-level'] ?? process.env.SALLYPORT_LOG_LEVEL ?? 'info',
    destination: logDestination(a.json ? 2 : 1),
  });
  const db = a.db ?? process.env.SALLYPORT_DB;
  const instance = a.instance ?? process.env.SALLYPORT_INSTANCE;
  let coord: Coordinator;
  try {
    coord = await Coordinator.start({
      dataDir,
      ...(db ? { db } : {}),
      ...(instance ? { instance } : {}),
      listen,
      suffix: a.suffix,
      relays,
      ...(relayCa ? { relayCa } : {}),
      ...(listener.certs ? { certs: listener.certs } : {}),
      metrics: {
        ...(listener.metricsToken ? { token: listener.metricsToken } : {}),
        ...(listener.metricsListen ? { listen: listener.metricsListen } : {}),
      },
      hostnames: a.hostname ?? [],
      webhooks,
      logger,
      ...(a['no-console'] ? { console: false } : {}),
      ...(every !== undefined ? { auditCheckpointEvery: Number(every) } : {}),
      ...sso,
    });
  } catch (e) {
    const msg = e instanceof ControlError ? e.message : String((e as Error).message ?? e);
    process.stderr.write(`sallyport coordinator: could not start: ${msg}\n`);
    return 1;
  }
  const dbText = db?.startsWith('postgres') ? 'postgres' : (db ?? join(dataDir, 'coordinator.db'));
  if (a.json)
    process.stdout.write(
      JSON.stringify({
        url: coord.url,
        channelKey: coord.publicKey,
        tlsFingerprint: coord.tls.fingerprint,
        relayTrustKey: coord.keys.signingKey.verifyKey.base64(),
        data: dataDir,
        database: dbText,
        console: a['no-console'] ? null : `${coord.url}/console/`,
        oidc: sso.oidc ? sso.oidc.issuer : null,
        certificate: coord.certs.status().kind,
        metrics:
          coord.metricsPort !== undefined
            ? `http://${listener.metricsListen!.host}:${coord.metricsPort}/metrics`
            : null,
      }) + '\n',
    );
  else
    process.stdout.write(
      [
        `coordinator listening on ${coord.url}`,
        `  channel key (agents pin):   ${coord.publicKey}`,
        `  TLS fingerprint (SHA-256):  ${coord.tls.fingerprint}`,
        `  relay trust key (Ed25519):  ${coord.keys.signingKey.verifyKey.base64()}`,
        `  data:                       ${dataDir}${dbText === 'postgres' ? '' : ` (database ${dbText})`}`,
        `  console:                    ${a['no-console'] ? 'off (--no-console)' : `${coord.url}/console/`}`,
        `  sign-in:                    password${sso.oidc ? ` and ${sso.oidc.issuer} (console, and the CLI's device flow)` : ''}`,
        `  certificate:                ${coord.certs.status().kind}, until ${new Date(coord.certs.status().current.notAfterMs).toISOString()}`,
        `  metrics:                    ${coord.metricsPort !== undefined ? `http://${listener.metricsListen!.host}:${coord.metricsPort}/metrics` : listener.metricsToken ? `${coord.url}/metrics (bearer token)` : 'off (--metrics-listen or --metrics-token-file)'}`,
        '',
      ].join('\n'),
    );
  const onHup = () => coord.certs.reload?.();
  process.on('SIGHUP', onHup);
  await new Promise<void>((resolve) => {
    const done = () => resolve();
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
    opts.signal?.addEventListener('abort', done, { once: true });
  });
  process.off('SIGHUP', onHup);
  await coord.stop();
  return 0;
}
