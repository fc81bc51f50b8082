// Network namespaces for `sallyport lab --netns` and the tests (interop, netlab): namespaces, veth
// pairs, addresses and long-running processes, every one of them named uniquely per run and removed
// by `cleanup()` (or, synchronously, when the process exits first), plus a sweep of what a crashed
// earlier run left behind (sweep.ts; commands and processes: proc.ts).
//
// Naming (what the sweep relies on; `P` = prefix, `pid5` = creator PID in base 36, 5 characters,
// `i` = instance within the process, 1 character):
//   namespace   P-<pid>-<start>-<i>-<label>   <start> = creator's start time (/proc/<pid>/stat, ticks)
//   interface   P<pid5><i><label>             ≤ 15 characters (IFNAMSIZ - 1); a root-namespace link
//                                            also carries the alias "sallyport P <pid> <start>"
// A leftover is stale when its creator PID is gone or now belongs to a process that started at a
// different time (PID reuse, common in containers). Interfaces inside a namespace die with it.
//
//   const lab = await NetnsLab.create();                   // sweeps stale leftovers first
//   t.after(() => lab.cleanup());                          // processes by PID, links, namespaces
//   const [cust, nat] = [await lab.namespace('cust'), await lab.namespace('nat')];
//   const lan = await lab.freeSubnet(30);                  // a /30 of 198.18.0.0/16
//   await lab.veth({ label: 'c', ns: cust, cidr: `${lan.hosts[0]}/30` },
//                  { label: 'n', ns: nat, cidr: `${lan.hosts[1]}/30` });
//   await lab.masquerade(nat, wanIf);                      // nftables source NAT, forwarding on
//   const wg = lab.spawn(cust, ['wireguard-go', '-f', lab.ifname('wg')]);
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { realClock, type Clock } from '../../clock/index.ts';
import {
  IFNAME_MAX,
  exec,
  gone,
  killQuietly,
  missingBinary,
  NetnsError,
  processStartTicks,
  waitFor,
  type ExecOptions,
  type ExecResult,
} from './proc.ts';
import { DEFAULT_PREFIX, sweepStale } from './sweep.ts';

export {
  IFNAME_MAX,
  WG_SOCKET_DIR,
  NetnsError,
  exec,
  missingBinary,
  processStartTicks,
  sleep,
  waitFor,
  type ExecOptions,
  type ExecResult,
} from './proc.ts';
export { sweepStale, type SweepResult } from './sweep.ts';

const OUTPUT_KEEP = 64 * 1024;
const STOP_GRACE_MS = 2000;

/** A process started in a namespace by a lab; `pid` is the program's own (ip netns exec execs it). */
export interface LabProcess {
  readonly pid: number;
  readonly argv: readonly string[];
  readonly child: ChildProcess;
  /** Resolves with the exit code (or null when killed by a signal) once the process has exited. */
  readonly exited: Promise<number | null>;
  /** The last 64 KiB of stdout and stderr, interleaved. */
  output(): string;
  /** SIGTERM, then SIGKILL after 2 s; resolves once it has exited. Idempotent. */
  stop(): Promise<void>;
}

function ipv4ToInt(s: string): number {
  return s.split('.').reduce((a, o) => a * 256 + Number(o), 0);
}

function intToIpv4(n: number): string {
  return [24, 16, 8, 0].map((sh) => Math.floor(n / 2 ** sh) % 256).join('.');
}

/** [first, last] address (as integers) of the network containing `addr`/`len`. */
function range(addr: string, len: number): [number, number] {
  const size = 2 ** (32 - len);
  const lo = Math.floor(ipv4ToInt(addr) / size) * size;
  return [lo, lo + size - 1];
}

let instances = 0;

export interface NetnsLabOptions {
  /** Name prefix of everything created, 1–3 lowercase letters. Default 'sp'. */
  prefix?: string;
  /** Clock for waits. Default realClock. */
  clock?: Clock;
  signal?: AbortSignal;
}

/**
 * One run's namespaces, links and processes. Create with `NetnsLab.create()` (which sweeps stale
 * leftovers first) and always `await lab.cleanup()` in a `finally` or `t.after`.
 */
export class NetnsLab {
  readonly prefix: string;
  /** `P<pid5><i>`: the start of every interface name of this lab. */
  readonly tag: string;
  readonly clock: Clock;
  readonly #start: string;
  readonly #instance: string;
  readonly #alias: string;
  readonly #namespaces: string[] = [];
  readonly #links: string[] = [];
  readonly #procs = new Set<LabProcess>();
  #subnets = 0;
  /** The process exits before `cleanup()` ran (a second Ctrl-C, process.exit): tear down synchronously. */
  readonly #onExit = () => this.cleanupSync();

  private constructor(prefix: string, clock: Clock) {
    if (!/^[a-z]{1,3}$/.test(prefix))
      throw new NetnsError('NETNS_BAD_NAME', `prefix must be 1-3 letters: ${prefix}`);
    this.prefix = prefix;
    this.clock = clock;
    this.#start = processStartTicks(process.pid) ?? '0';
    this.#instance = (instances++ % 36).toString(36);
    this.#alias = `sallyport ${prefix} ${process.pid} ${this.#start}`;
    this.tag = `${prefix}${process.pid.toString(36).padStart(5, '0')}${this.#instance}`;
    process.on('exit', this.#onExit);
  }

  static async create(opts: NetnsLabOptions = {}): Promise<NetnsLab> {
    const prefix = opts.prefix ?? DEFAULT_PREFIX;
    await sweepStale(prefix, opts);
    return new NetnsLab(prefix, opts.clock ?? realClock);
  }

  /** A unique interface name for `label` (at most 15 - tag length characters). */
  ifname(label: string): string {
    const name = this.tag + label;
    if (!/^[a-z0-9]+$/.test(label) || name.length > IFNAME_MAX)
      throw new NetnsError('NETNS_BAD_NAME', `interface label "${label}" too long or not [a-z0-9]: ${name}`);
    return name;
  }

  /** Creates a namespace with its loopback up; returns its name. */
  async namespace(label: string, opts: { signal?: AbortSignal } = {}): Promise<string> {
    if (!/^[a-z0-9-]+$/.test(label)) throw new NetnsError('NETNS_BAD_NAME', `namespace label "${label}"`);
    const name = `${this.prefix}-${process.pid}-${this.#start}-${this.#instance}-${label}`;
    await exec(undefined, ['ip', 'netns', 'add', name], opts);
    this.#namespaces.push(name);
    await exec(undefined, ['ip', '-n', name, 'link', 'set', 'lo', 'up'], opts);
    return name;
  }

  /**
   * Creates a veth pair `ifname(a.label)` ↔ `ifname(b.label)`, each end moved into its namespace
   * (undefined = the root namespace), optionally addressed (CIDR) and set up. Returns the two names.
   */
  async veth(
    a: { label: string; ns?: string; cidr?: string },
    b: { label: string; ns?: string; cidr?: string },
    opts: { signal?: AbortSignal } = {},
  ): Promise<[string, string]> {
    const [na, nb] = [this.ifname(a.label), this.ifname(b.label)];
    await exec(undefined, ['ip', 'link', 'add', na, 'type', 'veth', 'peer', 'name', nb], opts);
    // Both ends are tracked; cleanup deletes whichever is still in the root namespace.
    this.#links.push(na, nb);
    for (const name of [na, nb])
      await exec(undefined, ['ip', 'link', 'set', name, 'alias', this.#alias], opts);
    for (const [end, name] of [
      [a, na],
      [b, nb],
    ] as const) {
      if (end.ns !== undefined) await exec(undefined, ['ip', 'link', 'set', name, 'netns', end.ns], opts);
      if (end.cidr !== undefined) await this.address(end.ns, name, end.cidr, opts);
      await this.up(end.ns, name, opts);
    }
    return [na, nb];
  }

  async address(
    ns: string | undefined,
    ifname: string,
    cidr: string,
    opts: { signal?: AbortSignal } = {},
  ): Promise<void> {
    await exec(ns, ['ip', 'addr', 'add', cidr, 'dev', ifname], opts);
  }

  async up(ns: string | undefined, ifname: string, opts: { signal?: AbortSignal } = {}): Promise<void> {
    await exec(ns, ['ip', 'link', 'set', ifname, 'up'], opts);
  }

  /** `ip route add ...` in `ns`. */
  async route(
    ns: string | undefined,
    args: readonly string[],
    opts: { signal?: AbortSignal } = {},
  ): Promise<void> {
    await exec(ns, ['ip', 'route', 'add', ...args], opts);
  }

  /** Makes `ns` a router: IPv4 forwarding on. */
  async forwarding(ns: string, opts: { signal?: AbortSignal } = {}): Promise<void> {
    // /proc/sys/net shows the namespace of the process that opens it (no procps needed).
    await exec(ns, ['sh', '-c', 'echo 1 > /proc/sys/net/ipv4/ip_forward'], opts);
  }

  /**
   * Source NAT in router namespace `ns` for everything leaving through `outIf` (nftables
   * `masquerade`: endpoint-independent mapping; with `fullyRandom`, a random port per flow, which
   * behaves like a symmetric NAT; with `persistent`, nftables' `masquerade persistent`, the same
   * source address for a client's every flow — one address here, so mapped as plain masquerade).
   * Forwarding is turned on too.
   */
  async masquerade(
    ns: string,
    outIf: string,
    opts: { fullyRandom?: boolean; persistent?: boolean; signal?: AbortSignal } = {},
  ): Promise<void> {
    await this.forwarding(ns, opts);
    const flags = [opts.fullyRandom ? 'fully-random' : '', opts.persistent ? 'persistent' : '']
      .filter(Boolean)
      .join(',');
    const rule = `oifname "${outIf}" masquerade${flags ? ` ${flags}` : ''}`;
    const script = [
      'table ip sallyport_nat {',
      '  chain postrouting {',
      '    type nat hook postrouting priority srcnat; policy accept;',
      `    ${rule}`,
      '  }',
      '}',
    ].join('\n');
    await exec(ns, ['nft', '-f', '-'], { ...opts, input: script });
  }

  /** Runs a command in `ns` (undefined = root namespace). */
  exec(ns: string | undefined, argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
    return exec(ns, argv, opts);
  }

  /**
   * Starts a long-running program in `ns`, tracked by PID until it exits or the lab is cleaned up
   * (`stdin: true` gives it a pipe on `child.stdin`, else its input is closed).
   */
  spawn(
    ns: string | undefined,
    argv: readonly string[],
    opts: { signal?: AbortSignal; env?: NodeJS.ProcessEnv; stdin?: boolean } = {},
  ): LabProcess {
    const [file, ...args] = ns === undefined ? argv : ['ip', 'netns', 'exec', ns, ...argv];
    const child = spawn(file, args, {
      stdio: [opts.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
      env: opts.env ?? process.env,
    });
    if (child.pid === undefined)
      throw new NetnsError('NETNS_SPAWN_FAILED', `could not start ${argv.join(' ')}`);
    let out = '';
    const keep = (d: Buffer) => {
      out = (out + d.toString('utf8')).slice(-OUTPUT_KEEP);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    const exited = new Promise<number | null>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode);
      else child.once('exit', (code) => resolve(code));
    });
    const stop = async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = this.clock.setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
        await exited;
        this.clock.clearTimeout(timer);
      }
      this.#procs.delete(proc);
    };
    const proc: LabProcess = { pid: child.pid, argv, child, exited, output: () => out, stop };
    this.#procs.add(proc);
    void exited.then(() => this.#procs.delete(proc));
    opts.signal?.addEventListener('abort', () => void stop(), { once: true });
    return proc;
  }

  /**
   * A /`bits` IPv4 subnet of 198.18.0.0/16 (RFC 2544 benchmark range) that overlaps no address or
   * route of the root namespace, chosen from this process's PID so concurrent runs rarely collide.
   * Returns the network and its host addresses (`hosts[0]` is network + 1).
   */
  async freeSubnet(
    bits = 30,
    opts: { signal?: AbortSignal } = {},
  ): Promise<{ cidr: string; hosts: string[] }> {
    if (bits < 17 || bits > 30)
      throw new NetnsError('NETNS_BAD_SUBNET', `prefix length ${bits} out of 17..30`);
    const taken: [number, number][] = [];
    for (const cmd of [
      ['ip', '-4', '-j', 'addr', 'show'],
      ['ip', '-4', '-j', 'route', 'show', 'table', 'all'],
    ]) {
      const rows = JSON.parse((await exec(undefined, cmd, opts)).stdout || '[]') as {
        dst?: string;
        addr_info?: { local: string; prefixlen: number }[];
      }[];
      for (const r of rows) {
        for (const a of r.addr_info ?? []) taken.push(range(a.local, a.prefixlen));
        if (r.dst && r.dst !== 'default') {
          const [net, len] = r.dst.split('/');
          if (Number(len ?? 32) > 0) taken.push(range(net, Number(len ?? 32)));
        }
      }
    }
    const size = 2 ** (32 - bits);
    const slots = 2 ** 16 / size;
    const base = ipv4ToInt('198.18.0.0');
    for (let i = 0; i < slots; i++) {
      const slot = (process.pid * 7 + this.#subnets++ + i) % slots;
      const lo = base + slot * size;
      const hi = lo + size - 1;
      if (taken.some(([a, b]) => lo <= b && a <= hi)) continue;
      const hosts = Array.from({ length: size - 2 }, (_, k) => intToIpv4(lo + 1 + k));
      return { cidr: `${intToIpv4(lo)}/${bits}`, hosts };
    }
    throw new NetnsError('NETNS_BAD_SUBNET', 'no free subnet in 198.18.0.0/16');
  }

  /** Names of the namespaces this lab created and has not yet deleted. */
  get namespaces(): readonly string[] {
    return this.#namespaces;
  }

  /**
   * Stops every process this lab started (by PID), then deletes its namespaces and root-namespace
   * links. Tries everything; throws one error listing what could not be removed. Idempotent.
   */
  async cleanup(): Promise<void> {
    const errors: string[] = [];
    const note = (e: unknown): void => void errors.push(e instanceof Error ? e.message : String(e));
    await Promise.all([...this.#procs].map((p) => p.stop().catch(note)));
    // Whatever those started and left behind in our namespaces (a server's own children).
    for (const ns of this.#namespaces) {
      const pids = await exec(undefined, ['ip', 'netns', 'pids', ns], { allowFailure: true }).catch(note);
      const left = (pids?.stdout ?? '').split(/\s+/).filter(Boolean).map(Number);
      for (const p of left) killQuietly(p);
      await waitFor('leftover processes to exit', () => left.every(gone), { timeoutMs: 5000 }).catch(note);
    }
    // Root-namespace links first: deleting one end removes the pair at once, whereas a pair whose
    // end sits in a deleted namespace is destroyed later by the kernel's namespace cleanup.
    for (const l of this.#links.splice(0)) {
      if (!(await rootLinkExists(l))) continue;
      const r = await exec(undefined, ['ip', 'link', 'del', l], { allowFailure: true }).catch(note);
      if (r && r.code !== 0 && (await rootLinkExists(l))) note(`ip link del ${l}: ${r.stderr.trim()}`);
    }
    for (const ns of this.#namespaces.splice(0).reverse()) {
      await exec(undefined, ['ip', 'netns', 'del', ns]).catch(note);
    }
    process.off('exit', this.#onExit);
    if (errors.length)
      throw new NetnsError('NETNS_CLEANUP_FAILED', `cleanup left things behind: ${errors.join('; ')}`);
  }

  /**
   * Best-effort synchronous teardown for when the process is about to exit: SIGKILL every process
   * started (and every process still inside our namespaces), delete the links and namespaces.
   */
  cleanupSync(): void {
    for (const p of this.#procs) killQuietly(p.pid);
    const run = (argv: string[]): string => {
      try {
        return execFileSync(argv[0], argv.slice(1), {
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'ignore'],
        });
      } catch {
        return '';
      }
    };
    for (const ns of this.#namespaces)
      for (const p of run(['ip', 'netns', 'pids', ns]).split(/\s+/).filter(Boolean)) killQuietly(Number(p));
    for (const l of this.#links.splice(0)) run(['ip', 'link', 'del', l]);
    for (const ns of this.#namespaces.splice(0).reverse()) run(['ip', 'netns', 'del', ns]);
    process.off('exit', this.#onExit);
  }
}

async function rootLinkExists(name: string): Promise<boolean> {
  return (await exec(undefined, ['ip', 'link', 'show', 'dev', name], { allowFailure: true })).code === 0;
}

/** Undefined when this machine can run namespace tests (root, `ip`), else the reason. */
export function netnsMissing(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (network namespaces)';
  return missingBinary('ip');
}
