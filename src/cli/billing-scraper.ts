// `sallyport billing-scraper`: samples a cgroup's CPU and memory and ships usage records to S3
// through a durable local spool, until SIGINT or SIGTERM.
import { parseArgs } from 'node:util';
import { realClock } from '../clock/index.ts';
import { BillingScraper } from '../egress/billing.ts';
import { S3Sink } from '../egress/s3-sink.ts';
import { cgroupDirOfPid, readCgroup } from '../egress/sample.ts';
import { usageKeyOfBody } from '../egress/usage.ts';
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

export const help = `usage: sallyport billing-scraper --deployment NAME --bucket BUCKET --spool-dir DIR
                                 (--cgroup DIR | --pid N) [options]

Samples the CPU (cgroup v2 cpu.stat) and memory (memory.current, memory.stat) of the database's
cgroup every --interval, batches --batch samples into one usage record, and uploads each record to
S3 as DEPLOYMENT/yyyy/mm/dd/hh/HOST-SEQ (UTC of its first sample, SEQ zero-padded to 10 digits).
Records wait in the durable spool while the bucket is unreachable and are uploaded oldest first;
a record is sent at least once and always under the same key with the same bytes, so a retry
overwrites rather than duplicates. Stops cleanly on SIGINT/SIGTERM (the partial batch is spooled).

options:
  --bucket BUCKET          the S3 bucket
  --path-style             path-style addressing (ENDPOINT/BUCKET/KEY), for S3 stand-ins
  --cgroup DIR             the cgroup v2 directory to sample, e.g. /sys/fs/cgroup/kubepods.slice/...
  --pid N                  or: sample the cgroup process N is in (read from /proc/N/cgroup at start)
  --interval D             sampling interval: 500ms, 10s, 1m (default 10s)
  --batch N                samples per record (default 6)
${COMMON_HELP}

example:
  sallyport billing-scraper --deployment acme-prod --host db-0 --pid 4242 \\
    --bucket acme-usage --region eu-west-1 --spool-dir /var/lib/sallyport/billing \\
    --interval 10s --batch 6 --metrics-listen 127.0.0.1:9464

exit codes: 0 stopped by a signal, 1 could not start (cgroup, spool, port), 2 bad usage
`;

/** The command line, parsed and validated (UsageError names the fix); undefined for --help. */
export function billingConfig(argv: string[], env: Record<string, string | undefined>) {
  let a;
  try {
    a = parseArgs({
      args: argv,
      options: {
        ...COMMON_OPTIONS,
        bucket: { type: 'string' },
        'path-style': { type: 'boolean' },
        cgroup: { type: 'string' },
        pid: { type: 'string' },
        batch: { type: 'string' },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (a.help) return undefined;
  const cfg = commonConfig(a, env);
  if (!a.bucket) throw new UsageError('--bucket BUCKET is required');
  if ((a.cgroup === undefined) === (a.pid === undefined))
    throw new UsageError('give one of --cgroup DIR or --pid N');
  const intervalMs = parseInterval('--interval', a.interval ?? '10s');
  if (intervalMs < 100) throw new UsageError('--interval: at least 100ms');
  const batch = Number(a.batch ?? 6);
  if (!Number.isSafeInteger(batch) || batch < 1 || batch > 10_000)
    throw new UsageError(`--batch wants 1 to 10000 samples, got '${a.batch}'`);
  const pid = a.pid === undefined ? undefined : Number(a.pid);
  if (pid !== undefined && (!Number.isSafeInteger(pid) || pid <= 0))
    throw new UsageError(`--pid wants a process id, got '${a.pid}'`);
  return {
    ...cfg,
    bucket: a.bucket,
    pathStyle: a['path-style'] ?? false,
    cgroup: a.cgroup,
    pid,
    intervalMs,
    batch,
  };
}

export async function run(argv: string[], opts: { signal?: AbortSignal } = {}): Promise<number> {
  const parsed = parseCommand('billing-scraper', help, () => billingConfig(argv, process.env));
  if ('code' in parsed) return parsed.code;
  const { cfg } = parsed;
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
    process.stderr.write(`sallyport billing-scraper: ${(e as Error).message}\n`);
    return 1;
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
