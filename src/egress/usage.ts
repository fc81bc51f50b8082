// The usage record the billing scraper uploads, and its object key. Pure.
//
// A record is a batch of samples of one cgroup, in order; each sample carries the absolute
// counters and the CPU used since the sample before it (across restarts too: the previous sample
// is kept in the batch journal). Summing cpuDeltaUsec over every record of a host therefore gives
// the CPU the cgroup used while the scraper watched it.
import type { MemoryStat } from './cgroup.ts';
import { EgressError } from './errors.ts';

export interface UsageSample {
  /** Wall time of the reading, ms since the epoch. */
  atMs: number;
  /** cpu.stat counters (µs). */
  cpuUsageUsec: number;
  cpuUserUsec: number;
  cpuSystemUsec: number;
  /** CPU used since the previous sample (µs); after a counter reset, the new counter itself. */
  cpuDeltaUsec: number;
  /** The counter went backwards (the cgroup was recreated). */
  reset?: true;
  /** memory.current (bytes), null where not readable. */
  memoryBytes: number | null;
  /** memory.stat fields (bytes), null where not readable. */
  memory: MemoryStat | null;
}

export interface UsageRecord {
  v: 1;
  kind: 'usage';
  deployment: string;
  host: string;
  seq: number;
  intervalMs: number;
  samples: UsageSample[];
  /** Sum of the samples' cpuDeltaUsec. */
  cpuDeltaUsec: number;
}

/** Deployment and host names go into object keys: letters, digits, '.', '_', '-' only. */
export const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

export function checkName(what: string, v: string): string {
  if (!NAME_RE.test(v))
    throw new EgressError(
      'EGRESS_INVALID_OPTIONS',
      `${what} '${v}' must be 1-63 of A-Z a-z 0-9 . _ - (starting alphanumeric)`,
    );
  return v;
}

export function buildUsageRecord(o: {
  deployment: string;
  host: string;
  seq: number;
  intervalMs: number;
  samples: UsageSample[];
}): UsageRecord {
  return {
    v: 1,
    kind: 'usage',
    deployment: o.deployment,
    host: o.host,
    seq: o.seq,
    intervalMs: o.intervalMs,
    samples: o.samples,
    cpuDeltaUsec: o.samples.reduce((a, s) => a + s.cpuDeltaUsec, 0),
  };
}

/**
 * The object key: `deployment/yyyy/mm/dd/hh/<host>-<seq>` in UTC of the first sample, seq
 * zero-padded to 10 digits so a listing is in seq order. The same record always gives the same key.
 */
export function usageKey(r: Pick<UsageRecord, 'deployment' | 'host' | 'seq' | 'samples'>): string {
  const d = new Date(r.samples[0]?.atMs ?? 0);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return (
    `${r.deployment}/${p(d.getUTCFullYear(), 4)}/${p(d.getUTCMonth() + 1)}/${p(d.getUTCDate())}/` +
    `${p(d.getUTCHours())}/${r.host}-${p(r.seq, 10)}`
  );
}

/** The key of a spooled record body (the S3 sink's key function). */
export function usageKeyOfBody(body: Buffer): string {
  let r: UsageRecord;
  try {
    r = JSON.parse(body.toString('utf8')) as UsageRecord;
  } catch (e) {
    throw new EgressError('EGRESS_BAD_RECORD', 'spooled usage record is not JSON', { cause: e });
  }
  if (
    r?.kind !== 'usage' ||
    !NAME_RE.test(r.deployment) ||
    !NAME_RE.test(r.host) ||
    !Array.isArray(r.samples)
  )
    throw new EgressError('EGRESS_BAD_RECORD', 'spooled body is not a usage record');
  return usageKey(r);
}
