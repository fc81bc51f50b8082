// A plain router (no translation) between a child segment and its upstream: the child's gateway,
// and a route on the upstream for every address the child segment reaches. Topologies are trees
// (a route claims what the child reaches, which would recurse forever around a cycle).
import type { Packet } from './addr.ts';
import { blocks, checkFirewall, type Firewall } from './firewall.ts';
import type { Attacher } from './host.ts';
import type { LinkOptions } from './link.ts';
import type { Iface, NetNode, Segment } from './segment.ts';

export interface RouterOptions {
  /** The router's address on the upstream segment. */
  address: string;
  /** The upstream segment. Default: the internet. */
  outside?: Segment;
  /** The child segment. Default: a new segment named `<name>-lan`. */
  inside?: Segment;
  /** The router's address on the child segment. Default '10.0.0.1'. */
  insideAddress?: string;
  /** UDP dropped: 'out' (child → upstream), 'in', 'both'. Default 'none'. */
  firewall?: Firewall;
  link?: LinkOptions;
  linkIn?: LinkOptions;
  insideLink?: LinkOptions;
  insideLinkIn?: LinkOptions;
}

export interface RouterStats {
  forwardedOut: number;
  forwardedIn: number;
  dropped: { firewall: number; ttl: number; unrouted: number };
}

export class Router implements NetNode {
  readonly name: string;
  readonly inside: Iface;
  readonly outside: Iface;
  readonly stats: RouterStats = {
    forwardedOut: 0,
    forwardedIn: 0,
    dropped: { firewall: 0, ttl: 0, unrouted: 0 },
  };
  #firewall: Firewall;

  constructor(name: string, opts: RouterOptions & { inside: Segment; outside: Segment }, attach: Attacher) {
    this.name = name;
    this.#firewall = checkFirewall(opts.firewall ?? 'none');
    this.outside = attach(this, opts.outside, {
      address: opts.address,
      link: opts.link,
      linkIn: opts.linkIn,
    });
    this.inside = attach(this, opts.inside, {
      address: opts.insideAddress ?? '10.0.0.1',
      link: opts.insideLink,
      linkIn: opts.insideLinkIn,
    });
    const child = opts.inside;
    opts.inside.setGateway(this.inside);
    opts.outside.addRoute((a) => a !== this.inside.address && child.reaches(a), this.outside);
  }

  /** UDP this router drops; set it at any time. */
  get firewall(): Firewall {
    return this.#firewall;
  }
  set firewall(fw: Firewall) {
    this.#firewall = checkFirewall(fw);
  }

  receive(data: Uint8Array, p: Packet, iface: Iface): void {
    const d = this.stats.dropped;
    if (p.ttl <= 1) {
      d.ttl++;
      return;
    }
    const fromInside = iface === this.inside;
    if (p.dst.address === this.inside.address || p.dst.address === this.outside.address) {
      d.unrouted++;
      return;
    }
    if (blocks(this.#firewall, fromInside ? 'out' : 'in', fromInside ? p.dst.address : p.src.address)) {
      d.firewall++;
      return;
    }
    const q: Packet = { src: p.src, dst: p.dst, ttl: p.ttl - 1 };
    if (fromInside) {
      this.stats.forwardedOut++;
      this.outside.send(data, q);
    } else {
      this.stats.forwardedIn++;
      this.inside.send(data, q);
    }
  }
}
