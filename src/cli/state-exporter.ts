// `sallyport state-exporter`: sends the service's state to an SQS queue on every change and on a
// heartbeat, through a durable local spool, until SIGINT or SIGTERM.
import { parseArgs } from 'node:util';
import { realClock } from '../clock/index.ts';
import { SqsSink } from '../egress/sqs-sink.ts';
import { stateSource } from '../egress/state-source.ts';
import { StateExporter } from '../egress/state.ts';
import {
  COMMON_HELP,
  COMMON_OPTIONS,
  commonConfig,
  egressLogger,
  parseCommand,
  parseInterval,
  runEgress,
} from './egress-common.ts';
import { UsageError } from './io.ts';

export const help = `usage: sallyport state-exporter --deployment NAME --queue-url URL --spool-dir DIR
                                (--health-url URL | --state-file FILE | --disk-path DIR)... [options]

Reads the service's state every --interval — health (an HTTP probe: 2xx is ok), version, replicas
and last error (a JSON state file), disk (total and free bytes of a data path) — and sends it to an
SQS queue when it changes (free disk counts in whole percent) and at least every --heartbeat.
Messages wait in the durable spool while the queue is unreachable and are sent oldest first. On a
FIFO queue (URL ending in .fifo) each carries MessageDeduplicationId DEPLOYMENT.HOST.SEQ and
MessageGroupId DEPLOYMENT.HOST, so a message sent twice is dropped by the queue (within its
5-minute window); on a standard queue the id is the message attribute sallyport-dedup-id.

options:
  --queue-url URL          the SQS queue URL
  --health-url URL         GET this for health (2xx ok, else down with the reason as last error)
  --state-file FILE        JSON: {"health","version","replicas":{"ready","desired"},"lastError"}
  --disk-path DIR          report total and free bytes of this path's filesystem
  --interval D             how often the state is read: 500ms, 10s (default 10s)
  --heartbeat D            send at least this often without a change (default 60s)
${COMMON_HELP}

example:
  sallyport state-exporter --deployment acme-prod --host db-0 \\
    --queue-url https://sqs.eu-west-1.amazonaws.com/123456789012/acme-state.fifo --region eu-west-1 \\
    --health-url http://127.0.0.1:8123/ping --state-file /run/db/state.json --disk-path /var/lib/db \\
    --spool-dir /var/lib/sallyport/state --heartbeat 60s

exit codes: 0 stopped by a signal, 1 could not start (spool, port), 2 bad usage
`;

/** The command line, parsed and validated (UsageError names the fix); undefined for --help. */
export function stateConfig(argv: string[], env: Record<string, string | undefined>) {
  let a;
  try {
    a = parseArgs({
      args: argv,
      options: {
        ...COMMON_OPTIONS,
        'queue-url': { type: 'string' },
        'health-url': { type: 'string' },
        'state-file': { type: 'string' },
        'disk-path': { type: 'string' },
        heartbeat: { type: 'string' },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (a.help) return undefined;
  const cfg = commonConfig(a, env);
  if (!a['queue-url']) throw new UsageError('--queue-url URL is required');
  if (!a['health-url'] && !a['state-file'] && !a['disk-path'])
    throw new UsageError('give at least one source: --health-url URL, --state-file FILE or --disk-path DIR');
  if (a['health-url'] !== undefined && !/^https?:\/\/\S+$/.test(a['health-url']))
    throw new UsageError(`--health-url wants an http(s) URL, got '${a['health-url']}'`);
  const pollMs = parseInterval('--interval', a.interval ?? '10s');
  const heartbeatMs = parseInterval('--heartbeat', a.heartbeat ?? '60s');
  if (pollMs < 100) throw new UsageError('--interval: at least 100ms');
  if (heartbeatMs < pollMs) throw new UsageError('--heartbeat must not be shorter than --interval');
  return {
    ...cfg,
    queueUrl: a['queue-url'],
    healthUrl: a['health-url'],
    stateFile: a['state-file'],
    diskPath: a['disk-path'],
    pollMs,
    heartbeatMs,
  };
}

export async function run(argv: string[], opts: { signal?: AbortSignal } = {}): Promise<number> {
  const parsed = parseCommand('state-exporter', help, () => stateConfig(argv, process.env));
  if ('code' in parsed) return parsed.code;
  const { cfg } = parsed;
  const { pollMs, heartbeatMs } = cfg;
  const log = egressLogger('state-exporter', cfg.logLevel);
  let sink: SqsSink;
  try {
    sink = new SqsSink({ queueUrl: cfg.queueUrl, region: cfg.region, endpoint: cfg.endpoint });
  } catch (e) {
    process.stderr.write(`sallyport state-exporter: ${(e as Error).message}\n`);
    return 1;
  }
  let exporter: StateExporter | undefined;
  return runEgress({
    cmd: 'state-exporter',
    component: 'state',
    cfg,
    log,
    sink,
    signal: opts.signal,
    describe: `state every ${pollMs} ms, heartbeat ${heartbeatMs} ms → ${sink.fifo ? 'FIFO ' : ''}queue ${cfg.queueUrl}`,
    producer: (spool, kick) => {
      exporter = new StateExporter({
        clock: realClock,
        spool,
        read: stateSource({
          healthUrl: cfg.healthUrl,
          stateFile: cfg.stateFile,
          diskPath: cfg.diskPath,
        }),
        deployment: cfg.deployment,
        host: cfg.host,
        pollMs,
        heartbeatMs,
        onSpooled: (seq) => {
          log.debug({ seq }, 'state spooled');
          kick();
        },
        onError: (e) => log.warn({ err: (e as Error).message }, 'state'),
      });
      return exporter;
    },
    metrics: () => ({
      samples: () => exporter?.stats.polls ?? 0,
      sampleErrors: () => exporter?.stats.readErrors ?? 0,
    }),
  });
}
