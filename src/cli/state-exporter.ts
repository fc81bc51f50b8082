// `sallyport state-exporter`: sends the service's state to an SQS queue on every change and on a
// heartbeat, through a durable local spool, until SIGINT or SIGTERM.
import { realClock } from '../clock/index.ts';
import { SqsSink } from '../egress/sqs-sink.ts';
import { stateSource } from '../egress/state-source.ts';
import { StateExporter } from '../egress/state.ts';
import {
  COMMON_FLAGS,
  COMMON_HELP,
  commonConfig,
  egressLogger,
  intervalFlag,
  runEgress,
} from './egress-common.ts';
import {
  Failed,
  HELP,
  UsageError,
  optionLines,
  parse,
  processIo,
  runCommand,
  type FlagTable,
  type FlagValues,
} from './kit/index.ts';

const FLAGS = {
  ...COMMON_FLAGS,
  'queue-url': { type: 'string', value: 'URL', required: true, help: 'the SQS queue URL' },
  'health-url': {
    type: 'string',
    value: 'URL',
    help: 'GET this for health (2xx ok, else down with the reason as last error)',
  },
  'state-file': {
    type: 'string',
    value: 'FILE',
    help: 'JSON: {"health","version","replicas":{"ready","desired"},"lastError"}',
  },
  'disk-path': {
    type: 'string',
    value: 'DIR',
    help: "report total and free bytes of this path's filesystem",
  },
  interval: intervalFlag('--interval', '10s', 'how often the state is read: 500ms, 10s (default 10s)'),
  heartbeat: intervalFlag('--heartbeat', '60s', 'send at least this often without a change (default 60s)'),
} as const satisfies FlagTable;

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
${optionLines(FLAGS, 27, ['queue-url', 'health-url', 'state-file', 'disk-path', 'interval', 'heartbeat'])}${COMMON_HELP}

example:
  sallyport state-exporter --deployment acme-prod --host db-0 \\
    --queue-url https://sqs.eu-west-1.amazonaws.com/123456789012/acme-state.fifo --region eu-west-1 \\
    --health-url http://127.0.0.1:8123/ping --state-file /run/db/state.json --disk-path /var/lib/db \\
    --spool-dir /var/lib/sallyport/state --heartbeat 60s

exit codes: 0 stopped by a signal, 1 could not start (spool, port), 2 bad usage
`;

const COMMAND = { name: 'state-exporter', flags: FLAGS, help };

/** The flags checked together (UsageError names the fix). */
function stateSettings(a: FlagValues<typeof FLAGS>, env: Record<string, string | undefined>) {
  const cfg = commonConfig(a, env);
  if (!a['health-url'] && !a['state-file'] && !a['disk-path'])
    throw new UsageError('give at least one source: --health-url URL, --state-file FILE or --disk-path DIR');
  if (a['health-url'] !== undefined && !/^https?:\/\/\S+$/.test(a['health-url']))
    throw new UsageError(`--health-url wants an http(s) URL, got '${a['health-url']}'`);
  if (a.interval < 100) throw new UsageError('--interval: at least 100ms');
  if (a.heartbeat < a.interval) throw new UsageError('--heartbeat must not be shorter than --interval');
  return {
    ...cfg,
    queueUrl: a['queue-url'],
    healthUrl: a['health-url'],
    stateFile: a['state-file'],
    diskPath: a['disk-path'],
    pollMs: a.interval,
    heartbeatMs: a.heartbeat,
  };
}

/** The command line, parsed and validated (UsageError names the fix); undefined for --help. */
export function stateConfig(argv: string[], env: Record<string, string | undefined>) {
  const p = parse(COMMAND, argv, env);
  return p === HELP ? undefined : stateSettings(p.values, env);
}

export function run(argv: string[], opts: { signal?: AbortSignal } = {}): Promise<number> {
  return runCommand(COMMAND, argv, processIo, (p) =>
    exportState(stateSettings(p.values, processIo.env), opts),
  );
}

async function exportState(
  cfg: ReturnType<typeof stateSettings>,
  opts: { signal?: AbortSignal },
): Promise<number> {
  const { pollMs, heartbeatMs } = cfg;
  const log = egressLogger('state-exporter', cfg.logLevel);
  let sink: SqsSink;
  try {
    sink = new SqsSink({ queueUrl: cfg.queueUrl, region: cfg.region, endpoint: cfg.endpoint });
  } catch (e) {
    throw new Failed((e as Error).message, { cause: e });
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
