// Endpoint discovery: the candidates this node offers its peers in CALL_ME_MAYBE and to the
// coordinator. They are
//   - STUN results: our UDP socket's address on the far side of every NAT (stun-client.ts), first,
//     because from the Internet they are the ones that work;
//   - local interface addresses paired with the socket's port (peers on the same LAN or VPC).
// Loopback and link-local addresses are left out (a peer cannot reach them; link-local IPv6 would
// need a zone). Node has no network-change event, so interfaces are polled (pollMs); a change
// means "the network changed": STUN is asked again at once (onNetworkChange) and the new list goes
// out (onChange).
import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os';
import type { Clock } from '../clock/index.ts';
import { MAX_CANDIDATES } from '../proto/frames/index.ts';
import { canonicalAddress, formatEndpoint, normalizeEndpoint, isDirectEndpoint } from './endpoint.ts';
import { PathsError } from './errors.ts';
import { Wakeup } from './timers.ts';

export type Interfaces = () => NodeJS.Dict<NetworkInterfaceInfo[]>;

export interface DiscoveryOptions {
  clock: Clock;
  /** The UDP port of the agent's socket (UdpMux.port). */
  port: number;
  /** Default os.networkInterfaces; tests inject a table. */
  interfaces?: Interfaces;
  /** Address families offered. Default ['IPv4'] (a 'udp4' socket); add 'IPv6' for a dual-stack socket. */
  families?: readonly ('IPv4' | 'IPv6')[];
  /** Offer loopback addresses too (the lab on one machine). Default false. */
  includeLoopback?: boolean;
  /**
   * Look at the interfaces this often. Default 5000 ms: a roaming laptop gets a direct path back
   * within a few seconds, and reading the interface table is cheap (one syscall-backed call).
   */
  pollMs?: number;
  /** The candidate list changed (STUN results first, then interface addresses; at most 32). */
  onChange?(candidates: string[]): void;
  /** The interface addresses changed: call StunClient.refresh(). */
  onNetworkChange?(): void;
}

export class Discovery {
  readonly #o: DiscoveryOptions & { pollMs: number; interfaces: Interfaces };
  readonly #wake: Wakeup;
  #local: string[] = [];
  #stun: string[] = [];
  #candidates: string[] = [];
  #running = false;

  constructor(o: DiscoveryOptions) {
    this.#o = { pollMs: 5000, interfaces: networkInterfaces, ...o };
    if (!Number.isInteger(o.port) || o.port < 1 || o.port > 0xffff)
      throw new PathsError('PATHS_OPTION_INVALID', `port must be 1..65535 (got ${o.port})`);
    if (!(this.#o.pollMs > 0)) throw new PathsError('PATHS_OPTION_INVALID', 'pollMs must be > 0');
    this.#wake = new Wakeup(o.clock, () => {
      this.poll();
      if (this.#running) this.#wake.arm(this.#o.clock.now() + this.#o.pollMs);
    });
  }

  /** Reads the interfaces now and then every pollMs. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#local = this.#readInterfaces();
    this.#update();
    this.#wake.arm(this.#o.clock.now() + this.#o.pollMs);
  }

  stop(): void {
    this.#running = false;
    this.#wake.stop();
  }

  /** The current candidates. */
  candidates(): string[] {
    return [...this.#candidates];
  }

  /** The STUN client's mapped endpoints changed (wire StunClient's onChange here). */
  setStunResults(mapped: readonly string[]): void {
    this.#stun = [...new Set(mapped.filter(isDirectEndpoint).map(normalizeEndpoint))];
    this.#update();
  }

  /** Reads the interfaces now (also a hook for an OS network-change signal). */
  poll(): void {
    const next = this.#readInterfaces();
    const changed = next.length !== this.#local.length || next.some((e, i) => e !== this.#local[i]);
    this.#local = next;
    if (!changed) return;
    this.#o.onNetworkChange?.();
    this.#update();
  }

  #readInterfaces(): string[] {
    const fams = this.#o.families ?? ['IPv4'];
    const out = new Set<string>();
    let table: NodeJS.Dict<NetworkInterfaceInfo[]>;
    try {
      table = this.#o.interfaces();
    } catch {
      return this.#local; // unreadable now: keep what we had
    }
    for (const name of Object.keys(table).sort())
      for (const a of table[name] ?? []) {
        if (!fams.includes(a.family)) continue;
        if (a.internal && !this.#o.includeLoopback) continue;
        const addr = canonicalAddress(a.address);
        if (!addr || isLinkLocal(addr)) continue;
        out.add(formatEndpoint({ address: addr, port: this.#o.port }));
      }
    return [...out];
  }

  #update(): void {
    const next = [...new Set([...this.#stun, ...this.#local])].slice(0, MAX_CANDIDATES);
    if (next.length === this.#candidates.length && next.every((e, i) => e === this.#candidates[i])) return;
    this.#candidates = next;
    this.#o.onChange?.(this.candidates());
  }
}

function isLinkLocal(addr: string): boolean {
  return addr.startsWith('169.254.') || /^fe[89ab][0-9a-f]:/i.test(addr);
}
