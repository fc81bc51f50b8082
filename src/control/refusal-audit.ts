// A per-user bound on the audit records of refused actions. Every refusal of a signed-in user's
// action (an admin route called by a non-admin, a self-approval, any refused access event) is
// audited — but at most REFUSALS_PER_WINDOW records per user per REFUSAL_WINDOW_MS. The rest are
// counted; once the window has passed, one `audit.refusals-suppressed` record carries the count
// (written before that user's next refusal, or by the coordinator's periodic flush). So a user
// cannot flood the audit log, and nothing refused goes unaccounted.
//
//   admit(actor) ─► window open, < limit ─► write
//               └─► window open, at limit ─► suppressed++ (counted on the metrics)
//               └─► window over ─► summary of the old window (if any) first, then a new window
//
// Pure apart from the Clock. The table is bounded (MAX_ACTORS, the oldest evicted; an evicted
// window's suppressed count is still returned by the next flush).
import type { Clock } from '../clock/index.ts';
import type { AuditEntry, RefusalAuditGate } from '../store/index.ts';

export const REFUSALS_PER_WINDOW = 10;
export const REFUSAL_WINDOW_MS = 60_000;
const MAX_ACTORS = 10_000;
const MAX_PENDING_SUMMARIES = 10_000;

interface Window {
  since: number;
  written: number;
  suppressed: number;
}

export interface RefusalAuditOptions {
  clock: Clock;
  /** Records per user per window; default REFUSALS_PER_WINDOW. */
  perWindow?: number;
  /** Default REFUSAL_WINDOW_MS. */
  windowMs?: number;
  /** Called for each refusal whose record is left out. */
  onSuppressed?: () => void;
}

export class RefusalAudit implements RefusalAuditGate {
  readonly #o: Required<Omit<RefusalAuditOptions, 'onSuppressed'>> &
    Pick<RefusalAuditOptions, 'onSuppressed'>;
  readonly #windows = new Map<string, Window>();
  /** Summaries of evicted windows, written by the next flush. */
  #evicted: AuditEntry[] = [];

  constructor(o: RefusalAuditOptions) {
    this.#o = { perWindow: REFUSALS_PER_WINDOW, windowMs: REFUSAL_WINDOW_MS, ...o };
  }

  /** For one refusal by `actor` (`user:NAME`): whether to write its record, and records to write before it. */
  admit(actor: string): { write: boolean; before: AuditEntry[] } {
    const now = Math.floor(this.#o.clock.wallMs());
    const before: AuditEntry[] = [];
    let w = this.#windows.get(actor);
    if (w && now - w.since >= this.#o.windowMs) {
      if (w.suppressed > 0) before.push(this.#summary(actor, w, now));
      this.#windows.delete(actor);
      w = undefined;
    }
    if (!w) {
      w = { since: now, written: 0, suppressed: 0 };
      this.#windows.set(actor, w);
      if (this.#windows.size > MAX_ACTORS) this.#evict();
    }
    if (w.written < this.#o.perWindow) {
      w.written++;
      return { write: true, before };
    }
    w.suppressed++;
    this.#o.onSuppressed?.();
    return { write: false, before };
  }

  /** Summary records of every window that has ended with refusals left out; forgets those windows. */
  flush(): AuditEntry[] {
    const now = Math.floor(this.#o.clock.wallMs());
    const out = this.#evicted;
    this.#evicted = [];
    for (const [actor, w] of this.#windows)
      if (now - w.since >= this.#o.windowMs) {
        if (w.suppressed > 0) out.push(this.#summary(actor, w, now));
        this.#windows.delete(actor);
      }
    return out;
  }

  /** Summary records of every window with refusals left out, ended or not (at shutdown). */
  flushAll(): AuditEntry[] {
    const now = Math.floor(this.#o.clock.wallMs());
    const out = this.#evicted;
    this.#evicted = [];
    for (const [actor, w] of this.#windows) if (w.suppressed > 0) out.push(this.#summary(actor, w, now));
    this.#windows.clear();
    return out;
  }

  get size(): number {
    return this.#windows.size;
  }

  #evict(): void {
    const [actor, w] = this.#windows.entries().next().value!;
    this.#windows.delete(actor);
    if (w.suppressed > 0 && this.#evicted.length < MAX_PENDING_SUMMARIES)
      this.#evicted.push(this.#summary(actor, w, Math.floor(this.#o.clock.wallMs())));
  }

  #summary(actor: string, w: Window, now: number): AuditEntry {
    return {
      actor: 'system',
      action: 'audit.refusals-suppressed',
      subject: actor,
      details: { count: w.suppressed, since: w.since, until: Math.min(now, w.since + this.#o.windowMs) },
    };
  }
}
