// `sallyport coordinator`'s flags, each with its SALLYPORT_* variable where it has one, and its
// --help text (the listener and sign-in flags: listener-flags.ts, oidc-flags.ts).
import { HELP_FLAG, optionLines, parseArgsOptions, type FlagTable, type FlagValues } from './kit/index.ts';
import { LISTENER_FLAGS, LISTENER_HELP } from './listener-flags.ts';
import { OIDC_FLAGS, OIDC_HELP } from './oidc-flags.ts';

const OWN = {
  data: {
    type: 'string',
    value: 'DIR',
    env: 'SALLYPORT_DATA',
    required: true,
    help: 'state directory (env SALLYPORT_DATA)',
  },
  db: {
    type: 'string',
    value: 'URL',
    env: 'SALLYPORT_DB',
    help: `postgres://user@host:port/db (a PostgreSQL database, which several
coordinators with the same key files may share: each one's agents get the
netmap changes made on any of them, through LISTEN/NOTIFY, and one of them
at a time, holding an advisory lock, runs the expiry and standing-grant
timers; /health shows which), or a SQLite file path (one coordinator);
default DIR/coordinator.db (env SALLYPORT_DB)`,
  },
  instance: {
    type: 'string',
    value: 'NAME',
    env: 'SALLYPORT_INSTANCE',
    help: `this coordinator's name among several on one PostgreSQL, shown in /health
as the timer owner and in pg_stat_activity; 1-40 of A-Z a-z 0-9 . _ : -;
default the host name and a random suffix (env SALLYPORT_INSTANCE)`,
  },
  listen: {
    type: 'string',
    value: 'HOST:PORT',
    env: 'SALLYPORT_LISTEN',
    default: '127.0.0.1:8443',
    help: 'HTTPS listener; default 127.0.0.1:8443 (env SALLYPORT_LISTEN)',
  },
  suffix: {
    type: 'string',
    value: 'DOMAIN',
    required: '--suffix DOMAIN is required, e.g. --suffix byoc.example.com',
    help: 'tailnet suffix: services are <service>.<deployment>.<region>.<cloud>.DOMAIN',
  },
  relay: {
    type: 'repeatable',
    value: 'SPEC',
    help: `REGION=https://HOST:PORT[,stun=PORT]; repeatable. Every few seconds, and at
once when a node is revoked or a user disabled, the coordinator POSTs its
signed list of nodes that lost access to each relay (URL/revocations): the
relay drops them within seconds, not at their relay tokens' expiry`,
  },
  'relay-ca': {
    type: 'string',
    value: 'FILE',
    help: `PEM CA certificates to trust for the relays' TLS listeners (default: the
system's); the list is signed, TLS only keeps it private`,
  },
  hostname: {
    type: 'repeatable',
    value: 'NAME',
    help: `extra DNS name or IP for the self-signed certificate (made when neither
--tls-cert nor --acme-directory is given); repeatable`,
  },
  'no-console': {
    type: 'boolean',
    help: 'do not serve the browser console (/console/); the API is unchanged',
  },
  webhook: {
    type: 'repeatable',
    value: 'URL',
    env: 'SALLYPORT_WEBHOOKS',
    envSplit: /\s+/,
    help: `POST access notifications (request, decision, grant start and end) to URL
as Slack-compatible JSON ({ text, blocks }); repeatable (env SALLYPORT_WEBHOOKS,
space-separated)`,
  },
  'audit-checkpoint-every': {
    type: 'number',
    value: 'N',
    env: 'SALLYPORT_AUDIT_CHECKPOINT_EVERY',
    min: 1,
    max: 999_999_999,
    invalid: (v) => `--audit-checkpoint-every wants a positive number of records, got '${v}'`,
    help: `sign an audit checkpoint every N records (default 100; env
SALLYPORT_AUDIT_CHECKPOINT_EVERY); the records after the last one are the
window a database writer could rewrite unseen`,
  },
  'log-level': {
    type: 'string',
    value: 'LEVEL',
    env: 'SALLYPORT_LOG_LEVEL',
    default: 'info',
    help: 'fatal, error, warn, info (default), debug, trace, silent',
  },
  json: {
    type: 'boolean',
    help: `print the start-up values as one JSON line {url, channelKey, tlsFingerprint,
relayTrustKey, data} (logs stay on stderr)`,
  },
  config: {
    type: 'string',
    value: 'FILE',
    notInFile: true,
    help: `JSON with comments whose keys are these flags' long names, e.g.
{ "data": "/var/lib/sallyport", "relay": ["eu-west-1=https://relay-eu:443"] };
flags win, then environment, then the file`,
  },
  ...HELP_FLAG,
} as const satisfies FlagTable;

const OWN_FLAGS = Object.keys(OWN);

export const COORDINATOR_FLAGS = { ...OWN, ...LISTENER_FLAGS, ...OIDC_FLAGS } as const satisfies FlagTable;

export type CoordinatorFlags = FlagValues<typeof COORDINATOR_FLAGS>;

/** The flags as a node:util parseArgs table (docs tests read the examples with it). */
export const OPTIONS = parseArgsOptions(COORDINATOR_FLAGS);

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
${optionLines(COORDINATOR_FLAGS, 24, OWN_FLAGS)}
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
