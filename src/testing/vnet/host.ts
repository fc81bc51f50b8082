// Hosts: machines with IPv4 addresses and UDP sockets, attached to segments by interfaces.
//
//   socket.send(data, to) ─► firewall (out) ─► iface chosen by destination ─► Link ─► segment …
//   … segment ─► Link ─► firewall (in) ─► address check ─► socket bound to dst port ─► onReceive
//
// A wildcard socket (the default) answers on every address of the host and sends from the address
// of the interface the destination is reached through; `local` reports the primary address.
import { checkIPv4, checkPort, DEFAULT_TTL, VnetError, type Endpoint, type Packet } from './addr.ts';
import { blocks, checkFirewall, type Firewall } from './firewall.ts';
import type { LinkOptions } from './link.ts';
import type { Rng } from './rng.ts';
import type { Iface, NetNode, Segment } from './segment.ts';

/** How a node is plugged into a segment. */
export interface AttachOptions {
  address: string;
  /** The link node → segment (and segment → node unless `linkIn` is given). Default: ideal. */
  link?: LinkOptions;
  /** The link segment → node. Default: `link`. */
  linkIn?: LinkOptions;
}

/** Makes an interface with fresh links (the topology's link factory). */
export type Attacher = (node: NetNode, segment: Segment, opts: AttachOptions) => Iface;

/** A UDP socket on a vnet host. */
export interface VSocket {
  /** The bound address (the host's primary address for a wildcard socket) and port. */
  readonly local: Endpoint;
  /** Sends one datagram (copied; never throws; drops are counted on the host and links). */
  send(data: Uint8Array, to: Endpoint): void;
  /** Sets the one receiver of datagrams arriving here (replaces any previous one). */
  onReceive(cb: (data: Uint8Array, from: Endpoint) => void): void;
  /** Frees the port; later sends are dropped. */
  close(): void;
  readonly closed: boolean;
}

export interface HostStats {
  sent: number;
  received: number;
  dropped: {
    /** By the host's own firewall, either direction. */
    firewall: number;
    /** No socket on the port, or a socket with no receiver. */
    noSocket: number;
    /** Addressed to an address the host does not have (a stale mapping, a renumbered host). */
    notMine: number;
    /** Sent with no interface attached, or from a closed socket. */
    unsent: number;
  };
}

const EPHEMERAL_LO = 49152;
const EPHEMERAL_N = 65536 - EPHEMERAL_LO;

interface Bound {
  address: string | undefined;
  port: number;
  cb: ((data: Uint8Array, from: Endpoint) => void) | undefined;
  closed: boolean;
}

export class Host implements NetNode {
  readonly name: string;
  readonly stats: HostStats = {
    sent: 0,
    received: 0,
    dropped: { firewall: 0, noSocket: 0, notMine: 0, unsent: 0 },
  };
  #firewall: Firewall = 'none';
  #ifaces: Iface[] = [];
  #sockets = new Map<number, Bound>();
  #rng: Rng;
  #attacher: Attacher;

  constructor(name: string, rng: Rng, attacher: Attacher) {
    this.name = name;
    this.#rng = rng;
    this.#attacher = attacher;
  }

  /** UDP this host drops; set it at any time. */
  get firewall(): Firewall {
    return this.#firewall;
  }
  set firewall(fw: Firewall) {
    this.#firewall = checkFirewall(fw);
  }

  /** Plugs the host into `segment`; the first interface holds the primary address and the default route. */
  attach(segment: Segment, opts: AttachOptions): Iface {
    const i = this.#attacher(this, segment, opts);
    this.#ifaces.push(i);
    return i;
  }

  get ifaces(): readonly Iface[] {
    return this.#ifaces.filter((i) => i.attached);
  }
  /** The primary address (first attached interface), '0.0.0.0' when unplugged. */
  get address(): string {
    return this.ifaces[0]?.address ?? '0.0.0.0';
  }
  /** Every address of the host: what endpoint discovery calls local interface addresses. */
  get addresses(): string[] {
    return this.ifaces.map((i) => i.address);
  }
  /** The primary interface, for setLink() and inspection. */
  get iface(): Iface {
    const i = this.ifaces[0];
    if (!i) throw new VnetError('VNET_NOT_ATTACHED', `host ${this.name} has no interface`);
    return i;
  }

  /** Opens a UDP socket on `port` (0: a free ephemeral port) and optionally one address of the host. */
  bind(port = 0, address?: string): VSocket {
    checkPort(port);
    if (address !== undefined && !this.addresses.includes(checkIPv4(address)))
      throw new VnetError('VNET_BAD_ADDRESS', `host ${this.name} has no address ${address}`);
    if (port === 0) port = this.#ephemeral();
    else if (this.#sockets.has(port))
      throw new VnetError('VNET_PORT_IN_USE', `host ${this.name}: port ${port} is in use`);
    const b: Bound = { address, port, cb: undefined, closed: false };
    this.#sockets.set(port, b);
    const primary = (): string => this.address;
    return {
      get local() {
        return { address: b.address ?? primary(), port: b.port };
      },
      get closed() {
        return b.closed;
      },
      send: (data, to) => this.#send(b, data, to),
      onReceive: (cb) => {
        b.cb = cb;
      },
      close: () => {
        if (b.closed) return;
        b.closed = true;
        b.cb = undefined;
        if (this.#sockets.get(b.port) === b) this.#sockets.delete(b.port);
      },
    };
  }

  #ephemeral(): number {
    for (let k = 0; k < 64; k++) {
      const p = EPHEMERAL_LO + this.#rng.int(EPHEMERAL_N);
      if (!this.#sockets.has(p)) return p;
    }
    for (let p = EPHEMERAL_LO; p < 65536; p++) if (!this.#sockets.has(p)) return p;
    throw new VnetError('VNET_PORT_IN_USE', `host ${this.name}: no free ephemeral port`);
  }

  #send(b: Bound, data: Uint8Array, to: Endpoint): void {
    const out = b.closed ? undefined : this.#route(b.address, to.address);
    if (out === undefined) {
      this.stats.dropped.unsent++;
      return;
    }
    if (blocks(this.#firewall, 'out', to.address)) {
      this.stats.dropped.firewall++;
      return;
    }
    this.stats.sent++;
    const p: Packet = {
      src: { address: out.address, port: b.port },
      dst: { address: to.address, port: to.port },
      ttl: DEFAULT_TTL,
    };
    out.send(data, p);
  }

  /** The interface toward `dst`: the bound address's, else one whose segment reaches dst, else the primary. */
  #route(bound: string | undefined, dst: string): Iface | undefined {
    const ifs = this.ifaces;
    if (bound !== undefined) return ifs.find((i) => i.address === bound);
    return ifs.find((i) => i.segment.reaches(dst)) ?? ifs[0];
  }

  receive(data: Uint8Array, p: Packet): void {
    if (blocks(this.#firewall, 'in', p.src.address)) {
      this.stats.dropped.firewall++;
      return;
    }
    if (!this.#ifaces.some((i) => i.attached && i.address === p.dst.address)) {
      this.stats.dropped.notMine++;
      return;
    }
    const b = this.#sockets.get(p.dst.port);
    if (b === undefined || b.cb === undefined || (b.address !== undefined && b.address !== p.dst.address)) {
      this.stats.dropped.noSocket++;
      return;
    }
    this.stats.received++;
    b.cb(data, p.src);
  }
}
