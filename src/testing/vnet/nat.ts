// A NAT: a router between one inside segment (it is that segment's gateway) and an outside one,
// translating with a NatTable. Per packet, never throwing, every drop counted:
//
//   inside ─► ttl ─► dst = own external address? ─► hairpin (if on): translate out, then in ─► inside
//             └─► firewall 'out' ─► mapping (made/refreshed) ─► src := ext:port ─► outside
//   outside ─► ttl ─► dst = own external address? ─► firewall 'in' ─► mapping by port ─► filter
//             ─► dst := internal endpoint ─► inside
//
// Hairpinned packets (RFC 4787 §6, REQ-9) reach the inside host with the sender's external
// endpoint as their source, and pass the outbound firewall and the receiver's filter like any other.
import type { Endpoint, Packet } from './addr.ts';
import { blocks, checkFirewall, type Firewall } from './firewall.ts';
import type { Attacher } from './host.ts';
import type { LinkOptions } from './link.ts';
import { NatTable, type MappingInfo, type NatBehavior } from './nat-table.ts';
import type { Rng } from './rng.ts';
import type { Iface, NetNode, Segment } from './segment.ts';

export interface NatOptions extends NatBehavior {
  /** The external (public) address, on `outside`. */
  address: string;
  /** The outside segment. Default: the internet. */
  outside?: Segment;
  /** The private segment behind the NAT. Default: a new segment named `<name>-lan`. */
  inside?: Segment;
  /** The NAT's own address on the inside. Default '192.168.0.1'. */
  insideAddress?: string;
  /** Hairpinning (RFC 4787 REQ-9). Default true. */
  hairpinning?: boolean;
  /** UDP the NAT drops: 'out' (inside → outside), 'in', 'both'. Default 'none'. */
  firewall?: Firewall;
  /** The uplink NAT → outside (and outside → NAT unless `linkIn`). Default: ideal. */
  link?: LinkOptions;
  linkIn?: LinkOptions;
  /** The inside link NAT → inside hosts (and back unless `insideLinkIn`). Default: ideal. */
  insideLink?: LinkOptions;
  insideLinkIn?: LinkOptions;
}

/** Counters of one NAT (a snapshot). */
export interface NatStats {
  mappingsCreated: number;
  mappingsExpired: number;
  mappingsFlushed: number;
  mappingsActive: number;
  /** Packets translated inside → outside, and outside → inside. */
  translatedOut: number;
  translatedIn: number;
  /** Packets turned around at the external address (counted here, not as translated). */
  hairpinned: number;
  dropped: {
    /** Inbound packets the filtering behaviour refused. */
    filter: number;
    /** Inbound packets to an external port with no live mapping. */
    noMapping: number;
    firewall: number;
    /** Packets for the external address from inside, with hairpinning off. */
    hairpin: number;
    /** No free external port for a new mapping. */
    noPort: number;
    ttl: number;
    /** From outside for an address that is not the NAT's, or from inside for the NAT itself. */
    unrouted: number;
  };
}

export type NatSettings = NatBehavior & { hairpinning?: boolean; firewall?: Firewall };

export class Nat implements NetNode {
  readonly name: string;
  readonly inside: Iface;
  readonly outside: Iface;
  #table: NatTable;
  #now: () => number;
  #hairpinning: boolean;
  #firewall: Firewall;
  #c = {
    translatedOut: 0,
    translatedIn: 0,
    hairpinned: 0,
    dropped: { filter: 0, noMapping: 0, firewall: 0, hairpin: 0, noPort: 0, ttl: 0, unrouted: 0 },
  };

  constructor(
    name: string,
    opts: NatOptions & { inside: Segment; outside: Segment },
    env: { rng: Rng; now: () => number; attach: Attacher },
  ) {
    this.name = name;
    this.#now = env.now;
    this.#table = new NatTable(opts, env.rng);
    this.#hairpinning = opts.hairpinning ?? true;
    this.#firewall = checkFirewall(opts.firewall ?? 'none');
    this.outside = env.attach(this, opts.outside, {
      address: opts.address,
      link: opts.link,
      linkIn: opts.linkIn,
    });
    this.inside = env.attach(this, opts.inside, {
      address: opts.insideAddress ?? '192.168.0.1',
      link: opts.insideLink,
      linkIn: opts.insideLinkIn,
    });
    opts.inside.setGateway(this.inside);
  }

  /** The public address. */
  get address(): string {
    return this.outside.address;
  }
  get insideSegment(): Segment {
    return this.inside.segment;
  }

  get settings(): Required<NatSettings> {
    return { ...this.#table.behavior, hairpinning: this.#hairpinning, firewall: this.#firewall };
  }
  /** Changes behaviour from now on (a new mapping behaviour flushes the table). */
  set(s: NatSettings): void {
    const { hairpinning, firewall, ...b } = s;
    this.#table.set(b, this.#now());
    if (hairpinning !== undefined) this.#hairpinning = hairpinning;
    if (firewall !== undefined) this.#firewall = checkFirewall(firewall);
  }

  get stats(): NatStats {
    this.#table.sweep(this.#now());
    const c = this.#c;
    return { ...this.#table.stats, mappingsActive: this.#table.size, ...c, dropped: { ...c.dropped } };
  }

  /** Live mappings, with the external endpoint each one gives. */
  mappings(): (MappingInfo & { external: Endpoint })[] {
    return this.#table
      .list(this.#now())
      .map((m) => ({ ...m, external: { address: this.address, port: m.externalPort } }));
  }

  /** Drops every mapping, as `conntrack -F` does. Returns how many there were. */
  flush(): number {
    return this.#table.flush(this.#now());
  }

  /**
   * The NAT's mappings change under its hosts' feet: every mapping is dropped and no port in use is
   * handed out again, so each flow gets a new external port on its next packet; with `address`, the
   * public address changes too (a new DHCP lease on the WAN side).
   */
  rebind(opts: { address?: string } = {}): void {
    this.#table.rebind(this.#now());
    if (opts.address !== undefined) this.outside.setAddress(opts.address);
  }

  receive(data: Uint8Array, p: Packet, iface: Iface): void {
    const d = this.#c.dropped;
    if (p.ttl <= 1) {
      d.ttl++;
      return;
    }
    if (iface === this.inside) this.#fromInside(data, p);
    else this.#fromOutside(data, p);
  }

  #fromInside(data: Uint8Array, p: Packet): void {
    const d = this.#c.dropped;
    if (p.dst.address === this.inside.address) {
      d.unrouted++;
      return;
    }
    if (blocks(this.#firewall, 'out', p.dst.address)) {
      d.firewall++;
      return;
    }
    const now = this.#now();
    const hairpin = p.dst.address === this.address;
    if (hairpin && !this.#hairpinning) {
      d.hairpin++;
      return;
    }
    const out = this.#table.outbound(p.src, p.dst, now);
    if (out === undefined) {
      d.noPort++;
      return;
    }
    const src = { address: this.address, port: out.externalPort };
    if (!hairpin) {
      this.#c.translatedOut++;
      this.outside.send(data, { src, dst: p.dst, ttl: p.ttl - 1 });
      return;
    }
    const to = this.#table.inbound(p.dst.port, src, now);
    if (to === 'no-mapping') d.noMapping++;
    else if (to === 'filtered') d.filter++;
    else {
      this.#c.hairpinned++;
      this.inside.send(data, { src, dst: to.internal, ttl: p.ttl - 1 });
    }
  }

  #fromOutside(data: Uint8Array, p: Packet): void {
    const d = this.#c.dropped;
    if (p.dst.address !== this.address) {
      d.unrouted++;
      return;
    }
    if (blocks(this.#firewall, 'in', p.src.address)) {
      d.firewall++;
      return;
    }
    const to = this.#table.inbound(p.dst.port, p.src, this.#now());
    if (to === 'no-mapping') d.noMapping++;
    else if (to === 'filtered') d.filter++;
    else {
      this.#c.translatedIn++;
      this.inside.send(data, { src: p.src, dst: to.internal, ttl: p.ttl - 1 });
    }
  }
}
