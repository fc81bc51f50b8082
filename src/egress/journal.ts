// The billing scraper's batch journal: the samples of the batch being filled, on disk, so a
// kill -9 mid-batch loses at most the sample being written.
//
//   DIR/batch.jsonl   line 1: {"seq":N,"baseline":SAMPLE|null}   (the seq this batch will be sealed as,
//                              and the last sample before it, for the first delta)
//                     then one UsageSample per line, each appended and fsynced
//
// A line cut short by a crash is dropped (counted) when the journal is opened, and the journal is
// rewritten without it before anything is appended.
import { open, readFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { writeDurable } from './spool.ts';
import type { UsageSample } from './usage.ts';

export interface JournalHead {
  seq: number;
  baseline: UsageSample | null;
}

function isSample(x: unknown): x is UsageSample {
  const s = x as UsageSample;
  return (
    typeof s === 'object' &&
    s !== null &&
    Number.isFinite(s.atMs) &&
    Number.isSafeInteger(s.cpuUsageUsec) &&
    Number.isSafeInteger(s.cpuDeltaUsec)
  );
}

export class BatchJournal {
  readonly file: string;
  readonly dir: string;
  head: JournalHead | undefined;
  samples: UsageSample[] = [];
  /** Lines dropped at open because they did not parse (a write cut short). */
  torn = 0;
  #fh: FileHandle | undefined;

  constructor(dir: string) {
    this.dir = dir;
    this.file = join(dir, 'batch.jsonl');
  }

  /** Loads the journal (if any) and rewrites it clean. Returns false when there is none. */
  async load(): Promise<boolean> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw e;
    }
    const lines = text.split('\n');
    const parse = (l: string): unknown => {
      try {
        return JSON.parse(l);
      } catch {
        return undefined;
      }
    };
    const head = parse(lines[0]) as JournalHead | undefined;
    if (
      !head ||
      !Number.isSafeInteger(head.seq) ||
      head.seq <= 0 ||
      (head.baseline !== null && !isSample(head.baseline))
    ) {
      this.torn++;
      return false;
    }
    const samples: UsageSample[] = [];
    for (const l of lines.slice(1)) {
      if (l === '') continue;
      const s = parse(l);
      if (isSample(s)) samples.push(s);
      else this.torn++;
    }
    await this.reset(head, samples);
    return true;
  }

  /** Replaces the journal durably with `head` and `samples`. */
  async reset(head: JournalHead, samples: UsageSample[] = []): Promise<void> {
    await this.#close();
    const text = [head, ...samples].map((x) => JSON.stringify(x) + '\n').join('');
    await writeDurable(this.dir, 'batch.jsonl', text);
    this.head = head;
    this.samples = samples;
  }

  /** Appends one sample durably (fsync). */
  async append(s: UsageSample): Promise<void> {
    this.#fh ??= await open(this.file, 'a', 0o600);
    await this.#fh.appendFile(JSON.stringify(s) + '\n');
    await this.#fh.datasync();
    this.samples.push(s);
  }

  /** The last sample seen: the newest in the batch, else the baseline. */
  get last(): UsageSample | null {
    return this.samples[this.samples.length - 1] ?? this.head?.baseline ?? null;
  }

  async #close(): Promise<void> {
    const fh = this.#fh;
    this.#fh = undefined;
    await fh?.close();
  }

  async close(): Promise<void> {
    await this.#close();
  }
}
