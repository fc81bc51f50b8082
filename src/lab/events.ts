// The lab's story as events: one per step and outcome. `--json` prints each as one JSON line
//   {"step":"enrol","chapter":1,"status":"ok","message":"…","detail":{…},"t":812}
// (t = ms since the lab started); otherwise a human line, e.g.
//   [  0.8s] 1 ✓ enrol        connector acme-prod-connector enrolled; services: clickhouse, k8s
import type { Clock } from '../clock/index.ts';

export type LabStatus = 'running' | 'ok' | 'failed' | 'info';

export interface LabEvent {
  step: string;
  /** The chapter of the story (1–5), 0 for setup, 6 for what follows it. */
  chapter: number;
  status: LabStatus;
  message: string;
  detail?: Record<string, unknown>;
  t: number;
}

const MARK: Record<LabStatus, string> = { running: '…', ok: '✓', failed: '✗', info: '·' };

export class Reporter {
  readonly events: LabEvent[] = [];
  readonly #t0: number;

  constructor(readonly o: { json: boolean; out: (line: string) => void; clock: Clock }) {
    this.#t0 = o.clock.now();
  }

  emit(
    step: string,
    chapter: number,
    status: LabStatus,
    message: string,
    detail?: Record<string, unknown>,
  ): LabEvent {
    const e: LabEvent = {
      step,
      chapter,
      status,
      message,
      ...(detail ? { detail } : {}),
      t: Math.round(this.o.clock.now() - this.#t0),
    };
    this.events.push(e);
    if (this.o.json) this.o.out(JSON.stringify(e));
    else {
      const secs = (e.t / 1000).toFixed(1).padStart(6);
      const ch = chapter >= 1 && chapter <= 5 ? String(chapter) : ' ';
      this.o.out(`[${secs}s] ${ch} ${MARK[status]} ${step.padEnd(12)} ${message}`);
    }
    return e;
  }

  /** A free-form human line (nothing in --json mode). */
  say(text: string): void {
    if (!this.o.json) this.o.out(text);
  }
}
