// The connector's own audit, inside the customer's network (DESIGN.md §5 "Audit"): every stream
// served and every query an engineer ran on a target, hash-chained exactly like the coordinator's
// log (src/audit), one canonical JSON record per line in DIR/audit/local.jsonl. The customer reads
// and verifies it without the vendor: `sallyport audit verify --local --state DIR`.
import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readFileSync, readSync } from 'node:fs';
import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Clock } from '../clock/index.ts';
import {
  MAX_LINE_LENGTH,
  appendRecord,
  parseLine,
  recordLine,
  verifyChain,
  type AuditRecord,
} from '../audit/index.ts';
import type { VerifyReport } from '../audit/index.ts';
import type { LocalAuditSink } from '../targets/index.ts';
import { wellFormedText } from '../util/index.ts';

const REPAIRED = 'lone surrogates replaced by U+FFFD';

/** `v` with every string (keys too) made well-formed Unicode. */
function wellFormed(v: unknown, depth = 0): unknown {
  if (typeof v === 'string') return wellFormedText(v);
  if (v === null || typeof v !== 'object' || depth > 32) return v;
  if (Array.isArray(v)) return v.map((x) => wellFormed(x, depth + 1));
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [wellFormedText(k), wellFormed(x, depth + 1)]));
}

export class LocalAudit implements LocalAuditSink {
  readonly file: string;
  readonly #clock: Clock;
  readonly #actor: string;
  #last: AuditRecord | undefined;
  /** Records that could not be written (disk full, directory gone): counted, never thrown. */
  failures = 0;
  /** Lines chained but not yet written; written in order, one append per batch. */
  #pending: string[] = [];
  #writing: Promise<void> | undefined;
  /** Told of each record appended (after it is chained): the connector mirrors activity with it. */
  onAppend: ((action: string, subject: string, details: Record<string, unknown>) => void) | undefined;

  constructor(stateDir: string, clock: Clock, actor: string) {
    this.file = join(stateDir, 'audit', 'local.jsonl');
    this.#clock = clock;
    this.#actor = actor;
    mkdirSync(join(stateDir, 'audit'), { recursive: true, mode: 0o700 });
    this.#last = LocalAudit.lastRecord(this.file);
    // After a torn final write the next record starts on a line of its own.
    if (LocalAudit.#endsTorn(this.file)) this.#pending.push('\n');
  }

  static #endsTorn(file: string): boolean {
    if (!existsSync(file)) return false;
    const fd = openSync(file, 'r');
    try {
      const size = fstatSync(fd).size;
      if (size === 0) return false;
      const b = Buffer.alloc(1);
      readSync(fd, b, 0, 1, size - 1);
      return b[0] !== 0x0a;
    } finally {
      closeSync(fd);
    }
  }

  /** The file's last record, read from its tail only (the log grows for as long as the connector runs). */
  static lastRecord(file: string): AuditRecord | undefined {
    if (!existsSync(file)) return undefined;
    const fd = openSync(file, 'r');
    try {
      const size = fstatSync(fd).size;
      const n = Math.min(size, MAX_LINE_LENGTH + 2);
      const buf = Buffer.alloc(n);
      readSync(fd, buf, 0, n, size - n);
      // The last line that is a record (a torn final write is skipped, as read() skips it).
      const lines = buf.toString('utf8').split('\n');
      for (let i = lines.length - 1; i >= 0; i--) {
        const p = lines[i] ? parseLine(lines[i]) : undefined;
        if (p?.kind === 'record') return p.record;
      }
      return undefined;
    } finally {
      closeSync(fd);
    }
  }

  /**
   * Chains one record now (the order is the order of calls) and writes it with the others queued
   * in the same turn: the stream path never waits for the disk. A failed write is counted; the
   * records after it then fail `verify` at the gap, as they should.
   */
  append(action: string, subject: string, details: Record<string, unknown>): void {
    const chain = (d: Record<string, unknown>) => {
      const r = appendRecord(this.#last, {
        time: Math.floor(this.#clock.wallMs()),
        actor: this.#actor,
        action,
        subject,
        details: d,
      });
      this.#last = r;
      this.#pending.push(recordLine(r) + '\n');
    };
    try {
      try {
        chain(details);
      } catch {
        // Never drop a record silently: text that is not well-formed Unicode (a lone surrogate,
        // which canonical JSON refuses) is repaired and the record says so.
        chain({ ...(wellFormed(details) as Record<string, unknown>), repaired: REPAIRED });
      }
    } catch {
      this.failures++;
      return;
    }
    this.#writing ??= this.#write();
    try {
      this.onAppend?.(action, subject, details);
    } catch {
      // The mirror's failure is its own: the local record is written.
    }
  }

  async #write(): Promise<void> {
    while (this.#pending.length) {
      const n = this.#pending.length;
      const batch = this.#pending.splice(0, n).join('');
      try {
        await appendFile(this.file, batch, { mode: 0o600 });
      } catch {
        this.failures += n;
      }
    }
    this.#writing = undefined;
  }

  /** Resolves when every record appended so far is on disk (or counted as failed). */
  async flushed(): Promise<void> {
    while (this.#writing) await this.#writing;
  }

  /** Every record of a local audit file, in order (unparseable lines are skipped: verify names them). */
  static read(file: string): AuditRecord[] {
    if (!existsSync(file)) return [];
    const out: AuditRecord[] = [];
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      if (!line) continue;
      const p = parseLine(line);
      if (p.kind === 'record') out.push(p.record);
    }
    return out;
  }

  static verify(file: string): VerifyReport {
    return verifyChain(LocalAudit.read(file));
  }
}
