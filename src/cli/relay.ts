// `sallyport relay`: runs a relay (TLS + HTTP upgrade + relay frames, /health, /metrics, STUN)
// until SIGINT or SIGTERM.
import { open, readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pino, type Logger } from 'pino';
import { openCertSource, type CertSource } from '../certs/index.ts';
import { realClock } from '../clock/index.ts';
import { PrivateKey, VerifyKey } from '../crypto/index.ts';
import { RelayServer } from '../relay/index.ts';
import { serveMetrics } from '../util/metrics-http.ts';
import {
  Failed,
  HELP_FLAG,
  UsageError,
  optionLines,
  processIo,
  runCommand,
  type FlagTable,
  type FlagValues,
} from './kit/index.ts';
import { LISTENER_FLAGS, LISTENER_HELP, parseListenerFlags, type ListenerConfig } from './listener-flags.ts';
import { logDestination } from './log-output.ts';
import { onHangup, onStop } from './signals.ts';

const OWN = {
  listen: {
    type: 'string',
    value: 'HOST:PORT',
    env: 'SALLYPORT_RELAY_LISTEN',
    required: '--listen HOST:PORT is required',
    help: 'TLS listener, e.g. 0.0.0.0:443 or [::]:443 (env SALLYPORT_RELAY_LISTEN)',
  },
  'trust-key': {
    type: 'repeatable',
    value: 'BASE64',
    env: 'SALLYPORT_RELAY_TRUST_KEYS',
    envSplit: ',',
    help: `a coordinator Ed25519 public key (32 bytes, base64); repeatable
(env SALLYPORT_RELAY_TRUST_KEYS, comma-separated)`,
  },
  region: {
    type: 'string',
    value: 'NAME',
    env: 'SALLYPORT_RELAY_REGION',
    help: 'the region relay tokens must name (env SALLYPORT_RELAY_REGION)',
  },
  'key-file': {
    type: 'string',
    value: 'FILE',
    help: "the relay's X25519 key (base64); created 0600 if missing",
  },
  'stun-port': {
    type: 'number',
    value: 'N',
    min: 0,
    max: 65535,
    invalid: (v) => `--stun-port wants a port number, got '${v}'`,
    help: 'UDP port of the STUN responder on the listen host; omit for none',
  },
  'log-level': {
    type: 'string',
    value: 'LEVEL',
    default: 'info',
    help: 'pino level: fatal, error, warn, info (default), debug, trace, silent',
  },
  config: {
    type: 'string',
    value: 'FILE',
    notInFile: true,
    help: `JSON with comments whose keys are these flags' long names, e.g.
{ "listen": "0.0.0.0:8443", "trust-key": ["X7CA..."] }; flags win, then
environment, then the file`,
  },
  ...HELP_FLAG,
} as const satisfies FlagTable;

const OWN_FLAGS = Object.keys(OWN);

const FLAGS = { ...OWN, ...LISTENER_FLAGS } as const satisfies FlagTable;

type RelayFlags = FlagValues<typeof FLAGS>;

export const help = `usage: sallyport relay --listen HOST:PORT --trust-key BASE64 --region NAME --key-file FILE
                       (--tls-cert FILE --tls-key FILE | --acme-directory URL --acme-domain NAME… --acme-agree-tos)
                       [--metrics-listen HOST:PORT | --metrics-token-file FILE]
                       [--stun-port N] [--log-level LEVEL] [--config FILE]

Runs a relay: TLS on --listen, GET /relay upgraded to relay frames (admission needs a relay token
signed by a --trust-key coordinator key and proof of the node key), POST /revocations (the
coordinator's list of node keys that lost access, signed by a --trust-key key: their connections
close and their tokens are refused), GET /health (JSON), and a STUN binding responder on UDP
--stun-port; GET /metrics (Prometheus) on --metrics-listen, or on the TLS listener with the token
of --metrics-token-file. With ACME, the account and certificate are kept in DIR/acme beside
--key-file. Stops cleanly on SIGINT/SIGTERM.

options:
${optionLines(FLAGS, 23, OWN_FLAGS)}
${LISTENER_HELP}
example:
  sallyport relay --listen 0.0.0.0:443 --tls-cert relay.crt --tls-key relay.key \\
    --trust-key X7CAF2/QJQA5Hq0Qf8ppgsJMqC1WnUTT37X8Xa/GTYM= --region eu-west-1 --key-file /var/lib/sallyport/relay.key --stun-port 3478

exit codes: 0 stopped by a signal, 1 could not start (files, keys, ports), 2 bad usage
`;

/** Parses HOST:PORT, [V6]:PORT. */
export function parseHostPort(s: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(s);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new UsageError(`--listen wants HOST:PORT or [V6]:PORT, got '${s}'`);
  return { host: m[1] ?? m[2], port };
}

/** Reads the relay's X25519 key, or creates it (0600, never overwriting) if the file is missing. */
export async function loadOrCreateKey(file: string, log?: Logger): Promise<PrivateKey> {
  try {
    const st = await stat(file);
    if ((st.mode & 0o077) !== 0)
      log?.warn({ file, mode: (st.mode & 0o777).toString(8) }, 'key file is readable by others: chmod 600');
    return PrivateKey.fromBase64(await readFile(file, 'utf8'));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const key = PrivateKey.generate();
  const fh = await open(file, 'wx', 0o600);
  try {
    await fh.writeFile(Buffer.from(key.unsafeBytes()).toString('base64') + '\n');
  } finally {
    await fh.close();
  }
  log?.info({ file, serverKey: key.publicKey.fingerprint() }, 'created relay key');
  return key;
}

/** What the flags say, checked together. */
interface RelaySettings {
  listen: { host: string; port: number };
  keyFile: string;
  listener: ListenerConfig & { certs: NonNullable<ListenerConfig['certs']> };
  region: string;
  trusted: VerifyKey[];
}

/** Checks the flags (UsageError names the fix), in the order a person fixes them. */
function settingsOf(a: RelayFlags): RelaySettings {
  const listen = parseHostPort(a.listen);
  const keyFile = a['key-file'];
  if (!keyFile) throw new UsageError('--key-file FILE is required');
  const listener = parseListenerFlags(a, join(dirname(keyFile), 'acme'));
  const certs = listener.certs;
  if (!certs)
    throw new UsageError(
      'a listener certificate is required: --tls-cert FILE --tls-key FILE, or --acme-directory URL',
    );
  if (!a.region) throw new UsageError('--region NAME is required');
  const keys = a['trust-key'] ?? [];
  if (keys.length === 0) throw new UsageError('at least one --trust-key BASE64 is required');
  const trusted = keys.map((k) => {
    try {
      return VerifyKey.fromBase64(k.trim());
    } catch (e) {
      throw new UsageError(`--trust-key '${k}' is not a 32-byte Ed25519 key in base64`, { cause: e });
    }
  });
  return { listen, keyFile, listener: { ...listener, certs }, region: a.region, trusted };
}

function relayLogger(level: string): Logger {
  return pino(
    {
      level,
      base: { cmd: 'relay' },
      redact: {
        paths: ['token', '*.token', 'privateKey', '*.privateKey', 'key', '*.key'],
        censor: '[redacted]',
      },
    },
    logDestination(1),
  );
}

/** The key, the certificate source and the server, not yet listening; Failed when one cannot be had. */
async function openRelay(
  a: RelayFlags,
  s: RelaySettings,
  log: Logger,
): Promise<{ server: RelayServer; certs: CertSource }> {
  let certs: CertSource | undefined;
  try {
    const privateKey = await loadOrCreateKey(s.keyFile, log);
    certs = await openCertSource(s.listener.certs, { clock: realClock, logger: log });
    const server = new RelayServer({
      clock: realClock,
      privateKey,
      trusted: s.trusted,
      region: s.region,
      listen: s.listen,
      tls: certs.current(),
      ...(s.listener.metricsToken ? { metricsToken: s.listener.metricsToken } : {}),
      stunPort: a['stun-port'],
      logger: log,
    });
    return { server, certs };
  } catch (e) {
    await certs?.stop();
    throw new Failed((e as Error).message, { cause: e });
  }
}

/** Listens until SIGINT, SIGTERM or `signal`; new handshakes get each renewed certificate. */
async function serve(
  s: RelaySettings,
  { server, certs }: { server: RelayServer; certs: CertSource },
  signal: AbortSignal | undefined,
): Promise<number> {
  // Open relay connections keep the certificate they started with.
  certs.onChange((pair) => server.setCertificate(pair));
  const offHup = onHangup(() => certs.reload?.());
  const stop = onStop(signal);
  let metrics: Awaited<ReturnType<typeof serveMetrics>> | undefined;
  try {
    if (stop.signal.aborted) return 0;
    const addr = await server.start();
    const ml = s.listener.metricsListen;
    if (ml) metrics = await serveMetrics(server.registry, ml);
    processIo.stdout(
      `relay ${s.region} listening on ${s.listen.host}:${addr.port}` +
        (addr.stunPort !== undefined ? `, STUN on UDP ${addr.stunPort}` : '') +
        (metrics ? `, metrics on http://${ml!.host}:${metrics.port}/metrics` : '') +
        `\nserver key ${(server.health() as { serverKey: string }).serverKey}\n`,
    );
    await stop.stopped;
    await server.stop();
    return 0;
  } catch (e) {
    await server.stop();
    throw new Failed((e as Error).message, { cause: e });
  } finally {
    await metrics?.close();
    await certs.stop();
    offHup();
    stop.dispose();
  }
}

const COMMAND = { name: 'relay', flags: FLAGS, help, config: { flag: 'config' } } as const;

/** Runs the relay until a signal (or `opts.signal`); returns the exit code. */
export function run(argv: string[], opts: { signal?: AbortSignal } = {}): Promise<number> {
  return runCommand(COMMAND, argv, processIo, async ({ values: a }) => {
    const s = settingsOf(a);
    const log = relayLogger(a['log-level']);
    return serve(s, await openRelay(a, s, log), opts.signal);
  });
}
