// What every `sallyport admin` verb is handed, and the helpers they share: output as a table or
// JSON, "done" lines, the checks of arguments, and the password a verb may need.
import type { ApiClient } from '../../control/api-client.ts';
import { UsageError, processIo as commandIo, type CommandIo } from '../kit/index.ts';
import { PromptAborted, readSecret } from '../prompt.ts';
import { table } from '../table.ts';
import type { AdminValues } from './flags.ts';

/** Where a run reads its environment and writes its output (tests pass their own). */
export interface AdminIo extends CommandIo {
  /** A password: typed at a prompt with no echo on a terminal, else the first line of stdin. */
  stdinLine: (prompt: string) => string | Promise<string>;
}

export const processIo: AdminIo = {
  ...commandIo,
  stdinLine: async (prompt) => {
    try {
      return await readSecret(prompt);
    } catch (e) {
      if (e instanceof PromptAborted) return '';
      throw e;
    }
  },
};

/** One admin verb's input: the flags, the arguments after RESOURCE VERB, the API client. */
export interface AdminContext {
  o: AdminValues;
  verb: string | undefined;
  args: string[];
  api: ApiClient;
  io: AdminIo;
}

/** One `RESOURCE VERB` (or a lone `RESOURCE`) of `sallyport admin`; returns the exit code. */
export type AdminVerb = (c: AdminContext) => Promise<number>;

export type Row = Record<string, unknown>;

export const enc = encodeURIComponent;

export const time = (ms: unknown) =>
  typeof ms === 'number' ? new Date(ms).toISOString().replace('.000Z', 'Z') : ms;

function cell(v: unknown): string {
  if (v === null || v === undefined) return '-';
  if (Array.isArray(v)) return v.join(',') || '*';
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

/** Data: JSON with --json (or with no columns), else a table of `cols` (dotted paths into each row). */
export function out(c: AdminContext, data: unknown, cols?: string[]): void {
  if (c.o.json || !cols) {
    c.io.stdout(JSON.stringify(data, null, c.o.json ? 2 : undefined) + '\n');
    return;
  }
  const rows = (Array.isArray(data) ? data : [data]) as Row[];
  const at = (r: Row, path: string) =>
    path.split('.').reduce<unknown>((x, k) => (x as Row | undefined)?.[k], r);
  c.io.stdout(
    table(
      rows,
      cols.map((col) => [col.toUpperCase(), (r: Row) => cell(at(r, col))] as const),
    ),
  );
}

/** What a verb with no data to show did: a line for people, {"ok":true,…} with --json. */
export function done(c: AdminContext, what: string, data: Record<string, unknown>): void {
  c.io.stdout(c.o.json ? JSON.stringify({ ok: true, ...data }) + '\n' : `${what}\n`);
}

export function need(v: string | undefined, what: string): string {
  if (!v) throw new UsageError(`missing ${what}`);
  return v;
}

/** DEPLOYMENT/NAME → [deployment, name]. */
export function split(s: string): [string, string] {
  const m = /^([^/]+)\/([^/]+)$/.exec(s);
  if (!m) throw new UsageError(`expected DEPLOYMENT/NAME, got '${s}'`);
  return [m[1], m[2]];
}

/** A password from the variable `env`, else typed (or the first line of stdin). */
export async function secretFrom(io: AdminIo, env: string, prompt: string): Promise<string> {
  const v = io.env[env];
  if (v) return v;
  const line = await io.stdinLine(prompt);
  if (!line) throw new UsageError(`no password: type it at the prompt, pipe it on stdin, or set ${env}`);
  return line;
}
