import { SallyportError } from '../util/index.ts';

/**
 * An egress failure (billing scraper, state exporter, their spool and sinks). Codes:
 * - `EGRESS_INVALID_OPTIONS`: an options object or flag was refused at construction.
 * - `EGRESS_SPOOL_FULL`: the spool is full and its policy is `refuse-new` (the record was not kept).
 * - `EGRESS_SPOOL_TOO_LARGE`: one record is larger than the whole spool may hold.
 * - `EGRESS_SPOOL_LOCKED`: another live process holds the spool directory.
 * - `EGRESS_CGROUP_PARSE`: a cgroup file (cpu.stat, memory.current, memory.stat, /proc/PID/cgroup)
 *   did not have the expected shape.
 * - `EGRESS_CGROUP_UNAVAILABLE`: the cgroup (or the PID) cannot be read.
 * - `EGRESS_UPLOAD`: the object store or queue refused or could not be reached (retryable).
 * - `EGRESS_BAD_RECORD`: a spooled record cannot be sent as it is (not a record of this kind); the
 *   drain loop counts it and removes it rather than retrying it forever.
 * - `EGRESS_ABORTED`: the operation's signal fired.
 */
export class EgressError extends SallyportError {}

/** A cgroup file that does not parse: always this class, never a TypeError or RangeError. */
export class CgroupParseError extends EgressError {
  constructor(file: string, why: string) {
    super('EGRESS_CGROUP_PARSE', `${file}: ${why}`);
  }
}
