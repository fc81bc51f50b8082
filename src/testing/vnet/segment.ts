// Segments and interfaces: the layer-3 switch every vnet node hangs off.
//
//   node ──iface.up (Link)──► Segment ──member.down (Link)──► node
//                               │  dst is a member's address   → that member
//                               │  dst is claimed by a route   → the route's interface (a router)
//                               └  otherwise                   → the gateway (a router or NAT), else dropped
//
// Each interface has its own two Links (LinkOptions apply per direction), so the delay between two
// hosts on one segment is the sender's up delay plus the receiver's down delay.
import type { Link, LinkOptions } from './link.ts';
import { checkIPv4, VnetError, type Packet } from './addr.ts';

/** Anything with interfaces: a host, a router, a NAT. */
export interface NetNode {
  readonly name: string;
  /** A packet delivered to this node's `iface`. Never throws. */
  receive(data: Uint8Array, p: Packet, iface: Iface): void;
}

export interface SegmentStats {
  /** Packets handed from one interface to another. */
  forwarded: number;
  /** Packets whose destination no member, route or gateway takes. */
  unrouted: number;
}

/** One attachment of a node to a segment: an address and a link each way. */
export class Iface {
  readonly node: NetNode;
  readonly segment: Segment;
  /** node → segment. */
  readonly up: Link<Packet>;
  /** segment → node. */
  readonly down: Link<Packet>;
  #address: string;
  #attached = true;

  constructor(node: NetNode, segment: Segment, address: string, up: Link<Packet>, down: Link<Packet>) {
    this.node = node;
    this.segment = segment;
    this.#address = checkIPv4(address);
    this.up = up;
    this.down = down;
    segment.add(this);
    up.setReceiver((d, p) => segment.forward(d, p!, this));
    down.setReceiver((d, p) => node.receive(d, p!, this));
  }

  get address(): string {
    return this.#address;
  }
  get attached(): boolean {
    return this.#attached;
  }

  /** Renumbers the interface (DHCP renewal, a NAT's new public address). Packets in flight to the old one are lost. */
  setAddress(address: string): void {
    checkIPv4(address);
    this.segment.remove(this);
    const old = this.#address;
    this.#address = address;
    try {
      this.segment.add(this);
    } catch (e) {
      this.#address = old;
      this.segment.add(this);
      throw e;
    }
  }

  /** Unplugs the cable: nothing more is sent or delivered through this interface. */
  detach(): void {
    if (!this.#attached) return;
    this.#attached = false;
    this.segment.remove(this);
    this.up.setReceiver(undefined);
    this.down.setReceiver(undefined);
  }

  /** Sends onto the segment (dropped, counted as unrouted by the link, once detached). */
  send(data: Uint8Array, p: Packet): void {
    this.up.send(data, p);
  }

  /** Merges `opts` into the outbound link (`'in'`/`'both'` for the inbound one too), as VEndpoint.setLink. */
  setLink(opts: LinkOptions, direction: 'out' | 'in' | 'both' = 'out'): void {
    if (direction !== 'in') this.up.set(opts);
    if (direction !== 'out') this.down.set(opts);
  }
}

/** A broadcast-free layer-3 switch: a named network such as a home LAN or the public internet. */
export class Segment {
  readonly name: string;
  readonly stats: SegmentStats = { forwarded: 0, unrouted: 0 };
  #members = new Map<string, Iface>();
  #routes: { claims: (address: string) => boolean; via: Iface }[] = [];
  #gateway: Iface | undefined;

  constructor(name: string) {
    this.name = name;
  }

  /** Registers an interface's address (called by Iface). */
  add(iface: Iface): void {
    const other = this.#members.get(iface.address);
    if (other && other !== iface)
      throw new VnetError(
        'VNET_ADDRESS_IN_USE',
        `${iface.address} is already ${other.node.name}'s on segment ${this.name}`,
      );
    this.#members.set(iface.address, iface);
  }

  /** Forgets an interface (called by Iface): its address, and any route or gateway through it. */
  remove(iface: Iface): void {
    if (this.#members.get(iface.address) === iface) this.#members.delete(iface.address);
    this.#routes = this.#routes.filter((r) => r.via !== iface);
    if (this.#gateway === iface) this.#gateway = undefined;
  }

  /** The member interface holding `address`, if any. */
  member(address: string): Iface | undefined {
    return this.#members.get(address);
  }

  /** Whether a packet for `address` sent here would reach a member or a route (not the gateway). */
  reaches(address: string): boolean {
    return this.#members.has(address) || this.#routes.some((r) => r.claims(address));
  }

  /** Packets for addresses that `claims` accepts go to `via` (a router toward another segment). */
  addRoute(claims: (address: string) => boolean, via: Iface): void {
    this.#routes.push({ claims, via });
  }

  /** The default route of the segment: where packets for unknown addresses go. */
  setGateway(via: Iface | undefined): void {
    this.#gateway = via;
  }
  get gateway(): Iface | undefined {
    return this.#gateway;
  }

  /** Moves one packet from `from` to the interface that takes its destination. Never throws. */
  forward(data: Uint8Array, p: Packet, from: Iface): void {
    const dst = p.dst.address;
    let to = this.#members.get(dst);
    if (to === undefined) {
      for (const r of this.#routes) {
        if (r.via !== from && r.claims(dst)) {
          to = r.via;
          break;
        }
      }
    }
    to ??= this.#gateway;
    if (to === undefined || to === from) {
      this.stats.unrouted++;
      return;
    }
    this.stats.forwarded++;
    to.down.send(data, p);
  }
}
