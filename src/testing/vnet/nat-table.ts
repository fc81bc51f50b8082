// The translation state of one NAT, pure and synchronous (the NAT router around it moves packets).
// Behaviours and their names are RFC 4787's:
//
//   mapping (§4.1): which outbound packets share one external port
//     EIM  endpoint-independent          one mapping per internal endpoint X:x
//     ADM  address-dependent             one per (X:x, remote address Y)
//     APDM address-and-port-dependent    one per (X:x, Y:y)  ("symmetric")
//   filtering (§5): which inbound packets to a mapping's external port pass
//     EIF  any remote
//     ADF  a remote address the mapping has sent to
//     APDF a remote address and port the mapping has sent to
//   port assignment (§4.2): 'preserve' keeps x when that external port is free, else random
//     (REQ-3a: a low x stays low this way whenever it can);
//     'sequential' hands out ports in order; 'random' draws each one. A port is never shared by two
//     mappings (REQ-3: no port overloading).
//   timeout (§4.3): a mapping dies mappingTimeoutMs after it was last refreshed; outbound packets
//     refresh it (REQ-6), inbound ones only with inboundRefresh.
//
// Lifecycle of a mapping:   (none) ──outbound──► ACTIVE ──timeout / flush()──► (gone)
//                                              ▲  │ outbound (and inbound if inboundRefresh): refresh
//                                              └──┘
// Expiry is computed from the clock when the table is touched: no timers, so nothing to stop.
// Filter state lives as long as its mapping (as in conntrack), bounded per mapping.
import { epKey, VnetError, type Endpoint } from './addr.ts';
import type { Rng } from './rng.ts';

export type MappingBehavior = 'EIM' | 'ADM' | 'APDM';
export type FilteringBehavior = 'EIF' | 'ADF' | 'APDF';
export type PortAssignment = 'preserve' | 'sequential' | 'random';

/** How a NAT translates. Every field has a default; see each. */
export interface NatBehavior {
  /** Default 'EIM' (RFC 4787 REQ-1). */
  mapping?: MappingBehavior;
  /** Default 'APDF', what Linux conntrack and most home routers do. */
  filtering?: FilteringBehavior;
  /** Default 'preserve'. */
  portAssignment?: PortAssignment;
  /** Idle time after which a mapping dies, ms. Default 120 000 (REQ-5: at least 2 min by default). */
  mappingTimeoutMs?: number;
  /** Whether inbound packets refresh a mapping too. Default false (REQ-6 asks only for outbound). */
  inboundRefresh?: boolean;
}

type Resolved = Required<NatBehavior>;

export const DEFAULT_MAPPING_TIMEOUT_MS = 120_000;
/** External ports handed out: the registered and dynamic range. */
const PORT_LO = 1024;
const PORT_N = 65536 - PORT_LO;
/** Remotes remembered per mapping for filtering; the oldest is forgotten past this. */
const MAX_PERMITS = 4096;

export function resolveBehavior(b: NatBehavior): Resolved {
  const r: Resolved = {
    mapping: b.mapping ?? 'EIM',
    filtering: b.filtering ?? 'APDF',
    portAssignment: b.portAssignment ?? 'preserve',
    mappingTimeoutMs: b.mappingTimeoutMs ?? DEFAULT_MAPPING_TIMEOUT_MS,
    inboundRefresh: b.inboundRefresh ?? false,
  };
  if (!['EIM', 'ADM', 'APDM'].includes(r.mapping)) throw bad(`mapping ${r.mapping}`);
  if (!['EIF', 'ADF', 'APDF'].includes(r.filtering)) throw bad(`filtering ${r.filtering}`);
  if (!['preserve', 'sequential', 'random'].includes(r.portAssignment))
    throw bad(`portAssignment ${r.portAssignment}`);
  if (!(r.mappingTimeoutMs > 0)) throw bad(`mappingTimeoutMs ${r.mappingTimeoutMs}`);
  return r;
}

function bad(what: string): VnetError {
  return new VnetError('VNET_BAD_OPTION', `NAT ${what} is not valid`);
}

/** A mapping as tests see it. */
export interface MappingInfo {
  internal: Endpoint;
  externalPort: number;
  /** The remote the mapping is for: its address under ADM, address and port under APDM. */
  remote?: { address: string; port?: number };
  createdAt: number;
  expiresAt: number;
}

interface Mapping {
  key: string;
  internal: Endpoint;
  remote: MappingInfo['remote'];
  externalPort: number;
  createdAt: number;
  refreshedAt: number;
  addrs: Set<string>;
  eps: Set<string>;
}

export interface NatTableStats {
  mappingsCreated: number;
  mappingsExpired: number;
  mappingsFlushed: number;
}

export type InboundResult = { internal: Endpoint } | 'no-mapping' | 'filtered';

export class NatTable {
  readonly stats: NatTableStats = { mappingsCreated: 0, mappingsExpired: 0, mappingsFlushed: 0 };
  #b: Resolved;
  #rng: Rng;
  #byKey = new Map<string, Mapping>();
  #byPort = new Map<number, Mapping>();
  /** Ports not to hand out (the ones in use before a rebind). */
  #avoid = new Set<number>();
  #nextPort: number;
  /** No mapping can expire before this time (a lower bound; refreshes only push expiries later). */
  #sweepAt = Infinity;

  constructor(behavior: NatBehavior, rng: Rng) {
    this.#b = resolveBehavior(behavior);
    this.#rng = rng;
    this.#nextPort = PORT_LO + rng.int(PORT_N);
  }

  get behavior(): Resolved {
    return { ...this.#b };
  }

  /** Changes behaviour from now on; a new mapping behaviour forgets every mapping. */
  set(b: NatBehavior, now: number): void {
    const next = resolveBehavior({ ...this.#b, ...b });
    const remap = next.mapping !== this.#b.mapping;
    this.#b = next;
    if (remap) this.flush(now);
    this.#sweepAt = -Infinity; // timeouts may have shrunk
    this.sweep(now);
  }

  /** Live mappings. */
  get size(): number {
    return this.#byKey.size;
  }

  /**
   * The mapping for internal endpoint `x` sending to `to`, made if needed, refreshed, and told that
   * `to` was contacted. Undefined when no external port is free.
   */
  outbound(x: Endpoint, to: Endpoint, now: number): { externalPort: number; created: boolean } | undefined {
    this.sweep(now);
    const key = this.#key(x, to);
    let m = this.#byKey.get(key);
    const created = m === undefined;
    if (m === undefined) {
      const port = this.#allocate(x.port);
      if (port === undefined) return undefined;
      const mode = this.#b.mapping;
      m = {
        key,
        internal: { address: x.address, port: x.port },
        remote:
          mode === 'EIM'
            ? undefined
            : mode === 'ADM'
              ? { address: to.address }
              : { address: to.address, port: to.port },
        externalPort: port,
        createdAt: now,
        refreshedAt: now,
        addrs: new Set(),
        eps: new Set(),
      };
      this.#byKey.set(key, m);
      this.#byPort.set(port, m);
      this.stats.mappingsCreated++;
      this.#sweepAt = Math.min(this.#sweepAt, now + this.#b.mappingTimeoutMs);
    }
    m.refreshedAt = now;
    remember(m.addrs, to.address);
    remember(m.eps, epKey(to));
    return { externalPort: m.externalPort, created };
  }

  /** Where a packet from `from` to external port `port` goes, or why it is dropped. */
  inbound(port: number, from: Endpoint, now: number): InboundResult {
    this.sweep(now);
    const m = this.#byPort.get(port);
    if (m === undefined) return 'no-mapping';
    const f = this.#b.filtering;
    if (f === 'ADF' && !m.addrs.has(from.address)) return 'filtered';
    if (f === 'APDF' && !m.eps.has(epKey(from))) return 'filtered';
    if (this.#b.inboundRefresh) m.refreshedAt = now;
    return { internal: m.internal };
  }

  /** Whether external port `port` is mapped right now. */
  has(port: number, now: number): boolean {
    this.sweep(now);
    return this.#byPort.has(port);
  }

  /** Forgets every live mapping (conntrack -F); returns how many there were. */
  flush(now: number): number {
    this.sweep(now);
    const n = this.#byKey.size;
    this.stats.mappingsFlushed += n;
    this.#byKey.clear();
    this.#byPort.clear();
    this.#sweepAt = Infinity;
    return n;
  }

  /** Flushes, and keeps the ports in use until now from being handed out again (a NAT rebinding). */
  rebind(now: number): number {
    this.sweep(now);
    this.#avoid = new Set(this.#byPort.keys());
    return this.flush(now);
  }

  /** Drops the mappings idle for mappingTimeoutMs or more. */
  sweep(now: number): void {
    if (now < this.#sweepAt) return;
    const ttl = this.#b.mappingTimeoutMs;
    let next = Infinity;
    for (const m of this.#byKey.values()) {
      const end = m.refreshedAt + ttl;
      if (now >= end) {
        this.#byKey.delete(m.key);
        this.#byPort.delete(m.externalPort);
        this.stats.mappingsExpired++;
      } else if (end < next) next = end;
    }
    this.#sweepAt = next;
  }

  /** The live mappings, oldest first. */
  list(now: number): MappingInfo[] {
    this.sweep(now);
    const ttl = this.#b.mappingTimeoutMs;
    return [...this.#byKey.values()].map((m) => ({
      internal: m.internal,
      externalPort: m.externalPort,
      ...(m.remote ? { remote: { ...m.remote } } : {}),
      createdAt: m.createdAt,
      expiresAt: m.refreshedAt + ttl,
    }));
  }

  #key(x: Endpoint, to: Endpoint): string {
    switch (this.#b.mapping) {
      case 'EIM':
        return epKey(x);
      case 'ADM':
        return `${epKey(x)}>${to.address}`;
      case 'APDM':
        return `${epKey(x)}>${epKey(to)}`;
    }
  }

  #free(p: number): boolean {
    return !this.#byPort.has(p) && !this.#avoid.has(p);
  }

  #allocate(internalPort: number): number | undefined {
    const a = this.#b.portAssignment;
    if (a === 'preserve' && internalPort > 0 && this.#free(internalPort)) return internalPort;
    if (a === 'sequential') {
      for (let k = 0; k < PORT_N; k++) {
        const p = this.#nextPort;
        this.#nextPort = p === 65535 ? PORT_LO : p + 1;
        if (this.#free(p)) return p;
      }
      return undefined;
    }
    for (let k = 0; k < 64; k++) {
      const p = PORT_LO + this.#rng.int(PORT_N);
      if (this.#free(p)) return p;
    }
    const start = PORT_LO + this.#rng.int(PORT_N);
    for (let k = 0; k < PORT_N; k++) {
      const p = PORT_LO + ((start - PORT_LO + k) % PORT_N);
      if (this.#free(p)) return p;
    }
    return undefined;
  }
}

function remember(s: Set<string>, v: string): void {
  if (s.has(v)) return;
  if (s.size >= MAX_PERMITS) s.delete(s.values().next().value!);
  s.add(v);
}

/**
 * Common NATs by their old (RFC 3489) names and by what Linux does, as NatBehavior presets.
 * Linux `masquerade` keeps the source port when it can and maps per endpoint for UDP as long as
 * no two inside hosts collide; its conntrack lets in only the flow's own remote (APDF).
 * `masquerade fully-random` draws a port per flow: address-and-port-dependent.
 */
export const NAT_PRESETS = {
  'full-cone': { mapping: 'EIM', filtering: 'EIF' },
  'restricted-cone': { mapping: 'EIM', filtering: 'ADF' },
  'port-restricted-cone': { mapping: 'EIM', filtering: 'APDF' },
  symmetric: { mapping: 'APDM', filtering: 'APDF', portAssignment: 'random' },
  masquerade: { mapping: 'EIM', filtering: 'APDF', portAssignment: 'preserve' },
  'masquerade-fully-random': { mapping: 'APDM', filtering: 'APDF', portAssignment: 'random' },
} as const satisfies Record<string, NatBehavior>;
