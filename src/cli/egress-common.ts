// What `sallyport billing-scraper` and `sallyport state-exporter` share: the spool, AWS, identity
// and metrics flags, their parsing, and the run-until-a-signal lifecycle around a Drainer.
import { hostname } from 'node:os';
import { pino, type Logger } from 'pino';
import { logDestination } from './log-output.ts';
import { realClock } from '../clock/index.ts';
import { Drainer, type Sink } from '../egress/drain.ts';
import { EgressError } from '../egress/errors.ts';
import { egressRegistry, serveMetrics, type EgressMetricsSource } from '../egress/metrics.ts';
import { SPOOL_POLICIES, Spool, type SpoolPolicy } from '../egress/spool.ts';
import { checkName } from '../egress/usage.ts';
import { UsageError } from './io.ts';

/** The parseArgs options both commands take. */
export const COMMON_OPTIONS = {
  deployment: { type: 'string' },
  host: { type: 'string' },
  region: { type: 'string' },
  endpoint: { type: 'string' },
  interval: { type: 'string' },
  'spool-dir': { type: 'string' },
  'spool-max-bytes': { type: 'string' },
  'spool-max-records': { type: 'string' },
  'spool-policy': { type: 'string' },
  'metrics-listen': { type: 'string' },
  'log-level': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** The help lines of COMMON_OPTIONS. */
export const COMMON_HELP = `  --deployment NAME        deployment name, the first part of every key (env SALLYPORT_DEPLOYMENT)
  --host NAME              this host's name in keys and ids (default: the hostname)
  --region NAME            AWS region (default: AWS_REGION or AWS_DEFAULT_REGION)
  --endpoint URL           service endpoint, e.g. a VPC interface endpoint (default: the region's)
  --spool-dir DIR          the durable local spool (required; one process per directory)
  --spool-max-bytes N      spool bound in bytes, K/M/G suffixes allowed (default 64M)
  --spool-max-records N    spool bound in records (default 100000)
  --spool-policy P         when the spool is full: drop-oldest (default) or refuse-new; both counted
  --metrics-listen H:P     serve GET /metrics on this address, e.g. 127.0.0.1:9464 (default: off)
  --log-level LEVEL        pino level: fatal, error, warn, info (default), debug, trace, silent
  --help                   this text

Credentials come from the AWS SDK's default chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY,
AWS_PROFILE, web identity, instance or pod role) and are never logged.`;

type Values = Partial<Record<keyof typeof COMMON_OPTIONS, string | boolean>>;

/** HOST:PORT or [V6]:PORT (port 0: any free port). */
export function parseListen(flag: string, s: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:\s]+)):(\d{1,5})$/.exec(s);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new UsageError(`${flag} wants HOST:PORT, e.g. 127.0.0.1:9464; got '${s}'`);
  return { host: m[1] ?? m[2], port };
}

/** "500ms", "10s", "5m", "1h" → milliseconds. */
export function parseInterval(flag: string, s: string): number {
  const m = /^(\d{1,7})(ms|s|m|h)$/.exec(s);
  if (!m) throw new UsageError(`${flag} wants a duration such as 500ms, 10s, 5m, 1h; got '${s}'`);
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
}

/** "4096", "64K", "64M", "1G" → bytes. */
export function parseSize(flag: string, s: string): number {
  const m = /^(\d{1,12})([KMG]?)$/i.exec(s);
  if (!m) throw new UsageError(`${flag} wants a size such as 65536, 64K, 64M, 1G; got '${s}'`);
  const n =
    Number(m[1]) * { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[m[2].toUpperCase() as '' | 'K' | 'M' | 'G'];
  if (!Number.isSafeInteger(n) || n <= 0) throw new UsageError(`${flag}: ${s} is out of range`);
  return n;
}

export interface CommonConfig {
  deployment: string;
  host: string;
  region: string;
  endpoint: string | undefined;
  spool: { dir: string; maxBytes: number; maxRecords: number; policy: SpoolPolicy };
  metrics: { host: string; port: number } | undefined;
  logLevel: string;
}

/** Validates the shared flags (UsageError names the fix). */
export function commonConfig(a: Values, env: Record<string, string | undefined>): CommonConfig {
  const str = (k: keyof typeof COMMON_OPTIONS) => (typeof a[k] === 'string' ? (a[k] as string) : undefined);
  const deployment = str('deployment') ?? env.SALLYPORT_DEPLOYMENT;
  if (!deployment) throw new UsageError('--deployment NAME is required');
  const host = str('host') ?? hostname().split('.')[0];
  const region = str('region') ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  if (!region) throw new UsageError('--region NAME is required (or set AWS_REGION)');
  const dir = str('spool-dir');
  if (!dir) throw new UsageError('--spool-dir DIR is required (a directory on a persistent volume)');
  const policy = str('spool-policy') ?? 'drop-oldest';
  if (!SPOOL_POLICIES.includes(policy as SpoolPolicy))
    throw new UsageError(`--spool-policy wants ${SPOOL_POLICIES.join(' or ')}, got '${policy}'`);
  const maxRecords = Number(str('spool-max-records') ?? 100_000);
  if (!Number.isSafeInteger(maxRecords) || maxRecords <= 0)
    throw new UsageError(`--spool-max-records wants a positive integer, got '${str('spool-max-records')}'`);
  const endpoint = str('endpoint');
  if (endpoint !== undefined && !/^https?:\/\/[^/\s]+\/?$/.test(endpoint))
    throw new UsageError(`--endpoint wants http(s)://HOST[:PORT], got '${endpoint}'`);
  try {
    checkName('--deployment', deployment);
    checkName('--host', host);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const ml = str('metrics-listen');
  return {
    deployment,
    host,
    region,
    endpoint,
    spool: {
      dir,
      maxBytes: parseSize('--spool-max-bytes', str('spool-max-bytes') ?? '64M'),
      maxRecords,
      policy: policy as SpoolPolicy,
    },
    metrics: ml === undefined ? undefined : parseListen('--metrics-listen', ml),
    logLevel: str('log-level') ?? 'info',
  };
}

/**
 * Parses a command's flags: the config, or the exit code after printing the usage error (2) or
 * --help (0, when `parse` returns undefined).
 */
export function parseCommand<T>(
  cmd: string,
  help: string,
  parse: () => T | undefined,
): { cfg: T } | { code: number } {
  let cfg: T | undefined;
  try {
    cfg = parse();
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`sallyport ${cmd}: ${e.message}\n(see sallyport ${cmd} --help)\n`);
    return { code: 2 };
  }
  if (!cfg) {
    process.stdout.write(help);
    return { code: 0 };
  }
  return { cfg };
}

export function egressLogger(cmd: string, level: string): Logger {
  return pino(
    {
      level,
      base: { cmd },
      redact: {
        paths: [
          'credentials',
          '*.credentials',
          'secretAccessKey',
          '*.secretAccessKey',
          'sessionToken',
          '*.sessionToken',
        ],
        censor: '[redacted]',
      },
    },
    logDestination(1),
  );
}

/** The producer side of a command: started after the spool and drain loop, stopped before them. */
export interface Producer {
  start(opts: { signal?: AbortSignal }): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Opens the spool, starts the drain loop into `sink`, the producer and (if asked) /metrics, then
 * waits for SIGINT/SIGTERM or `signal`; stops everything in reverse. Returns the exit code.
 */
export async function runEgress(o: {
  cmd: string;
  cfg: CommonConfig;
  log: Logger;
  sink: Sink & { close(): void };
  describe: string;
  producer: (spool: Spool, kick: () => void) => Producer;
  metrics: (spool: Spool, drain: Drainer) => Omit<EgressMetricsSource, 'spool' | 'drain' | 'component'>;
  component: string;
  signal?: AbortSignal;
}): Promise<number> {
  const { cmd, cfg, log } = o;
  let spool: Spool;
  try {
    spool = await Spool.open(cfg.spool);
  } catch (e) {
    process.stderr.write(`sallyport ${cmd}: ${(e as Error).message}\n`);
    o.sink.close();
    return 1;
  }
  const drain = new Drainer({
    clock: realClock,
    spool,
    sink: o.sink,
    onError: (e, seq) => log.warn({ seq, err: (e as Error).message }, 'upload failed; will retry'),
  });
  const producer = o.producer(spool, () => drain.kick());
  const ac = new AbortController();
  const onSignal = () => ac.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  o.signal?.addEventListener('abort', onSignal, { once: true });
  let metrics: Awaited<ReturnType<typeof serveMetrics>> | undefined;
  let code = 0;
  try {
    if (cfg.metrics)
      metrics = await serveMetrics(
        egressRegistry({ component: o.component, spool, drain, ...o.metrics(spool, drain) }),
        cfg.metrics,
      );
    drain.start();
    await producer.start({ signal: ac.signal });
    process.stdout.write(
      `${cmd} ${cfg.deployment}/${cfg.host}: ${o.describe}; spool ${cfg.spool.dir} holds ${spool.records} records` +
        (metrics ? `; metrics on ${cfg.metrics!.host}:${metrics.port}` : '') +
        '\n',
    );
    await new Promise<void>((resolve) => {
      if (ac.signal.aborted) resolve();
      else ac.signal.addEventListener('abort', () => resolve(), { once: true });
    });
  } catch (e) {
    const ee = e as EgressError;
    process.stderr.write(`sallyport ${cmd}: ${ee.code ? `${ee.code}: ` : ''}${ee.message}\n`);
    code = 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    o.signal?.removeEventListener('abort', onSignal);
    await producer.stop().catch((e) => log.error({ err: (e as Error).message }, 'stop failed'));
    if (!(await drain.flush(5_000)))
      log.warn(
        { records: spool.records },
        'stopping with records still spooled; they go out at the next start',
      );
    await drain.stop();
    await spool.close();
    o.sink.close();
    await metrics?.close();
  }
  return code;
}
