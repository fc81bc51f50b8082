// `sallyport relay`: runs a relay (TLS + HTTP upgrade + relay frames, /health, /metrics, STUN)
// until SIGINT or SIGTERM.
import { open, readFile, stat } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { pino, type Logger } from 'pino';
import { logDestination } from './log-output.ts';
import { realClock } from '../clock/index.ts';
import { PrivateKey, VerifyKey } from '../crypto/index.ts';
import { RelayServer } from '../relay/index.ts';
import { UsageError } from './io.ts';
import { applyConfigFile } from './config-file.ts';
import { dirname, join } from 'node:path';
import { openCertSource, type CertSource } from '../certs/index.ts';
import { serveMetrics } from '../util/metrics-http.ts';
import {
  LISTENER_HELP,
  LISTENER_OPTIONS,
  parseListenerFlags,
  type ListenerConfig,
} from './listener-flags.ts';

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
  --listen HOST:PORT   TLS listener, e.g. 0.0.0.0:443 or [::]:443 (env SALLYPORT_RELAY_LISTEN)
  --trust-key BASE64   a coordinator Ed25519 public key (32 bytes, base64); repeatable
                       (env SALLYPORT_RELAY_TRUST_KEYS, comma-separated)
  --region NAME        the region relay tokens must name (env SALLYPORT_RELAY_REGION)
  --key-file FILE      the relay's X25519 key (base64); created 0600 if missing
  --stun-port N        UDP port of the STUN responder on the listen host; omit for none
  --log-level LEVEL    pino level: fatal, error, warn, info (default), debug, trace, silent
  --config FILE        JSON with comments whose keys are these flags' long names, e.g.
                       { "listen": "0.0.0.0:8443", "trust-key": ["X7CA..."] }; flags win, then
                       environment, then the file
  --help               this text

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

const OPTIONS = {
  config: { type: 'string' },
  listen: { type: 'string' },
  ...LISTENER_OPTIONS,
  'trust-key': { type: 'string', multiple: true },
  region: { type: 'string' },
  'key-file': { type: 'string' },
  'stun-port': { type: 'string' },
  'log-level': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Flag → the environment variable that overrides the --config file for it. */
const ENV = {
  listen: 'SALLYPORT_RELAY_LISTEN',
  region: 'SALLYPORT_RELAY_REGION',
  'trust-key': 'SALLYPORT_RELAY_TRUST_KEYS',
} as const;

/** Runs the relay until a signal (or `opts.signal`); returns the exit code. */
export async function run(argv: string[], opts: { signal?: AbortSignal } = {}): Promise<number> {
  let a;
  try {
    a = parseArgs({ args: argv, options: OPTIONS, strict: true, allowPositionals: false }).values;
    if (a.config && !a.help) applyConfigFile(a, a.config, { options: OPTIONS, env: ENV });
  } catch (e) {
    process.stderr.write(`sallyport relay: ${(e as Error).message}\n\n${help}`);
    return 2;
  }
  if (a.help) {
    process.stdout.write(help);
    return 0;
  }
  const env = process.env;
  let listen: { host: string; port: number };
  let stunPort: number | undefined;
  let trusted: VerifyKey[];
  let listener: ListenerConfig;
  const region = a.region ?? env.SALLYPORT_RELAY_REGION;
  try {
    const l = a.listen ?? env.SALLYPORT_RELAY_LISTEN;
    if (!l) throw new UsageError('--listen HOST:PORT is required');
    listen = parseHostPort(l);
    if (!a['key-file']) throw new UsageError('--key-file FILE is required');
    listener = parseListenerFlags(a, join(dirname(a['key-file']), 'acme'));
    if (!listener.certs)
      throw new UsageError(
        'a listener certificate is required: --tls-cert FILE --tls-key FILE, or --acme-directory URL',
      );
    if (!region) throw new UsageError('--region NAME is required');
    const keys = a['trust-key'] ?? (env.SALLYPORT_RELAY_TRUST_KEYS ?? '').split(',').filter(Boolean);
    if (keys.length === 0) throw new UsageError('at least one --trust-key BASE64 is required');
    trusted = keys.map((k) => {
      try {
        return VerifyKey.fromBase64(k.trim());
      } catch {
        throw new UsageError(`--trust-key '${k}' is not a 32-byte Ed25519 key in base64`);
      }
    });
    if (a['stun-port'] !== undefined) {
      stunPort = Number(a['stun-port']);
      if (!Number.isInteger(stunPort) || stunPort < 0 || stunPort > 65535)
        throw new UsageError(`--stun-port wants a port number, got '${a['stun-port']}'`);
    }
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`sallyport relay: ${e.message}\n(see sallyport relay --help)\n`);
    return 2;
  }

  const log = pino(
    {
      level: a['log-level'] ?? 'info',
      base: { cmd: 'relay' },
      redact: {
        paths: ['token', '*.token', 'privateKey', '*.privateKey', 'key', '*.key'],
        censor: '[redacted]',
      },
    },
    logDestination(1),
  );
  let server: RelayServer;
  let certs: CertSource | undefined;
  try {
    const privateKey = await loadOrCreateKey(a['key-file']!, log);
    certs = await openCertSource(listener.certs!, { clock: realClock, logger: log });
    server = new RelayServer({
      clock: realClock,
      privateKey,
      trusted,
      region,
      listen,
      tls: certs.current(),
      ...(listener.metricsToken ? { metricsToken: listener.metricsToken } : {}),
      stunPort,
      logger: log,
    });
  } catch (e) {
    process.stderr.write(`sallyport relay: ${(e as Error).message}\n`);
    await certs?.stop();
    return 1;
  }
  // New handshakes get each renewed or reloaded certificate; open relay connections keep theirs.
  const source = certs;
  source.onChange((pair) => server.setCertificate(pair));
  const onHup = () => source.reload?.();
  process.on('SIGHUP', onHup);
  let metrics: Awaited<ReturnType<typeof serveMetrics>> | undefined;

  const ac = new AbortController();
  const onSignal = () => ac.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const onOuter = () => ac.abort();
  opts.signal?.addEventListener('abort', onOuter, { once: true });
  try {
    if (opts.signal?.aborted) return 0;
    const addr = await server.start();
    if (listener.metricsListen) metrics = await serveMetrics(server.registry, listener.metricsListen);
    process.stdout.write(
      `relay ${region} listening on ${listen.host}:${addr.port}` +
        (addr.stunPort !== undefined ? `, STUN on UDP ${addr.stunPort}` : '') +
        (metrics ? `, metrics on http://${listener.metricsListen!.host}:${metrics.port}/metrics` : '') +
        `\nserver key ${(server.health() as { serverKey: string }).serverKey}\n`,
    );
    await new Promise<void>((resolve) => {
      if (ac.signal.aborted) resolve();
      else ac.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    await server.stop();
    return 0;
  } catch (e) {
    process.stderr.write(`sallyport relay: ${(e as Error).message}\n`);
    await server.stop();
    return 1;
  } finally {
    await metrics?.close();
    await source.stop();
    process.off('SIGHUP', onHup);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    opts.signal?.removeEventListener('abort', onOuter);
  }
}
