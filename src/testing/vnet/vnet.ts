import type { FakeClock } from '../../clock/index.ts';
import { Link } from './link.ts';
import type { LinkOptions, LinkStats } from './link.ts';
import { mix32, Rng } from './rng.ts';
import { Scheduler } from './scheduler.ts';
import type { Host } from './host.ts';
import type { Nat, NatOptions } from './nat.ts';
import type { Router, RouterOptions } from './router.ts';
import type { Segment } from './segment.ts';
import { Topology, type HostOptions } from './topology.ts';

/** One end of a `pair()`: a datagram socket on the virtual network. */
export interface VEndpoint {
  /** Sends a datagram toward the other end (copied; never throws; losses are counted). */
  send(datagram: Uint8Array): void;
  /** Sets the one receiver of datagrams arriving here (replaces any previous one). */
  onReceive(cb: (datagram: Uint8Array) => void): void;
  /**
   * Changes this end's outbound direction from now on, merging `opts` into the options in force
   * (`'in'` or `'both'` to change the inbound direction too). A blackout: `setLink({ lossRate: 1 }, 'both')`.
   */
  setLink(opts: LinkOptions, direction?: 'out' | 'in' | 'both'): void;
  /** Counters of the outbound direction. */
  readonly stats: LinkStats;
  /** The two directions, for inspection (queue depth, options). */
  readonly outbound: Link<void>;
  readonly inbound: Link<void>;
}

/** Rejection of `runUntil`: the condition did not come true in time. The message names the seed. */
export class VnetTimeoutError extends Error {
  readonly code = 'VNET_TIMEOUT';
  readonly seed: number;
  constructor(message: string, seed: number) {
    super(message);
    this.name = 'VnetTimeoutError';
    this.seed = seed;
  }
}

/** Consecutive yields with no timer pending before runUntil calls the run stalled. */
const IDLE_YIELDS = 200;

const yieldToNode = (): Promise<void> => new Promise((r) => setImmediate(r));

/**
 * A deterministic in-memory datagram network: links (see Link) driven by a FakeClock and a seeded
 * PRNG. Same seed, same code → same delivery trace. `pair()` is the thinnest topology; `host()`,
 * `nat()`, `router()` and `segment()` build addressed ones with UDP sockets (see topology.ts).
 */
export class VNet {
  readonly seed: number;
  readonly clock: FakeClock;
  readonly scheduler: Scheduler;
  readonly links: Link<unknown>[] = [];
  #topo: Topology | undefined;

  constructor(opts: { clock: FakeClock; seed: number }) {
    if (!Number.isInteger(opts.seed) || opts.seed < 0 || opts.seed > 0xffffffff)
      throw new RangeError(`VNet seed must be an integer in [0, 2^32), got ${opts.seed}`);
    this.seed = opts.seed;
    this.clock = opts.clock;
    this.scheduler = new Scheduler(opts.clock);
  }

  /** A new one-directional link with its own PRNG stream (derived from the seed and its index). */
  link<M = unknown>(opts: LinkOptions = {}): Link<M> {
    const l = new Link<M>(this.scheduler, new Rng(mix32(this.seed, this.links.length)), opts);
    this.links.push(l as Link<unknown>);
    return l;
  }

  /** A two-ended link: `ab` shapes a→b, `ba` shapes b→a (default: same as `ab`). */
  pair(ab: LinkOptions = {}, ba: LinkOptions = ab): [VEndpoint, VEndpoint] {
    const lab = this.link<void>(ab);
    const lba = this.link<void>(ba);
    return [endpoint(lab, lba), endpoint(lba, lab)];
  }

  /** Segments, hosts, routers and NATs on this vnet (made on first use). */
  get topology(): Topology {
    return (this.#topo ??= new Topology(this));
  }
  /** The public internet segment. */
  get internet(): Segment {
    return this.topology.internet;
  }
  /** A new segment (a LAN). */
  segment(name: string): Segment {
    return this.topology.segment(name);
  }
  /** A host with UDP sockets, on the internet unless `opts.network` says otherwise. */
  host(name: string, opts: HostOptions): Host {
    return this.topology.host(name, opts);
  }
  /** An RFC 4787 NAT between `opts.inside` (default a new `<name>-lan`) and the internet. */
  nat(name: string, opts: NatOptions): Nat {
    return this.topology.nat(name, opts);
  }
  /** A plain router between `opts.inside` and the internet. */
  router(name: string, opts: RouterOptions): Router {
    return this.topology.router(name, opts);
  }

  /** Datagrams in flight. */
  inFlight(): number {
    return this.scheduler.size;
  }

  /**
   * Runs the clock forward event by event (the next FakeClock timer, which may be a datagram
   * arrival or a protocol timer) until `done()` holds, yielding to Node (setImmediate) after each
   * event so stream callbacks run. Rejects with a VnetTimeoutError naming the seed when `limitMs`
   * of virtual time pass, or when nothing is scheduled and nothing happens (a stall).
   */
  async runUntil(done: () => boolean, limitMs: number): Promise<void> {
    const clock = this.clock;
    const end = clock.now() + limitMs;
    let idle = 0;
    await yieldToNode();
    while (!done()) {
      const at = clock.nextAt();
      if (at === undefined) {
        if (++idle > IDLE_YIELDS) throw this.#timeout(`stalled at ${fmt(clock.now())} ms: nothing scheduled`);
        await yieldToNode();
        continue;
      }
      idle = 0;
      if (at > end) {
        clock.advance(end - clock.now());
        throw this.#timeout(`not done after ${limitMs} ms of virtual time`);
      }
      clock.advance(at - clock.now());
      await yieldToNode();
    }
  }

  /** Drops everything in flight and disarms the vnet's timer. */
  stop(): void {
    this.scheduler.stop();
  }

  /** A one-line summary of every link's counters, for failure messages. */
  summary(): string {
    const topo = this.#topo?.summary();
    const links = this.links
      .map((l, i) => {
        const s = l.stats;
        const d = s.dropped;
        return `link${i}: sent ${s.sent} delivered ${s.delivered} lost ${d.loss} queue ${d.queue} mtu ${d.mtu} dup ${s.duplicated} reord ${s.reordered}`;
      })
      .join('; ');
    return topo ? `${topo}; ${links}` : links;
  }

  #timeout(what: string): VnetTimeoutError {
    const msg = `vnet: ${what} (seed ${this.seed}; replay with SALLYPORT_SEED=${this.seed}; ${this.inFlight()} in flight; ${this.summary()})`;
    return new VnetTimeoutError(msg, this.seed);
  }
}

function endpoint(out: Link<void>, inb: Link<void>): VEndpoint {
  return {
    send: (d) => out.send(d),
    onReceive: (cb) => inb.setReceiver((d) => cb(d)),
    setLink(opts, direction = 'out') {
      if (direction !== 'in') out.set(opts);
      if (direction !== 'out') inb.set(opts);
    },
    stats: out.stats,
    outbound: out,
    inbound: inb,
  };
}

function fmt(ms: number): string {
  return ms.toFixed(3);
}
