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
import { onStop } from './signals.ts';
import {
  Failed,
  HELP_FLAG,
  UsageError,
  optionLines,
  processIo,
  type FlagTable,
  type FlagValues,
} from './kit/index.ts';

/** What every duration flag of these commands takes: 500ms, 10s, 5m, 1h. */
export const INTERVAL = {
  type: 'duration',
  value: 'D',
  units: ['ms', 's', 'm', 'h'],
  digits: 7,
} as const;

const intervalInvalid = (flag: string) => (s: string) =>
  `${flag} wants a duration such as 500ms, 10s, 5m, 1h; got '${s}'`;

/** The flags both commands take. */
export const COMMON_FLAGS = {
  deployment: {
    type: 'string',
    value: 'NAME',
    env: 'SALLYPORT_DEPLOYMENT',
    required: true,
    help: 'deployment name, the first part of every key (env SALLYPORT_DEPLOYMENT)',
  },
  host: { type: 'string', value: 'NAME', help: "this host's name in keys and ids (default: the hostname)" },
  region: { type: 'string', value: 'NAME', help: 'AWS region (default: AWS_REGION or AWS_DEFAULT_REGION)' },
  endpoint: {
    type: 'string',
    value: 'URL',
    help: "service endpoint, e.g. a VPC interface endpoint (default: the region's)",
  },
  interval: { ...INTERVAL, default: '10s', invalid: intervalInvalid('--interval') },
  'spool-dir': {
    type: 'string',
    value: 'DIR',
    required: '--spool-dir DIR is required (a directory on a persistent volume)',
    help: 'the durable local spool (required; one process per directory)',
  },
  'spool-max-bytes': {
    type: 'string',
    value: 'N',
    default: '64M',
    help: 'spool bound in bytes, K/M/G suffixes allowed (default 64M)',
  },
  'spool-max-records': {
    type: 'number',
    value: 'N',
    default: 100_000,
    min: 1,
    invalid: (v) => `--spool-max-records wants a positive integer, got '${v}'`,
    help: 'spool bound in records (default 100000)',
  },
  'spool-policy': {
    type: 'string',
    value: 'P',
    default: 'drop-oldest',
    choices: SPOOL_POLICIES,
    invalid: (v) => `--spool-policy wants ${SPOOL_POLICIES.join(' or ')}, got '${v}'`,
    help: 'when the spool is full: drop-oldest (default) or refuse-new; both counted',
  },
  'metrics-listen': {
    type: 'string',
    value: 'H:P',
    help: 'serve GET /metrics on this address, e.g. 127.0.0.1:9464 (default: off)',
  },
  'log-level': {
    type: 'string',
    value: 'LEVEL',
    default: 'info',
    help: 'pino level: fatal, error, warn, info (default), debug, trace, silent',
  },
  ...HELP_FLAG,
} as const satisfies FlagTable;

/** The --help lines of COMMON_FLAGS (--interval is each command's own line). */
export const COMMON_HELP = `${optionLines(
  COMMON_FLAGS,
  27,
  Object.keys(COMMON_FLAGS).filter((k) => k !== 'interval'),
)}
Credentials come from the AWS SDK's default chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY,
AWS_PROFILE, web identity, instance or pod role) and are never logged.`;

/** --heartbeat and the like: a duration flag of these commands. */
export function intervalFlag(flag: string, dflt: string, help: string) {
  return { ...INTERVAL, default: dflt, invalid: intervalInvalid(flag), help } as const;
}

type Values = FlagValues<typeof COMMON_FLAGS>;

/** HOST:PORT or [V6]:PORT (port 0: any free port). */
export function parseListen(flag: string, s: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:\s]+)):(\d{1,5})$/.exec(s);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new UsageError(`${flag} wants HOST:PORT, e.g. 127.0.0.1:9464; got '${s}'`);
  return { host: m[1] ?? m[2], port };
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

/** Validates the shared flags together (UsageError names the fix). */
export function commonConfig(a: Values, env: Record<string, string | undefined>): CommonConfig {
  const host = a.host ?? hostname().split('.')[0];
  const region = a.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  if (!region) throw new UsageError('--region NAME is required (or set AWS_REGION)');
  const endpoint = a.endpoint;
  if (endpoint !== undefined && !/^https?:\/\/[^/\s]+\/?$/.test(endpoint))
    throw new UsageError(`--endpoint wants http(s)://HOST[:PORT], got '${endpoint}'`);
  try {
    checkName('--deployment', a.deployment);
    checkName('--host', host);
  } catch (e) {
    throw new UsageError((e as Error).message, { cause: e });
  }
  const ml = a['metrics-listen'];
  return {
    deployment: a.deployment,
    host,
    region,
    endpoint,
    spool: {
      dir: a['spool-dir'],
      maxBytes: parseSize('--spool-max-bytes', a['spool-max-bytes']),
      maxRecords: a['spool-max-records'],
      policy: a['spool-policy'] as SpoolPolicy,
    },
    metrics: ml === undefined ? undefined : parseListen('--metrics-listen', ml),
    logLevel: a['log-level'],
  };
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
 * waits for SIGINT/SIGTERM or `signal`; stops everything in reverse. Returns the exit code (0);
 * Failed when something could not start or failed while running.
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
    o.sink.close();
    throw new Failed((e as Error).message, { cause: e });
  }
  const drain = new Drainer({
    clock: realClock,
    spool,
    sink: o.sink,
    onError: (e, seq) => log.warn({ seq, err: (e as Error).message }, 'upload failed; will retry'),
  });
  const producer = o.producer(spool, () => drain.kick());
  const stop = onStop(o.signal);
  let metrics: Awaited<ReturnType<typeof serveMetrics>> | undefined;
  try {
    if (cfg.metrics)
      metrics = await serveMetrics(
        egressRegistry({ component: o.component, spool, drain, ...o.metrics(spool, drain) }),
        cfg.metrics,
      );
    drain.start();
    await producer.start({ signal: stop.signal });
    processIo.stdout(
      `${cmd} ${cfg.deployment}/${cfg.host}: ${o.describe}; spool ${cfg.spool.dir} holds ${spool.records} records` +
        (metrics ? `; metrics on ${cfg.metrics!.host}:${metrics.port}` : '') +
        '\n',
    );
    await stop.stopped;
    return 0;
  } catch (e) {
    const ee = e as EgressError;
    throw new Failed(`${ee.code ? `${ee.code}: ` : ''}${ee.message}`, { cause: e });
  } finally {
    stop.dispose();
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
}
