// The machines of a vnet: segments, hosts, routers and NATs, made through VNet (net.host(), net.nat(),
// …). Every node gets its own PRNG stream of the vnet's seed (ephemeral ports, NAT ports), created
// in order, so the same seed and the same construction order give the same ports.
//
//   host ─ lan ─ NAT ─┐                       a NAT is its inside segment's gateway;
//   host ─ lan ─ NAT ─┼─ internet ─ relay, STUN   the internet has no gateway: packets for
//   host ─────────────┘                          addresses nobody holds are dropped and counted.
import type { FakeClock } from '../../clock/index.ts';
import { VnetError, type Packet } from './addr.ts';
import type { Firewall } from './firewall.ts';
import { Host, type AttachOptions, type Attacher } from './host.ts';
import type { Link, LinkOptions } from './link.ts';
import { Nat, type NatOptions } from './nat.ts';
import { Rng } from './rng.ts';
import { Router, type RouterOptions } from './router.ts';
import { Iface, Segment, type NetNode } from './segment.ts';

/** What the topology needs from a VNet. */
export interface LinkFactory {
  readonly seed: number;
  readonly clock: FakeClock;
  link<M>(opts?: LinkOptions): Link<M>;
}

export interface HostOptions extends Omit<AttachOptions, 'address'> {
  /** The host's primary address (IPv4). */
  address: string;
  /** Where the host is plugged in. Default: the internet. */
  network?: Segment;
  /** UDP the host drops. Default 'none'. */
  firewall?: Firewall;
}

/** Stream numbers of node PRNGs, apart from the links' (which are mixed differently). */
const NODE_STREAM = 0x6e6f6400;

export class Topology {
  /** The public internet: relays, STUN servers, public hosts, NAT outside interfaces. */
  readonly internet: Segment;
  #net: LinkFactory;
  #segments = new Map<string, Segment>();
  #nodes = new Map<string, NetNode>();
  #attach: Attacher;

  constructor(net: LinkFactory) {
    this.#net = net;
    this.#attach = (node, segment, o) =>
      new Iface(
        node,
        segment,
        o.address,
        net.link<Packet>(o.link ?? {}),
        net.link<Packet>(o.linkIn ?? o.link ?? {}),
      );
    this.internet = this.segment('internet');
  }

  /** A new segment (a LAN, an ISP's network behind a carrier-grade NAT, …). */
  segment(name: string): Segment {
    if (this.#segments.has(name)) throw new VnetError('VNET_DUPLICATE', `segment ${name} exists`);
    const s = new Segment(name);
    this.#segments.set(name, s);
    return s;
  }

  host(name: string, opts: HostOptions): Host {
    const h = new Host(name, this.#rng(name), this.#attach);
    this.#add(h);
    h.firewall = opts.firewall ?? 'none';
    h.attach(opts.network ?? this.internet, { address: opts.address, link: opts.link, linkIn: opts.linkIn });
    return h;
  }

  nat(name: string, opts: NatOptions): Nat {
    const rng = this.#rng(name);
    const inside = opts.inside ?? this.segment(`${name}-lan`);
    const n = new Nat(
      name,
      { ...opts, inside, outside: opts.outside ?? this.internet },
      { rng, now: () => this.#net.clock.now(), attach: this.#attach },
    );
    this.#add(n);
    return n;
  }

  router(name: string, opts: RouterOptions): Router {
    this.#rng(name);
    const inside = opts.inside ?? this.segment(`${name}-lan`);
    const r = new Router(name, { ...opts, inside, outside: opts.outside ?? this.internet }, this.#attach);
    this.#add(r);
    return r;
  }

  /** A node by name. */
  node(name: string): NetNode | undefined {
    return this.#nodes.get(name);
  }

  /** One line of every NAT's and segment's counters, for failure messages. */
  summary(): string {
    const parts: string[] = [];
    for (const n of this.#nodes.values()) {
      if (!(n instanceof Nat)) continue;
      const s = n.stats;
      const d = s.dropped;
      parts.push(
        `nat ${n.name}: maps +${s.mappingsCreated} -${s.mappingsExpired} flushed ${s.mappingsFlushed} live ${s.mappingsActive} out ${s.translatedOut} in ${s.translatedIn} hairpin ${s.hairpinned} drop filter ${d.filter} nomap ${d.noMapping} fw ${d.firewall} hp ${d.hairpin}`,
      );
    }
    for (const s of this.#segments.values())
      if (s.stats.unrouted > 0) parts.push(`segment ${s.name}: unrouted ${s.stats.unrouted}`);
    return parts.join('; ');
  }

  /** Checks the name is free; the node's PRNG stream is its index. */
  #rng(name: string): Rng {
    if (this.#nodes.has(name)) throw new VnetError('VNET_DUPLICATE', `node ${name} exists`);
    return new Rng(this.#net.seed, NODE_STREAM + this.#nodes.size);
  }

  #add(n: NetNode): void {
    if (this.#nodes.has(n.name)) throw new VnetError('VNET_DUPLICATE', `node ${n.name} exists`);
    this.#nodes.set(n.name, n);
  }
}
