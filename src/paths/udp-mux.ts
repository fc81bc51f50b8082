// One UDP socket per agent, shared by every session and by the STUN client (so the NAT mapping
// that STUN discovers is the one peers reach us on). Each datagram is sorted by its first bytes:
//
//   byte 0     bytes 1-3   meaning
//   1..4       0 0 0       WireGuard message (initiation, response, cookie reply, transport) ─► sessions
//   00xxxxxx   ...         STUN (isStun: magic cookie at 4..7, length matches)                ─► STUN client
//   anything else          dropped and counted ('unknown')
//
// The two never collide: a STUN message type has its top two bits zero and, for the Binding
// classes (0x0001, 0x0101, 0x0111), either byte 0 = 0 or a non-zero byte 1.
// Sends are fire-and-forget with a bounded number in flight; per-packet errors are counted, never
// thrown. `DatagramSocket` is the seam where tests put a vnet socket instead of node:dgram.
import { createSocket, type Socket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { isStun } from '../proto/stun/index.ts';
import type { DirectEndpoint } from '../proto/link/index.ts';
import { DirectEndpoints } from './endpoint.ts';
import { PathsError } from './errors.ts';

/** A bound datagram socket: node:dgram below, or a vnet host in tests. */
export interface DatagramSocket {
  /**
   * Sends one datagram; `done` is called once, with an error if it failed. Never throws. `ttl`:
   * this one datagram with that IP TTL (hop limit); a socket that cannot do it now fails the send
   * with code 'TTL_UNAVAILABLE' rather than send it with another TTL.
   */
  send(data: Uint8Array, address: string, port: number, done: (err?: Error) => void, ttl?: number): void;
  /** Sets the receiver (one; a later call replaces it). `address` may be IPv4-mapped IPv6. */
  onMessage(cb: (data: Uint8Array, address: string, port: number) => void): void;
  /** The bound local port. */
  readonly port: number;
  /** 'udp4' sockets send to IPv4 only; 'udp6' (dual stack) to both. */
  readonly type: 'udp4' | 'udp6';
  close(): void;
}

export interface BindOptions {
  /** Default '0.0.0.0' for udp4, '::' for udp6. */
  host?: string;
  /** Default 0 (any free port). Agents keep a stable port across restarts when they can. */
  port?: number;
  /** Default 'udp4'. 'udp6' binds a dual-stack socket. */
  type?: 'udp4' | 'udp6';
  signal?: AbortSignal;
  /**
   * SO_RCVBUF and SO_SNDBUF, bytes. Default 4 MiB: a bulk stream on a direct path arrives as bursts
   * of ~1.2 KB datagrams, and the kernel default (~208 KiB, about 170 of them) overflows while the
   * event loop is busy; every overflow is a loss that halves the congestion window. Linux clamps
   * the value to net.core.rmem_max / wmem_max silently.
   */
  bufferSize?: number;
}

/** Binds a node:dgram socket. Rejects with PATHS_BIND (or PATHS_STOPPED when aborted). */
export async function bindUdp(o: BindOptions = {}): Promise<DatagramSocket> {
  const type = o.type ?? 'udp4';
  if (o.signal?.aborted)
    throw new PathsError('PATHS_STOPPED', 'aborted before bind', { cause: o.signal.reason });
  // Addresses are IP literals: a lookup that answers at once keeps send() synchronous (no
  // dns.lookup and its next-tick per datagram), which a per-datagram TTL relies on.
  const s = createSocket({ type, ipv6Only: false, lookup: literalLookup });
  try {
    await new Promise<void>((resolve, reject) => {
      const onAbort = (): void => reject(new PathsError('PATHS_STOPPED', 'aborted during bind'));
      const done = (err?: Error): void => {
        s.off('error', done);
        o.signal?.removeEventListener('abort', onAbort);
        if (err) reject(new PathsError('PATHS_BIND', `cannot bind UDP: ${err.message}`, { cause: err }));
        else resolve();
      };
      o.signal?.addEventListener('abort', onAbort, { once: true });
      s.once('error', done);
      s.bind({ port: o.port ?? 0, address: o.host ?? (type === 'udp4' ? '0.0.0.0' : '::') }, () => done());
    });
  } catch (e) {
    s.close();
    throw e;
  }
  const size = o.bufferSize ?? 4 * 1024 * 1024;
  try {
    s.setRecvBufferSize(size);
    s.setSendBufferSize(size);
  } catch {
    /* not permitted here: the kernel defaults stay */
  }
  return new NodeDatagramSocket(s, type);
}

type LookupCallback = (err: Error | null, address: string, family: number) => void;

/** dgram's `lookup` for IP literals only (what the mux sends to): answers synchronously. */
function literalLookup(address: string, opts: unknown, cb: LookupCallback): void {
  const family = isIP(address);
  if (family === 0) cb(new Error(`not an IP address: ${address}`), address, 0);
  else cb(null, address, family);
}

/** The system's default IP TTL (what a socket sends with until told otherwise). */
function systemTtl(): number {
  try {
    const v = Number(readFileSync('/proc/sys/net/ipv4/ip_default_ttl', 'utf8').trim());
    if (Number.isInteger(v) && v > 0 && v < 256) return v;
  } catch {
    /* not Linux, or no procfs: the common default */
  }
  return 64;
}

function ttlUnavailable(why: string): Error {
  return Object.assign(new Error(`cannot send with a TTL now: ${why}`), { code: 'TTL_UNAVAILABLE' });
}

class NodeDatagramSocket implements DatagramSocket {
  readonly #s: Socket;
  readonly type: 'udp4' | 'udp6';
  readonly port: number;
  readonly #ttl = systemTtl();
  #closed = false;

  constructor(s: Socket, type: 'udp4' | 'udp6') {
    this.#s = s;
    this.type = type;
    this.port = s.address().port;
    // Errors after bind (ICMP-induced, EPERM from a firewall) belong to single sends: ignore here.
    s.on('error', () => {});
  }

  send(data: Uint8Array, address: string, port: number, done: (err?: Error) => void, ttl?: number): void {
    if (this.#closed) return done(new Error('socket closed'));
    if (ttl !== undefined) return this.#sendWithTtl(data, address, port, done, ttl);
    try {
      this.#s.send(data, port, address, (err) => done(err ?? undefined));
    } catch (e) {
      done(e as Error);
    }
  }

  /**
   * The TTL is a socket option, so it is set, the datagram sent, and the option put back in one
   * synchronous step. That holds only while the kernel takes the datagram at once: with sends
   * queued in libuv (the socket buffer full) the queued ones would leave with the small TTL, so
   * then the datagram is not sent at all (the caller's next round tries again).
   */
  #sendWithTtl(
    data: Uint8Array,
    address: string,
    port: number,
    done: (err?: Error) => void,
    ttl: number,
  ): void {
    if (this.#s.getSendQueueCount() > 0) return done(ttlUnavailable('sends are queued'));
    try {
      this.#s.setTTL(ttl);
    } catch (e) {
      return done(ttlUnavailable((e as Error).message));
    }
    try {
      this.#s.send(data, port, address, (err) => done(err ?? undefined));
    } catch (e) {
      done(e as Error);
    } finally {
      this.#s.setTTL(this.#ttl);
    }
  }

  onMessage(cb: (data: Uint8Array, address: string, port: number) => void): void {
    this.#s.removeAllListeners('message');
    this.#s.on('message', (msg, rinfo) =>
      cb(new Uint8Array(msg.buffer, msg.byteOffset, msg.length), rinfo.address, rinfo.port),
    );
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#s.close();
  }
}

export interface UdpMuxOptions {
  socket: DatagramSocket;
  /** A WireGuard message (types 1–4) from `from`: give it to SessionHost.receive. Must not throw. */
  onWireGuard(datagram: Uint8Array, from: DirectEndpoint): void;
  /** A STUN message from "ip:port": give it to StunClient.receive. */
  onStun?(datagram: Uint8Array, from: string): void;
  /** Sends awaiting the socket's callback at most; more are dropped. Default 1024. */
  maxInFlight?: number;
  /** Aborting stops the mux (and closes the socket). */
  signal?: AbortSignal;
}

export type UdpMuxDrop =
  | 'short'
  | 'unknown'
  | 'handler-error'
  | 'bad-endpoint'
  | 'wrong-family'
  | 'in-flight-full'
  | 'send-error'
  | 'ttl-unavailable'
  | 'stopped';

export interface UdpMuxStats {
  received: { wireguard: number; stun: number; bytes: number };
  sent: { datagrams: number; bytes: number };
  drops: Record<UdpMuxDrop, number>;
  inFlight: number;
}

export class UdpMux {
  readonly #o: UdpMuxOptions;
  readonly #max: number;
  readonly stats: UdpMuxStats = {
    received: { wireguard: 0, stun: 0, bytes: 0 },
    sent: { datagrams: 0, bytes: 0 },
    drops: {
      short: 0,
      unknown: 0,
      'handler-error': 0,
      'bad-endpoint': 0,
      'wrong-family': 0,
      'in-flight-full': 0,
      'send-error': 0,
      'ttl-unavailable': 0,
      stopped: 0,
    },
    inFlight: 0,
  };
  #stopped = false;
  #ttl: number | undefined;
  readonly #sources = new DirectEndpoints();
  readonly #onAbort = (): void => this.stop();

  constructor(o: UdpMuxOptions) {
    this.#o = o;
    this.#max = o.maxInFlight ?? 1024;
    if (!(this.#max >= 1)) throw new PathsError('PATHS_OPTION_INVALID', 'maxInFlight must be >= 1');
    o.socket.onMessage((d, address, port) => this.#receive(d, address, port));
    if (o.signal?.aborted) this.stop();
    else o.signal?.addEventListener('abort', this.#onAbort, { once: true });
  }

  /** The local UDP port (what discovery pairs with interface addresses). */
  get port(): number {
    return this.#o.socket.port;
  }

  /**
   * Runs `fn`; every datagram it sends through this mux (synchronously) goes with IP TTL `ttl`.
   * How a session datagram (a PING made into an open) gets its TTL without the session knowing.
   */
  withTtl<T>(ttl: number, fn: () => T): T {
    const prev = this.#ttl;
    this.#ttl = ttl;
    try {
      return fn();
    } finally {
      this.#ttl = prev;
    }
  }

  /** Sends to `to`. False when dropped (counted). Never throws. */
  send(datagram: Uint8Array, to: DirectEndpoint): boolean {
    const drop = (r: UdpMuxDrop): false => {
      this.stats.drops[r]++;
      return false;
    };
    if (this.#stopped) return drop('stopped');
    if (to.kind !== 'direct') return drop('bad-endpoint');
    const v6 = to.addr.includes(':');
    if (v6 && this.#o.socket.type === 'udp4') return drop('wrong-family');
    if (this.stats.inFlight >= this.#max) return drop('in-flight-full');
    const address = !v6 && this.#o.socket.type === 'udp6' ? `::ffff:${to.addr}` : to.addr;
    this.stats.inFlight++;
    this.stats.sent.datagrams++;
    this.stats.sent.bytes += datagram.length;
    this.#o.socket.send(
      datagram,
      address,
      to.port,
      (err) => {
        this.stats.inFlight--;
        if (err)
          this.stats.drops[
            (err as { code?: string }).code === 'TTL_UNAVAILABLE' ? 'ttl-unavailable' : 'send-error'
          ]++;
      },
      this.#ttl,
    );
    return true;
  }

  /** Stops receiving and closes the socket. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#o.signal?.removeEventListener('abort', this.#onAbort);
    this.#o.socket.close();
  }

  #receive(d: Uint8Array, address: string, port: number): void {
    if (this.#stopped) return void this.stats.drops.stopped++;
    if (d.length < 4) return void this.stats.drops.short++;
    const from = this.#sources.of(address, port);
    this.stats.received.bytes += d.length;
    try {
      if (d[0] >= 1 && d[0] <= 4 && d[1] === 0 && d[2] === 0 && d[3] === 0) {
        this.stats.received.wireguard++;
        this.#o.onWireGuard(d, from);
      } else if (isStun(d) && this.#o.onStun) {
        this.stats.received.stun++;
        this.#o.onStun(d, from.name);
      } else this.stats.drops.unknown++;
    } catch {
      this.stats.drops['handler-error']++;
    }
  }
}
