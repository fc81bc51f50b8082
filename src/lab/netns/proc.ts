// Processes and commands for the namespace plumbing (netns.ts, sweep.ts): run a command (in a
// namespace: `ip netns exec`), wait on a condition, and tell whether a process is gone or is still
// the one that started at a given time (PID reuse).
import { execFile } from 'node:child_process';
import { accessSync, constants, readFileSync, readdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { realClock, type Clock } from '../../clock/index.ts';
import { SallyportError } from '../../util/index.ts';

/** Linux IFNAMSIZ is 16 including the terminating NUL. */
export const IFNAME_MAX = 15;
/** Where wireguard-go and wg keep control sockets; shared by every namespace (see COMPONENTS.md). */
export const WG_SOCKET_DIR = '/var/run/wireguard';

export class NetnsError extends SallyportError {}

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface ExecOptions {
  signal?: AbortSignal;
  /** Resolve with the exit code instead of throwing when the command fails. Default false. */
  allowFailure?: boolean;
  /** Kill the command after this long. Default 10 000 ms. */
  timeoutMs?: number;
  /** Written to the command's stdin (which is otherwise closed at once). */
  input?: string;
}

/** Undefined when every binary is on PATH, else the reason naming the missing ones. */
export function missingBinary(...names: string[]): string | undefined {
  const dirs = (process.env.PATH ?? '').split(delimiter).filter(Boolean);
  const missing = names.filter(
    (n) =>
      !dirs.some((d) => {
        try {
          accessSync(join(d, n), constants.X_OK);
          return true;
        } catch {
          return false;
        }
      }),
  );
  return missing.length ? `needs ${missing.join(', ')} on PATH` : undefined;
}

/** Start time of a process in clock ticks since boot, or undefined when it does not exist. */
export function processStartTicks(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 2 (comm) may contain spaces and parentheses: fields resume after the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/**
 * True when the process has fully exited: gone, or a zombie with no thread left running (a
 * multithreaded process's zombie leader waits for its other threads, which still hold its files).
 */
export function gone(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat[stat.lastIndexOf(')') + 2] === 'Z' && readdirSync(`/proc/${pid}/task`).length <= 1;
  } catch {
    return true;
  }
}

export function creatorAlive(pid: number, start: string): boolean {
  return processStartTicks(pid) === start;
}

/** Resolves after `ms` on `clock`; rejects with the signal's reason when aborted. */
export function sleep(ms: number, opts: { signal?: AbortSignal; clock?: Clock } = {}): Promise<void> {
  const clock = opts.clock ?? realClock;
  const { signal } = opts;
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clock.clearTimeout(handle);
      reject(signal!.reason);
    };
    const handle = clock.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Polls `cond` every `intervalMs` (default 20) until it returns a value other than undefined/false. */
export async function waitFor<T>(
  what: string,
  cond: () => T | undefined | false | Promise<T | undefined | false>,
  opts: { timeoutMs?: number; intervalMs?: number; signal?: AbortSignal; clock?: Clock } = {},
): Promise<T> {
  const clock = opts.clock ?? realClock;
  const deadline = clock.now() + (opts.timeoutMs ?? 5000);
  for (;;) {
    const v = await cond();
    if (v !== undefined && v !== false) return v;
    if (clock.now() >= deadline) throw new NetnsError('NETNS_TIMEOUT', `timed out waiting for ${what}`);
    await sleep(opts.intervalMs ?? 20, opts);
  }
}

/** Runs a command (in namespace `ns` when given) and collects its output. */
export function exec(
  ns: string | undefined,
  argv: readonly string[],
  opts: ExecOptions = {},
): Promise<ExecResult> {
  const [file, ...args] = ns === undefined ? argv : ['ip', 'netns', 'exec', ns, ...argv];
  return new Promise((resolve, reject) => {
    const child = execFile(
      file,
      args,
      {
        signal: opts.signal,
        timeout: opts.timeoutMs ?? 10_000,
        maxBuffer: 16 * 1024 * 1024,
        encoding: 'utf8',
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
        if (err && (!opts.allowFailure || typeof err.code !== 'number')) {
          const where = ns === undefined ? '' : ` (in ${ns})`;
          reject(
            new NetnsError(
              'NETNS_COMMAND_FAILED',
              `${argv.join(' ')}${where} failed: ${stderr.trim() || err.message}`,
              {
                cause: err,
              },
            ),
          );
        } else resolve({ code, stdout, stderr });
      },
    );
    // Ignore EPIPE from a command that exits without reading its input.
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(opts.input ?? '');
  });
}

/** SIGKILL, ignoring a process that is already gone. */
export function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // gone
  }
}
