// `sallyport coordinator`: runs the coordinator until SIGINT or SIGTERM. Its flags and --help:
// coordinator-flags.ts. A setting that cannot work refuses to start (exit 2) before anything
// is created; one that fails at start (a port, a database) exits 1.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  Coordinator,
  createLogger,
  parseRelaySpec,
  parseWebhookUrls,
  type RelayConfig,
} from '../control/index.ts';
import { COORDINATOR_FLAGS, help, type CoordinatorFlags } from './coordinator-flags.ts';
import { Failed, UsageError, processIo, runCommand } from './kit/index.ts';
import { parseListenerFlags, type ListenerConfig } from './listener-flags.ts';
import { logDestination } from './log-output.ts';
import { parseOidcFlags, type OidcConfig } from './oidc-flags.ts';
import { onHangup, onStop } from './signals.ts';

export { OPTIONS, help } from './coordinator-flags.ts';

/** What the flags say, checked together. */
interface CoordinatorSettings {
  dataDir: string;
  listen: { host: string; port: number };
  listener: ListenerConfig;
  sso: OidcConfig;
  relays: RelayConfig[];
  relayCa: string | undefined;
  webhooks: string[];
}

function parseHostPort(s: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(s);
  if (!m || Number(m[3]) > 65535) return undefined;
  return { host: m[1] ?? m[2], port: Number(m[3]) };
}

/** Checks what the flags say (UsageError names the fix); reads only the files they name. */
function settingsOf(a: CoordinatorFlags): CoordinatorSettings {
  const listen = parseHostPort(a.listen);
  if (!listen) throw new UsageError(`--listen wants HOST:PORT, got '${a.listen}'`);
  const listener = parseListenerFlags(a, join(a.data, 'acme'));
  const sso = parseOidcFlags(a, process.env);
  let relays: RelayConfig[];
  try {
    relays = (a.relay ?? []).map(parseRelaySpec);
  } catch (e) {
    throw new UsageError((e as Error).message, { cause: e });
  }
  let relayCa: string | undefined;
  if (a['relay-ca']) {
    try {
      relayCa = readFileSync(a['relay-ca'], 'utf8');
    } catch (e) {
      throw new UsageError(`--relay-ca ${a['relay-ca']}: ${(e as Error).message}`, { cause: e });
    }
  }
  const webhooks = a.webhook ?? [];
  try {
    parseWebhookUrls(webhooks);
  } catch (e) {
    throw new UsageError((e as Error).message, { cause: e });
  }
  return { dataDir: a.data, listen, listener, sso, relays, relayCa, webhooks };
}

async function start(a: CoordinatorFlags, s: CoordinatorSettings): Promise<Coordinator> {
  // With --json, stdout carries only the JSON line: logs go to stderr.
  const logger = createLogger({ level: a['log-level'], destination: logDestination(a.json ? 2 : 1) });
  const every = a['audit-checkpoint-every'];
  try {
    return await Coordinator.start({
      dataDir: s.dataDir,
      ...(a.db ? { db: a.db } : {}),
      ...(a.instance ? { instance: a.instance } : {}),
      listen: s.listen,
      suffix: a.suffix,
      relays: s.relays,
      ...(s.relayCa ? { relayCa: s.relayCa } : {}),
      ...(s.listener.certs ? { certs: s.listener.certs } : {}),
      metrics: {
        ...(s.listener.metricsToken ? { token: s.listener.metricsToken } : {}),
        ...(s.listener.metricsListen ? { listen: s.listener.metricsListen } : {}),
      },
      hostnames: a.hostname ?? [],
      webhooks: s.webhooks,
      logger,
      ...(a['no-console'] ? { console: false } : {}),
      ...(every !== undefined ? { auditCheckpointEvery: every } : {}),
      ...s.sso,
    });
  } catch (e) {
    throw new Failed(`could not start: ${String((e as Error).message ?? e)}`, { cause: e });
  }
}

/** The values agents and relays need: one JSON line with --json, else lines for people. */
function startupText(coord: Coordinator, a: CoordinatorFlags, s: CoordinatorSettings): string {
  const db = a.db?.startsWith('postgres') ? 'postgres' : (a.db ?? join(s.dataDir, 'coordinator.db'));
  const { listener, sso } = s;
  const metricsUrl =
    coord.metricsPort !== undefined
      ? `http://${listener.metricsListen!.host}:${coord.metricsPort}/metrics`
      : undefined;
  const cert = coord.certs.status();
  if (a.json)
    return (
      JSON.stringify({
        url: coord.url,
        channelKey: coord.publicKey,
        tlsFingerprint: coord.tls.fingerprint,
        relayTrustKey: coord.keys.signingKey.verifyKey.base64(),
        data: s.dataDir,
        database: db,
        console: a['no-console'] ? null : `${coord.url}/console/`,
        oidc: sso.oidc ? sso.oidc.issuer : null,
        certificate: cert.kind,
        metrics: metricsUrl ?? null,
      }) + '\n'
    );
  return [
    `coordinator listening on ${coord.url}`,
    `  channel key (agents pin):   ${coord.publicKey}`,
    `  TLS fingerprint (SHA-256):  ${coord.tls.fingerprint}`,
    `  relay trust key (Ed25519):  ${coord.keys.signingKey.verifyKey.base64()}`,
    `  data:                       ${s.dataDir}${db === 'postgres' ? '' : ` (database ${db})`}`,
    `  console:                    ${a['no-console'] ? 'off (--no-console)' : `${coord.url}/console/`}`,
    `  sign-in:                    password${sso.oidc ? ` and ${sso.oidc.issuer} (console, and the CLI's device flow)` : ''}`,
    `  certificate:                ${cert.kind}, until ${new Date(cert.current.notAfterMs).toISOString()}`,
    `  metrics:                    ${metricsUrl ?? (listener.metricsToken ? `${coord.url}/metrics (bearer token)` : 'off (--metrics-listen or --metrics-token-file)')}`,
    '',
  ].join('\n');
}

/** Serves until SIGINT, SIGTERM or `signal`, reloading the listener certificate on SIGHUP. */
async function serve(coord: Coordinator, signal: AbortSignal | undefined): Promise<number> {
  const stop = onStop(signal);
  const offHup = onHangup(() => coord.certs.reload?.());
  try {
    await stop.stopped;
  } finally {
    offHup();
    stop.dispose();
  }
  await coord.stop();
  return 0;
}

const COMMAND = { name: 'coordinator', flags: COORDINATOR_FLAGS, help, config: { flag: 'config' } } as const;

export function run(argv: string[], opts: { signal?: AbortSignal } = {}): Promise<number> {
  return runCommand(COMMAND, argv, processIo, async ({ values: a }) => {
    const s = settingsOf(a);
    const coord = await start(a, s);
    processIo.stdout(startupText(coord, a, s));
    return serve(coord, opts.signal);
  });
}
