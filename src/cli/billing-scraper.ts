// `sallyport billing-scraper`: samples a cgroup's CPU and memory and ships usage records to S3
// through a durable local spool, until SIGINT or SIGTERM.
import { realClock } from '../clock/index.ts';
import { BillingScraper } from '../egress/billing.ts';
import { S3Sink } from '../egress/s3-sink.ts';
import { cgroupDirOfPid, readCgroup } from '../egress/sample.ts';
import { usageKeyOfBody } from '../egress/usage.ts';
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
  bucket: { type: 'string', value: 'BUCKET', required: true, help: 'the S3 bucket' },
  'path-style': {
    type: 'boolean',
    help: 'path-style addressing (ENDPOINT/BUCKET/KEY), for S3 stand-ins',
  },
  cgroup: {
    type: 'string',
    value: 'DIR',
    help: 'the cgroup v2 directory to sample, e.g. /sys/fs/cgroup/kubepods.slice/...',
  },
  pid: {
    type: 'number',
    value: 'N',
    min: 1,
    invalid: (v) => `--pid wants a process id, got '${v}'`,
    help: 'or: sample the cgroup process N is in (read from /proc/N/cgroup at start)',
  },
  interval: intervalFlag('--interval', '10s', 'sampling interval: 500ms, 10s, 1m (default 10s)'),
  batch: {
    type: 'number',
    value: 'N',
    default: 6,
    min: 1,
    max: 10_000,
    invalid: (v) => `--batch wants 1 to 10000 samples, got '${v}'`,
    help: 'samples per record (default 6)',
  },
} as const satisfies FlagTable;

export const help = `usage: sallyport billing-scraper --deployment NAME --bucket BUCKET --spool-dir DIR
                                 (--cgroup DIR | --pid N) [options]

Samples the CPU (cgroup v2 cpu.stat) and memory (memory.current, memory.stat) of the database's
cgroup every --interval, batches --batch samples into one usage record, and uploads each record to
S3 as DEPLOYMENT/yyyy/mm/dd/hh/HOST-SEQ (UTC of its first sample, SEQ zero-padded to 10 digits).
Records wait in the durable spool while the bucket is unreachable and are uploaded oldest first;
a record is sent at least once and always under the same key with the same bytes, so a retry
overwrites rather than duplicates. Stops cleanly on SIGINT/SIGTERM (the partial batch is spooled).

options:
${optionLines(FLAGS, 27, ['bucket', 'path-style', 'cgroup', 'pid', 'interval', 'batch'])}${COMMON_HELP}

example:
  sallyport billing-scraper --deployment acme-prod --host db-0 --pid 4242 \\
    --bucket acme-usage --region eu-west-1 --spool-dir /var/lib/sallyport/billing \\
    --interval 10s --batch 6 --metrics-listen 127.0.0.1:9464

exit codes: 0 stopped by a signal, 1 could not start (cgroup, spool, port), 2 bad usage
`;

const COMMAND = { name: 'billing-scraper', flags: FLAGS, help };

/** The flags checked together (UsageError names the fix). */
function billingSettings(a: FlagValues<typeof FLAGS>, env: Record<string, string | undefined>) {
  const cfg = commonConfig(a, env);
  if ((a.cgroup === undefined) === (a.pid === undefined))
    throw new UsageError('give one of --cgroup DIR or --pid N');
  if (a.interval < 100) throw new UsageError('--interval: at least 100ms');
  return {
    ...cfg,
    bucket: a.bucket,
    pathStyle: a['path-style'] ?? false,
    cgroup: a.cgroup,
    pid: a.pid,
    intervalMs: a.interval,
    batch: a.batch,
  };
}

/** The command line, parsed and validated (UsageError names the fix); undefined for --help. */
export function billingConfig(argv: string[], env: Record<string, string | undefined>) {
  const p = parse(COMMAND, argv, env);
  return p === HELP ? undefined : billingSettings(p.values, env);
}

export function run(argv: string[], opts: { signal?: AbortSignal } = {}): Promise<number> {
  return runCommand(COMMAND, argv, processIo, (p) => scrape(billingSettings(p.values, processIo.env), opts));
}

async function scrape(
  cfg: ReturnType<typeof billingSettings>,
  opts: { signal?: AbortSignal },
): Promise<number> {
  const { intervalMs, batch } = cfg;
  const log = egressLogger('billing-scraper', cfg.logLevel);
  let dir: string;
  let sink: S3Sink;
  try {
    dir = cfg.cgroup ?? (await cgroupDirOfPid(cfg.pid!));
    await readCgroup(dir); // fail closed: an unreadable cgroup refuses to start
    sink = new S3Sink({
      bucket: cfg.bucket,
      region: cfg.region,
      endpoint: cfg.endpoint,
      forcePathStyle: cfg.pathStyle,
      keyOf: usageKeyOfBody,
    });
  } catch (e) {
    throw new Failed((e as Error).message, { cause: e });
  }
  let scraper: BillingScraper | undefined;
  return runEgress({
    cmd: 'billing-scraper',
    component: 'billing',
    cfg,
    log,
    sink,
    signal: opts.signal,
    describe: `cgroup ${dir} every ${intervalMs} ms, ${batch} samples a record → s3://${cfg.bucket}`,
    producer: (spool, kick) => {
      scraper = new BillingScraper({
        clock: realClock,
        spool,
        read: () => readCgroup(dir),
        deployment: cfg.deployment,
        host: cfg.host,
        intervalMs,
        batchSamples: batch,
        onSealed: (seq) => {
          log.debug({ seq }, 'record spooled');
          kick();
        },
        onError: (e) => log.warn({ err: (e as Error).message }, 'sampling'),
      });
      return scraper;
    },
    metrics: () => ({
      samples: () => scraper?.stats.samples ?? 0,
      sampleErrors: () => scraper?.stats.sampleErrors ?? 0,
      journalTorn: () => scraper?.journal.torn ?? 0,
    }),
  });
}
