// The connector's own audit, inside the customer's network (DESIGN.md §5 "Audit"): every stream
// served and every query an engineer ran on a target, hash-chained exactly like the coordinator's
// log (src/audit), one canonical JSON record per line in DIR/audit/local.jsonl. The customer reads
// and verifies it without the vendor: `sallyport audit verify --local --state DIR`.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Clock } from '../clock/index.ts';
import { appendRecord, parseLine, recordLine, verifyChain, type AuditRecord } from '../audit/index.ts';
import type { VerifyReport } from '../audit/index.ts';
import type { LocalAuditSink } from '../targets/index.ts';

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

  constructor(stateDir: string, clock: Clock, actor: string) {
    this.file = join(stateDir, 'audit', 'local.jsonl');
    this.#clock = clock;
    this.#actor = actor;
    mkdirSync(join(stateDir, 'audit'), { recursive: true, mode: 0o700 });
    const recs = LocalAudit.read(this.file);
    this.#last = recs[recs.length - 1];
  }

  /**
   * Chains one record now (the order is the order of calls) and writes it with the others queued
   * in the same turn: the stream path never waits for the disk. A failed write is counted; the
   * records after it then fail `verify` at the gap, as they should.
   */
  append(action: string, subject: string, details: Record<string, unknown>): void {
    try {
      const r = appendRecord(this.#last, {
        time: Math.floor(this.#clock.wallMs()),
        actor: this.#actor,
        action,
        subject,
        details,
      });
      this.#last = r;
      this.#pending.push(recordLine(r) + '\n');
    } catch {
      this.failures++;
      return;
    }
    this.#writing ??= this.#write();
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
