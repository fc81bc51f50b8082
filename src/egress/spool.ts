// A durable, bounded, oldest-first on-disk queue of records, one file per record.
//
//   DIR/LOCK              the PID of the process that holds the spool (a dead holder's lock is taken over)
//   DIR/seq               the last sequence number handed out (decimal), so numbers never repeat
//   DIR/q/<seq:16>.rec    one record: "SPR1 <length> <sha256 hex>\n" then <length> bytes of body
//   DIR/q/*.tmp           a write cut short by a crash: removed at open
//
// Writes go to a .tmp file, are fsynced, renamed into place and the directory is fsynced: a record
// that put() has resolved for is on disk and survives kill -9 and power loss. A record whose file does
// not match its header (torn, truncated, edited) is counted, removed and skipped; it never crashes the
// reader. The spool is bounded by bytes and by records; when a new record does not fit, the policy
// decides: `drop-oldest` (default) removes the oldest records until it fits, `refuse-new` throws
// EGRESS_SPOOL_FULL. Both are counted in `stats`.
import { createHash } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EgressError } from './errors.ts';

export type SpoolPolicy = 'drop-oldest' | 'refuse-new';
export const SPOOL_POLICIES: readonly SpoolPolicy[] = ['drop-oldest', 'refuse-new'];

export interface SpoolOptions {
  /** The spool directory (created 0700 if missing). */
  dir: string;
  /** Most bytes of record files kept (default 64 MiB). */
  maxBytes?: number;
  /** Most records kept (default 100 000). */
  maxRecords?: number;
  /** What to do when a new record does not fit (default `drop-oldest`). */
  policy?: SpoolPolicy;
}

/** Plain counters, read by metrics.ts at scrape time. */
export class SpoolStats {
  spooled = 0;
  acked = 0;
  droppedOldest = 0;
  refusedNew = 0;
  tooLarge = 0;
  torn = 0;
}

const HEADER = /^SPR1 (\d{1,10}) ([0-9a-f]{64})\n/;
const NAME = /^(\d{16})\.rec$/;

const name = (seq: number): string => `${String(seq).padStart(16, '0')}.rec`;

async function fsyncPath(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Writes `data` to `path` atomically and durably: tmp, fsync, rename, fsync of the directory. */
export async function writeDurable(dir: string, file: string, data: Uint8Array | string): Promise<void> {
  const tmp = join(dir, `${file}.${process.pid}.tmp`);
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, join(dir, file));
  await fsyncPath(dir);
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class Spool {
  readonly stats = new SpoolStats();
  readonly dir: string;
  readonly maxBytes: number;
  readonly maxRecords: number;
  readonly policy: SpoolPolicy;
  readonly #q: string;
  /** seq → file size, and the seqs in ascending order. */
  readonly #sizes = new Map<number, number>();
  #order: number[] = [];
  #bytes = 0;
  #lastSeq = 0;
  #closed = false;

  private constructor(opts: SpoolOptions) {
    this.dir = opts.dir;
    this.#q = join(opts.dir, 'q');
    this.maxBytes = opts.maxBytes ?? 64 * 1024 * 1024;
    this.maxRecords = opts.maxRecords ?? 100_000;
    this.policy = opts.policy ?? 'drop-oldest';
    const pos = (n: number) => Number.isSafeInteger(n) && n > 0;
    if (!opts.dir) throw new EgressError('EGRESS_INVALID_OPTIONS', 'spool: dir is required');
    if (!pos(this.maxBytes) || !pos(this.maxRecords))
      throw new EgressError(
        'EGRESS_INVALID_OPTIONS',
        'spool: maxBytes and maxRecords must be positive integers',
      );
    if (!SPOOL_POLICIES.includes(this.policy))
      throw new EgressError(
        'EGRESS_INVALID_OPTIONS',
        `spool: policy '${String(this.policy)}' is not one of ${SPOOL_POLICIES.join(', ')}`,
      );
  }

  /** Opens (creating) the spool directory, takes its lock and indexes the records on disk. */
  static async open(opts: SpoolOptions): Promise<Spool> {
    const s = new Spool(opts);
    await mkdir(s.#q, { recursive: true, mode: 0o700 });
    await s.#lock();
    try {
      await s.#index();
    } catch (e) {
      await s.close();
      throw e;
    }
    return s;
  }

  async #lock(): Promise<void> {
    const lock = join(this.dir, 'LOCK');
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await writeFile(lock, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
        return;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      const holder = Number((await readFile(lock, 'utf8').catch(() => '')).trim());
      if (Number.isSafeInteger(holder) && holder > 0 && pidAlive(holder))
        throw new EgressError(
          'EGRESS_SPOOL_LOCKED',
          `spool ${this.dir} is held by process ${holder}: run one scraper or exporter per spool directory`,
        );
      await unlink(lock).catch(() => undefined); // a dead holder (kill -9): take over
    }
    throw new EgressError('EGRESS_SPOOL_LOCKED', `spool ${this.dir}: could not take the lock`);
  }

  async #index(): Promise<void> {
    const seqText = await readFile(join(this.dir, 'seq'), 'utf8').catch(() => '0');
    this.#lastSeq = /^\d{1,15}\n?$/.test(seqText) ? Number(seqText) : 0;
    for (const f of await readdir(this.#q)) {
      if (f.endsWith('.tmp')) {
        await unlink(join(this.#q, f)).catch(() => undefined);
        continue;
      }
      const m = NAME.exec(f);
      if (!m) continue;
      const seq = Number(m[1]);
      const size = (await stat(join(this.#q, f))).size;
      this.#sizes.set(seq, size);
      this.#bytes += size;
      this.#lastSeq = Math.max(this.#lastSeq, seq);
    }
    this.#order = [...this.#sizes.keys()].sort((a, b) => a - b);
  }

  /** Records held. */
  get records(): number {
    return this.#order.length;
  }
  /** Bytes of record files held. */
  get bytes(): number {
    return this.#bytes;
  }
  /** The last sequence number handed out by reserveSeq (or found on disk). */
  get lastSeq(): number {
    return this.#lastSeq;
  }

  /** Hands out the next sequence number, durably: it is never handed out again, even after a crash. */
  async reserveSeq(): Promise<number> {
    this.#open();
    const seq = this.#lastSeq + 1;
    await writeDurable(this.dir, 'seq', `${seq}\n`);
    this.#lastSeq = seq;
    return seq;
  }

  /**
   * Stores `body` as record `seq`, durably (resolved = on disk). Storing a seq again replaces it.
   * When it does not fit, the policy applies: drop-oldest removes the oldest records (counted);
   * refuse-new throws EGRESS_SPOOL_FULL (counted). A body larger than maxBytes is always refused.
   */
  async put(seq: number, body: Uint8Array): Promise<void> {
    this.#open();
    if (!Number.isSafeInteger(seq) || seq <= 0)
      throw new EgressError('EGRESS_INVALID_OPTIONS', `spool: seq ${seq} is not a positive integer`);
    const header = `SPR1 ${body.length} ${createHash('sha256').update(body).digest('hex')}\n`;
    const size = Buffer.byteLength(header) + body.length;
    if (size > this.maxBytes) {
      this.stats.tooLarge++;
      throw new EgressError(
        'EGRESS_SPOOL_TOO_LARGE',
        `record ${seq} (${size} B) is larger than the spool (${this.maxBytes} B)`,
      );
    }
    const old = this.#sizes.get(seq) ?? 0;
    const fits = () =>
      this.#bytes - old + size <= this.maxBytes && this.#order.length + (old ? 0 : 1) <= this.maxRecords;
    if (!fits() && this.policy === 'refuse-new') {
      this.stats.refusedNew++;
      throw new EgressError(
        'EGRESS_SPOOL_FULL',
        `spool full (${this.#order.length} records, ${this.#bytes} B): record ${seq} refused`,
      );
    }
    while (!fits()) {
      const oldest = this.#order.find((s) => s !== seq);
      if (oldest === undefined) break;
      await this.#remove(oldest);
      this.stats.droppedOldest++;
    }
    await writeDurable(this.#q, name(seq), Buffer.concat([Buffer.from(header), body]));
    if (!this.#sizes.has(seq)) {
      const i = this.#order.findIndex((s) => s > seq);
      if (i < 0) this.#order.push(seq);
      else this.#order.splice(i, 0, seq);
    }
    this.#bytes += size - old;
    this.#sizes.set(seq, size);
    this.stats.spooled++;
  }

  /** The oldest held sequence numbers, at most `n`, oldest first. */
  oldest(n = 1): number[] {
    return this.#order.slice(0, n);
  }

  /** Reads and verifies record `seq`; a torn or edited record is counted, removed, and gives undefined. */
  async read(seq: number): Promise<Buffer | undefined> {
    this.#open();
    if (!this.#sizes.has(seq)) return undefined;
    let data: Buffer;
    try {
      data = await readFile(join(this.#q, name(seq)));
    } catch {
      data = Buffer.alloc(0);
    }
    const head = HEADER.exec(data.subarray(0, 128).toString('latin1'));
    if (head) {
      const body = data.subarray(head[0].length);
      if (body.length === Number(head[1]) && createHash('sha256').update(body).digest('hex') === head[2])
        return body;
    }
    this.stats.torn++;
    await this.#remove(seq);
    return undefined;
  }

  /** Removes record `seq` (delivered). Unknown seqs are ignored. */
  async ack(seq: number): Promise<void> {
    this.#open();
    if (!this.#sizes.has(seq)) return;
    await this.#remove(seq);
    this.stats.acked++;
  }

  async #remove(seq: number): Promise<void> {
    await unlink(join(this.#q, name(seq))).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT') throw e;
    });
    await fsyncPath(this.#q);
    this.#bytes -= this.#sizes.get(seq) ?? 0;
    this.#sizes.delete(seq);
    this.#order = this.#order.filter((s) => s !== seq);
  }

  #open(): void {
    if (this.#closed) throw new EgressError('EGRESS_INVALID_OPTIONS', 'spool is closed');
  }

  /** Releases the lock. The records stay on disk for the next open. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await rm(join(this.dir, 'LOCK'), { force: true });
  }
}
