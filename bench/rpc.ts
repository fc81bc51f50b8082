// Calls into benchmark child processes over their IPC channel: the parent's `Remote.call(method,
// ...args)` runs the child's handler of that name and resolves with what it returns. Children run
// under `node --import tsx` (fork), so what they measure (memory, CPU) is their own.
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';

interface CallMsg {
  type: 'call';
  id: number;
  method: string;
  args: unknown[];
}
interface ReplyMsg {
  type: 'reply';
  id: number;
  value?: unknown;
  error?: string;
}

export class Remote {
  #next = 0;
  readonly #waiting = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();

  private constructor(readonly proc: ChildProcess) {
    proc.on('message', (m: ReplyMsg) => {
      if (m.type !== 'reply') return;
      const w = this.#waiting.get(m.id);
      this.#waiting.delete(m.id);
      if (m.error !== undefined) w?.reject(new Error(m.error));
      else w?.resolve(m.value);
    });
    proc.on('exit', (code, signal) => {
      for (const w of this.#waiting.values()) w.reject(new Error(`child exited (${code ?? signal})`));
      this.#waiting.clear();
    });
  }

  /** Forks `script` (a .ts file) with `args`; `execArgv` adds node flags (e.g. --cpu-prof). */
  static start(script: string, args: string[], execArgv: string[] = []): Remote {
    const proc = fork(script, args, {
      execArgv: ['--expose-gc', '--import', 'tsx', ...execArgv],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    return new Remote(proc);
  }

  get pid(): number {
    return this.proc.pid!;
  }

  call<T = unknown>(method: string, ...args: unknown[]): Promise<T> {
    const id = ++this.#next;
    return new Promise<T>((resolve, reject) => {
      if (!this.proc.connected) return reject(new Error(`child ${this.pid} is gone`));
      this.#waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.proc.send({ type: 'call', id, method, args } satisfies CallMsg);
    });
  }

  /** Asks the child to stop (its `stop` handler), then waits for it to exit; kills it after `ms`. */
  async stop(ms = 20_000): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    const exited = once(this.proc, 'exit');
    const t = setTimeout(() => this.proc.kill('SIGKILL'), ms);
    await this.call('stop').catch(() => undefined);
    await exited;
    clearTimeout(t);
  }
}

type Handler = (...args: never[]) => unknown;

/**
 * CPU profiling of a window of the child's life (not its start-up): `profileStart` then
 * `profileStop(file)` writes a .cpuprofile (open it in Chrome DevTools or speedscope).
 */
function profiler(): Record<string, Handler> {
  let session: Session | undefined;
  const post = (method: string, params?: object) =>
    new Promise<unknown>((resolve, reject) =>
      session!.post(method, params ?? {}, (err, r) => (err ? reject(err) : resolve(r))),
    );
  return {
    async profileStart(): Promise<void> {
      session ??= new Session();
      session.connect();
      await post('Profiler.enable');
      await post('Profiler.setSamplingInterval', { interval: 200 });
      await post('Profiler.start');
    },
    async profileStop(file: string): Promise<void> {
      if (!session) throw new Error('profileStart first');
      const r = (await post('Profiler.stop')) as { profile: unknown };
      writeFileSync(file, JSON.stringify(r.profile));
      session.disconnect();
    },
  };
}

/**
 * The child's side: answers calls with `handlers[method](...args)`. A `stop` handler runs last:
 * the child then disconnects and exits.
 */
export function serve(handlers: Record<string, Handler>): void {
  if (!process.send) throw new Error('a benchmark child needs an IPC channel (fork)');
  const prof = profiler();
  const builtins: Record<string, Handler> = {
    /** CPU time this process has used, ms (user + system). */
    cpuMs: () => {
      const c = process.cpuUsage();
      return (c.user + c.system) / 1000;
    },
  };
  process.on('message', async (m: CallMsg) => {
    if (m.type !== 'call') return;
    let reply: ReplyMsg;
    try {
      const h = handlers[m.method] ?? prof[m.method] ?? builtins[m.method];
      if (!h) throw new Error(`no method ${m.method}`);
      reply = { type: 'reply', id: m.id, value: await (h as (...a: unknown[]) => unknown)(...m.args) };
    } catch (e) {
      reply = { type: 'reply', id: m.id, error: (e as Error).stack ?? String(e) };
    }
    process.send!(reply, () => {
      if (m.method === 'stop') process.exit(0);
    });
  });
}

/**
 * CPU time (ms, user + system) used so far by the processes `pids` and every live descendant of
 * theirs, from /proc (Linux; clock ticks of 10 ms, so measure over seconds). Children that exited
 * count once their parent has waited for them (cutime/cstime).
 */
export function treeCpuMs(pids: number[]): number {
  const parent = new Map<number, number>();
  const ticks = new Map<number, number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${d}/stat`, 'utf8');
    } catch {
      continue; // gone
    }
    // pid (comm) state ppid ... utime(14) stime(15) cutime(16) cstime(17): fields after the ')'
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    parent.set(Number(d), Number(f[1]));
    ticks.set(Number(d), Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]));
  }
  const inTree = (pid: number): boolean => {
    for (let p = pid, hops = 0; p > 1 && hops < 64; p = parent.get(p) ?? 0, hops++)
      if (pids.includes(p)) return true;
    return false;
  };
  let sum = 0;
  for (const [pid, t] of ticks) if (inTree(pid)) sum += t;
  return (sum * 1000) / 100; // USER_HZ is 100 on Linux
}

/** Memory of this process after a few full collections (needs --expose-gc). */
export async function settledMemory(): Promise<NodeJS.MemoryUsage> {
  const gc = (globalThis as { gc?: () => void }).gc;
  for (let i = 0; i < 3; i++) {
    gc?.();
    await new Promise((r) => setImmediate(r));
  }
  return process.memoryUsage();
}
