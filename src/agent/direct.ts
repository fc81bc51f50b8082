// The agent's direct-path plumbing (DESIGN.md §4 "Paths: relay first, then direct"): its one UDP
// socket (UdpMux), the STUN client against the home relay's STUN port, and endpoint discovery.
//
//   SessionHost.send(d, DirectEndpoint) ──► DirectUdp.send ──► UdpMux.send   (remembers it as sent-to)
//   UdpMux ──WireGuard──► sent-to check (connector) ──► onWireGuard(d, from) ──► SessionHost.receive
//          ──STUN──► StunClient.receive ──► Discovery.setStunResults ──► onCandidates(list)
//
// I1: a connector's socket only ever sends first. It is bound (the kernel needs a port to send
// from) but it answers nobody it has not sent to: a datagram from an endpoint this node did not send
// to within the last SENT_TO_TTL_MS is dropped and counted ('not-sent-to'), the behaviour of an
// address-and-port-dependent filter (RFC 4787 §5) in front of the process itself. An engineer's
// socket accepts any source (the session layer still admits only netmap keys, I3).
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { Clock } from '../clock/index.ts';
import {
  Discovery,
  StunClient,
  UdpMux,
  bindUdp,
  type DatagramSocket,
  toDirectEndpoint,
  type UdpMuxStats,
} from '../paths/index.ts';
import type { DirectEndpoint } from '../session/index.ts';
import { bindingRequest, newTransactionId, tryDecode } from '../proto/stun/index.ts';
import { toHex } from '../util/index.ts';

/** A connector accepts datagrams from an endpoint this long after it last sent to it, ms. 180 s: Linux conntrack's UDP stream timeout, so we are never stricter than the NAT in front. */
export const SENT_TO_TTL_MS = 180_000;
/** Endpoints remembered as sent-to, at most (oldest forgotten first). */
export const SENT_TO_MAX = 4096;

export interface DirectUdpOptions {
  clock: Clock;
  /** Local UDP port; 0 = ephemeral. */
  port?: number;
  host?: string;
  /** Connector: accept only endpoints we sent to (I1). */
  sendFirst: boolean;
  onWireGuard(d: Uint8Array, from: DirectEndpoint): void;
  /** Our candidate endpoints changed. */
  onCandidates(candidates: string[]): void;
  /** Tests: a socket instead of node:dgram. */
  socket?: DatagramSocket;
  /** Tests: offer loopback interface addresses. */
  includeLoopback?: boolean;
}

export interface DirectUdpStats extends UdpMuxStats {
  port: number;
  notSentTo: number;
  stunServers: string[];
  mapped: string[];
  candidates: string[];
}

export class DirectUdp {
  readonly mux: UdpMux;
  readonly stun: StunClient;
  readonly discovery: Discovery;
  readonly #o: DirectUdpOptions;
  readonly #sentTo = new Map<string, number>();
  #notSentTo = 0;
  readonly #hairpins = new Map<string, () => void>();
  #servers: string[] = [];

  private constructor(o: DirectUdpOptions, socket: DatagramSocket) {
    this.#o = o;
    this.mux = new UdpMux({
      socket,
      onWireGuard: (d, from) => {
        if (o.sendFirst && !this.#admitted(from.name)) return void this.#notSentTo++;
        o.onWireGuard(d, from);
      },
      onStun: (d, from) => {
        if (!this.#hairpinReceived(d)) this.stun.receive(d, from);
      },
    });
    this.stun = new StunClient({
      clock: o.clock,
      send: (d, to) => void this.sendTo(d, to),
      onChange: (m) => this.discovery.setStunResults(m),
    });
    this.discovery = new Discovery({
      clock: o.clock,
      port: this.mux.port,
      ...(o.includeLoopback ? { includeLoopback: true } : {}),
      onChange: (c) => o.onCandidates(c),
      onNetworkChange: () => this.stun.refresh(),
    });
  }

  static async open(o: DirectUdpOptions): Promise<DirectUdp> {
    const socket =
      o.socket ?? (await bindUdp({ port: o.port ?? 0, ...(o.host !== undefined ? { host: o.host } : {}) }));
    const d = new DirectUdp(o, socket);
    d.discovery.start();
    d.stun.start();
    return d;
  }

  get port(): number {
    return this.mux.port;
  }

  candidates(): string[] {
    return this.discovery.candidates();
  }

  /** Sends one datagram; false when dropped. Never throws. */
  send(d: Uint8Array, to: DirectEndpoint): boolean {
    if (this.#o.sendFirst) this.#noteSent(to.name);
    return this.mux.send(d, to);
  }

  /** Sends to "ip:port" text (STUN, hairpin: the control plane); false when it is none or dropped. */
  sendTo(d: Uint8Array, to: string): boolean {
    const e = toDirectEndpoint(to);
    return e !== undefined && this.send(d, e);
  }

  /**
   * The STUN servers, as "host:port" (the home relay's STUN port first). Names are resolved here:
   * the STUN client takes IP literals only. A name that does not resolve is left out (logged by the
   * caller through the returned list).
   */
  async setStunServers(servers: readonly string[]): Promise<string[]> {
    const out: string[] = [];
    for (const s of servers) {
      const i = s.lastIndexOf(':');
      const host = s.slice(0, i).replace(/^\[|\]$/g, '');
      const port = s.slice(i + 1);
      if (isIP(host)) out.push(isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`);
      else {
        try {
          const a = await lookup(host, { family: 4 });
          out.push(`${a.address}:${port}`);
        } catch {
          /* unresolvable now: skipped */
        }
      }
    }
    if (out.length !== this.#servers.length || out.some((s, i) => s !== this.#servers[i])) {
      this.#servers = out;
      this.stun.setServers(out);
    }
    return out;
  }

  /**
   * Hairpinning (netcheck): sends a STUN Binding request from our socket to our own mapped address
   * `mapped`; true when it comes back to us within `timeoutMs` (the NAT loops a datagram for its
   * own outside address back inside). Nothing answers it: the datagram itself is the proof.
   */
  hairpin(mapped: string, timeoutMs: number): Promise<boolean> {
    const txid = newTransactionId();
    const key = toHex(txid);
    return new Promise((resolve) => {
      const t = this.#o.clock.setTimeout(() => {
        this.#hairpins.delete(key);
        resolve(false);
      }, timeoutMs);
      this.#hairpins.set(key, () => {
        this.#o.clock.clearTimeout(t);
        this.#hairpins.delete(key);
        resolve(true);
      });
      if (!this.sendTo(bindingRequest(txid), mapped)) {
        this.#o.clock.clearTimeout(t);
        this.#hairpins.delete(key);
        resolve(false);
      }
    });
  }

  #hairpinReceived(d: Uint8Array): boolean {
    if (this.#hairpins.size === 0) return false;
    const r = tryDecode(d);
    if (!r.ok || r.message.cls !== 'request') return false;
    const done = this.#hairpins.get(toHex(r.message.transactionId));
    done?.();
    return done !== undefined;
  }

  stats(): DirectUdpStats {
    return {
      ...this.mux.stats,
      port: this.port,
      notSentTo: this.#notSentTo,
      stunServers: [...this.#servers],
      mapped: this.stun.mapped(),
      candidates: this.candidates(),
    };
  }

  stop(): void {
    this.stun.stop();
    this.discovery.stop();
    this.mux.stop();
    this.#sentTo.clear();
  }

  #noteSent(to: string): void {
    const now = this.#o.clock.now();
    const last = this.#sentTo.get(to);
    // refresh at most once a second per endpoint: a Map delete+set per packet is not free
    if (last !== undefined && now - last < 1000) return;
    this.#sentTo.delete(to);
    this.#sentTo.set(to, now);
    if (this.#sentTo.size > SENT_TO_MAX) this.#sentTo.delete(this.#sentTo.keys().next().value!);
  }

  #admitted(from: string): boolean {
    const at = this.#sentTo.get(from);
    return at !== undefined && this.#o.clock.now() - at <= SENT_TO_TTL_MS;
  }
}
