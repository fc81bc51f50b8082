// A customer service as the lab runs it: the connector's service definition (with its target
// options), and the probes the story sends to it as the engineer (chapter 4).
import type { ServiceSpec } from '../agent/index.ts';
import type { HttpAnswer } from './client.ts';

export interface Probe {
  /** The story step this probe belongs to ('query', 'refused', 'prometheus', 'kubernetes'). */
  step: string;
  /** What the engineer does, for people: "SELECT count() FROM system.tables". */
  what: string;
  request: { method?: string; path: string; headers?: Record<string, string>; body?: string };
  /** Whether the answer is the one expected, with a short summary of it. */
  judge(a: HttpAnswer): { ok: boolean; summary: string };
  /** Retry until the answer is as expected for this long (a grant's user takes a moment). */
  retryMs?: number;
}

export interface LabService {
  spec: ServiceSpec;
  /** For people: "ClickHouse 18.16 (private server, 127.0.0.1:8123)". */
  label: string;
  /** True for the stand-in served when the real server is not installed. */
  demo: boolean;
  probes: Probe[];
  /** The server's process id when the lab started one (killed at exit if still there). */
  pid?: number;
  stop(): Promise<void>;
}

/** `Code: N` from a ClickHouse error answer, if any. */
export function clickhouseCode(body: string): number | undefined {
  const m = /Code: (\d+)/.exec(body);
  return m ? Number(m[1]) : undefined;
}

/** The first line of a body, bounded, for summaries. */
export function firstLine(body: string, max = 160): string {
  const l = body.trim().split('\n')[0] ?? '';
  return l.length > max ? l.slice(0, max) + '…' : l;
}
