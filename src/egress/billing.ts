// The billing scraper: samples a cgroup's CPU and memory every interval, fills a batch journal,
// and seals each full batch into one usage record in the spool, under a seq reserved when the batch
// began (so a batch sealed twice after a crash is the same record with the same key).
//
//   start ─► load journal ─► (none: reserve seq, baseline = reading now)
//   every intervalMs: read cgroup ─► sample (delta vs. last) ─► journal.append (fsync)
//                     └─ batch full ─► spool.put(seq, record) ─► reserve next seq ─► journal.reset
//   stop: the partial batch is sealed too (unless sealOnStop is false)
import type { Clock } from '../clock/index.ts';
import { Timer } from '../clock/index.ts';
import { EgressError } from './errors.ts';
import { BatchJournal } from './journal.ts';
import type { CgroupReading } from './sample.ts';
import type { Spool } from './spool.ts';
import { buildUsageRecord, checkName, type UsageSample } from './usage.ts';

export interface BillingOptions {
  clock: Clock;
  /** Where sealed records go; the batch journal lives in its directory too. */
  spool: Spool;
  /** Reads the cgroup (see sample.ts readCgroup). */
  read: () => Promise<CgroupReading>;
  deployment: string;
  host: string;
  /** Sampling interval (default 10 000 ms; at least 100). */
  intervalMs?: number;
  /** Samples per record (default 6). */
  batchSamples?: number;
  /** Seal the partial batch on stop() (default true). */
  sealOnStop?: boolean;
  /** A record was sealed into the spool (wake the uploader). */
  onSealed?: (seq: number) => void;
  /** A reading or a seal failed (for logs); the loop goes on. */
  onError?: (err: unknown) => void;
}

export class BillingStats {
  samples = 0;
  sampleErrors = 0;
  sealed = 0;
  /** Batches the spool refused (refuse-new) or could not take. */
  sealFailures = 0;
}

export function toSample(r: CgroupReading, atMs: number, last: UsageSample | null): UsageSample {
  const prev = last?.cpuUsageUsec;
  const reset = prev !== undefined && r.cpu.usageUsec < prev;
  return {
    atMs,
    cpuUsageUsec: r.cpu.usageUsec,
    cpuUserUsec: r.cpu.userUsec,
    cpuSystemUsec: r.cpu.systemUsec,
    cpuDeltaUsec: prev === undefined || reset ? (reset ? r.cpu.usageUsec : 0) : r.cpu.usageUsec - prev,
    ...(reset ? { reset: true as const } : {}),
    memoryBytes: r.memoryBytes,
    memory: r.memory,
  };
}

export class BillingScraper {
  readonly stats = new BillingStats();
  readonly journal: BatchJournal;
  readonly #o: Required<Omit<BillingOptions, 'onSealed' | 'onError'>> &
    Pick<BillingOptions, 'onSealed' | 'onError'>;
  readonly #timer: Timer;
  #busy: Promise<void> = Promise.resolve();
  #state: 'new' | 'running' | 'stopped' = 'new';
  #next = 0;

  constructor(o: BillingOptions) {
    this.#o = { intervalMs: 10_000, batchSamples: 6, sealOnStop: true, ...o };
    checkName('deployment', o.deployment);
    checkName('host', o.host);
    if (!Number.isFinite(this.#o.intervalMs) || this.#o.intervalMs < 100)
      throw new EgressError('EGRESS_INVALID_OPTIONS', `interval ${this.#o.intervalMs} ms: at least 100 ms`);
    if (
      !Number.isSafeInteger(this.#o.batchSamples) ||
      this.#o.batchSamples < 1 ||
      this.#o.batchSamples > 10_000
    )
      throw new EgressError('EGRESS_INVALID_OPTIONS', `batch ${this.#o.batchSamples}: 1 to 10000 samples`);
    this.journal = new BatchJournal(o.spool.dir);
    this.#timer = new Timer(o.clock, () => this.#enqueue(() => this.#tick()));
  }

  /** Loads the journal (sealing a batch left full by a crash) and starts sampling. */
  async start(opts: { signal?: AbortSignal } = {}): Promise<void> {
    if (this.#state !== 'new')
      throw new EgressError('EGRESS_INVALID_OPTIONS', 'billing scraper: start() twice');
    if (opts.signal?.aborted)
      throw new EgressError('EGRESS_ABORTED', 'billing scraper: aborted before start');
    this.#state = 'running';
    if (!(await this.journal.load())) {
      const reading = await this.#o.read();
      await this.journal.reset({
        seq: await this.#o.spool.reserveSeq(),
        baseline: toSample(reading, this.#o.clock.wallMs(), null),
      });
    } else if (this.journal.samples.length >= this.#o.batchSamples) await this.#seal();
    this.#next = this.#o.clock.now() + this.#o.intervalMs;
    this.#timer.mod(this.#o.intervalMs);
  }

  /** Stops sampling, waits for a tick in flight, seals the partial batch (sealOnStop). */
  async stop(): Promise<void> {
    if (this.#state === 'stopped') return;
    const wasRunning = this.#state === 'running';
    this.#state = 'stopped';
    this.#timer.del();
    await this.#busy;
    if (wasRunning && this.#o.sealOnStop && this.journal.samples.length > 0)
      await this.#seal().catch(this.#o.onError);
    await this.journal.close();
  }

  /** Takes one sample now (tests and the first tick use it through the timer). */
  sampleNow(): Promise<void> {
    return this.#enqueue(() => this.#sample());
  }

  /** Resolves when the sample or seal in flight (if any) is done. */
  settled(): Promise<void> {
    return this.#busy;
  }

  #enqueue(fn: () => Promise<void>): Promise<void> {
    const p = this.#busy.then(fn).catch((e) => this.#o.onError?.(e));
    this.#busy = p;
    return p;
  }

  async #tick(): Promise<void> {
    if (this.#state !== 'running') return;
    await this.#sample();
    if (this.#state !== 'running') return;
    const now = this.#o.clock.now();
    do this.#next += this.#o.intervalMs;
    while (this.#next <= now); // fell behind: skip missed ticks, the next delta covers them
    this.#timer.mod(this.#next - now);
  }

  async #sample(): Promise<void> {
    let reading: CgroupReading;
    try {
      reading = await this.#o.read();
    } catch (e) {
      this.stats.sampleErrors++;
      this.#o.onError?.(e);
      return;
    }
    await this.journal.append(toSample(reading, this.#o.clock.wallMs(), this.journal.last));
    this.stats.samples++;
    if (this.journal.samples.length >= this.#o.batchSamples) await this.#seal();
  }

  async #seal(): Promise<void> {
    const { spool } = this.#o;
    const head = this.journal.head!;
    const samples = this.journal.samples;
    const record = buildUsageRecord({
      deployment: this.#o.deployment,
      host: this.#o.host,
      seq: head.seq,
      intervalMs: this.#o.intervalMs,
      samples,
    });
    try {
      await spool.put(head.seq, Buffer.from(JSON.stringify(record)));
      this.stats.sealed++;
      this.#o.onSealed?.(head.seq);
    } catch (e) {
      // refuse-new or a record too large: the spool counted it; the batch is given up by policy
      if (!(e instanceof EgressError)) throw e;
      this.stats.sealFailures++;
      this.#o.onError?.(e);
    }
    await this.journal.reset({ seq: await spool.reserveSeq(), baseline: this.journal.last });
  }
}
