// Drains a spool into a sink, oldest record first, one at a time: a record leaves the spool only
// after the sink accepted it (at-least-once). A failure is counted and retried after a backoff that
// doubles from minBackoffMs to maxBackoffMs; the first success resets it. Records are never skipped
// because the sink failed, so nothing is lost while the far side is down; sinks use idempotent keys
// (S3 object key, SQS deduplication id) so a record sent twice collapses into one.
import type { Clock, TimerHandle } from '../clock/index.ts';
import type { Spool } from './spool.ts';

/** Where records go. `send` resolves once the far side has stored the record. */
export interface Sink {
  send(seq: number, body: Buffer, opts: { signal: AbortSignal }): Promise<void>;
}

export class DrainStats {
  uploaded = 0;
  failures = 0;
  /** Records the sink refused as malformed (EGRESS_BAD_RECORD): removed, not retried. */
  rejected = 0;
  lastError: string | undefined;
}

export interface DrainerOptions {
  clock: Clock;
  spool: Spool;
  sink: Sink;
  /** First retry delay after a failure (default 500 ms). */
  minBackoffMs?: number;
  /** Longest retry delay (default 30 s). */
  maxBackoffMs?: number;
  /** Called on each failure (for logs); never given the record body. */
  onError?: (err: unknown, seq: number) => void;
}

export class Drainer {
  readonly stats = new DrainStats();
  readonly #o: Required<Omit<DrainerOptions, 'onError'>> & Pick<DrainerOptions, 'onError'>;
  readonly #ac = new AbortController();
  #wake: (() => void) | undefined;
  #loop: Promise<void> | undefined;

  constructor(o: DrainerOptions) {
    this.#o = { minBackoffMs: 500, maxBackoffMs: 30_000, ...o };
  }

  /** Starts the loop (idempotent). */
  start(): void {
    this.#loop ??= this.#run();
  }

  /** New records were spooled: look now instead of at the next timer. */
  kick(): void {
    this.#wake?.();
  }

  /**
   * Waits until the spool is empty or `timeoutMs` passed (a graceful stop gives the uploads a
   * moment); resolves true when empty. Records left stay spooled for the next start.
   */
  async flush(timeoutMs: number): Promise<boolean> {
    const { spool, clock } = this.#o;
    const until = clock.now() + timeoutMs;
    while (spool.records > 0 && clock.now() < until && !this.#ac.signal.aborted) {
      this.kick();
      await new Promise<void>((r) => clock.setTimeout(r, Math.min(50, until - clock.now())));
    }
    return spool.records === 0;
  }

  /** Stops the loop; an upload in flight is aborted (its record stays spooled). */
  async stop(): Promise<void> {
    this.#ac.abort();
    this.#wake?.();
    await this.#loop;
  }

  /** Waits up to `ms` (or until kick/stop). */
  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.#ac.signal.aborted) return resolve();
      const done = () => {
        this.#o.clock.clearTimeout(h);
        this.#wake = undefined;
        resolve();
      };
      const h: TimerHandle = this.#o.clock.setTimeout(done, ms);
      this.#wake = done;
    });
  }

  async #run(): Promise<void> {
    const { spool, sink, clock } = this.#o;
    let backoff = this.#o.minBackoffMs;
    const signal = this.#ac.signal;
    while (!signal.aborted) {
      const [seq] = spool.oldest(1);
      if (seq === undefined) {
        await this.#sleep(60_000);
        continue;
      }
      const body = await spool.read(seq);
      if (body === undefined) continue; // torn: counted and removed by the spool
      try {
        await sink.send(seq, body, { signal });
        await spool.ack(seq);
        this.stats.uploaded++;
        backoff = this.#o.minBackoffMs;
      } catch (e) {
        if (signal.aborted) break;
        if ((e as { code?: string }).code === 'EGRESS_BAD_RECORD') {
          this.stats.rejected++;
          this.#o.onError?.(e, seq);
          await spool.ack(seq);
          continue;
        }
        this.stats.failures++;
        this.stats.lastError = e instanceof Error ? e.message : String(e);
        this.#o.onError?.(e, seq);
        const started = clock.now();
        // a kick (new record) must not cut the backoff short: sleep out the rest.
        while (!signal.aborted && clock.now() - started < backoff)
          await this.#sleep(backoff - (clock.now() - started));
        backoff = Math.min(backoff * 2, this.#o.maxBackoffMs);
      }
    }
  }
}
