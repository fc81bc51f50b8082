// The relay side of the path seam: one RelayClient per region of the netmap's relay map. A session
// datagram for a relay endpoint (session/endpoint.ts: region + peer key) goes to that region's
// client; a packet a client receives comes back with its region and source key.
//
//   SessionHost.send(datagram, {kind:'relay', region, peer}) ──► RelayPaths.get(region).send(peer, datagram)
//   RelayClient.onPacket(src, packet) ──► onPacket(region, src, packet) ──► Peer.fromRelay
import { isIP } from 'node:net';
import type { Logger } from 'pino';
import type { Clock } from '../clock/index.ts';
import { PublicKey, type PrivateKey } from '../crypto/index.ts';
import { DIRECT_DATAGRAM_SIZE, RelayClient, type RelayClientState } from '../paths/index.ts';
import { MAX_PACKET_LEN } from '../proto/relay/index.ts';
import type { NetmapRelay } from '../proto/control/index.ts';

/** WireGuard transport overhead: header 16 + tag 16, plus up to 15 bytes of padding. */
export const SESSION_OVERHEAD = 16 + 16 + 15;

/** One way to a peer. */
export interface Path {
  readonly kind: 'relay' | 'direct';
  /** "relay:us-east" or "198.18.0.1:41641". */
  readonly name: string;
  readonly region?: string;
  /** Largest session payload (before encryption) that fits one datagram of this path. */
  maxPayload(): number;
  /** Sends one WireGuard message; false when dropped (queue full, not connected). Never throws. */
  send(dst: PublicKey, message: Uint8Array): boolean;
  /**
   * False while this path holds a backlog towards `dst` (our queue, or the relay's queue to it):
   * senders with congestion control should wait for onDrain.
   */
  ready(dst: PublicKey): boolean;
}

/**
 * Largest session payload on a direct UDP path: paths' DIRECT_DATAGRAM_SIZE (1280-byte IPv6
 * minimum MTU less IPv6, UDP and WireGuard overhead); the link header comes out of it.
 */
export const DIRECT_PAYLOAD = DIRECT_DATAGRAM_SIZE;

export interface RelayPathsOptions {
  clock: Clock;
  privateKey: PrivateKey;
  ca?: string;
  logger: Logger;
  /**
   * Session payload size wanted over a relay; default: the largest the relay carries (its 64 KiB
   * packet limit less the session's overhead). Fewer, larger datagrams cost less CPU per byte on a
   * path that is TCP underneath (measured in bench/README.md).
   */
  payloadSize?: number;
  onPacket(region: string, src: PublicKey, packet: Uint8Array): void;
  onState?(region: string, state: RelayClientState): void;
  /** A region's client drained the backlog it had (RelayClient onDrain). */
  onDrain?(region: string): void;
  /** The region's relay is congested towards `peer` (RelayClient onPeerBusy). */
  onPeerBusy?(region: string, peer: PublicKey): void;
  /** A new round-trip time to a region's relay, ms. */
  onRtt?(region: string, rttMs: number): void;
  /** How often each relay's round-trip time is measured, ms; default 10000. */
  probeMs?: number;
  /**
   * Where to reach a region's relay instead of its URL in the relay map (a private endpoint, an
   * egress proxy), by region. The certificate is still checked against the relay map's host name.
   */
  addresses?: Readonly<Record<string, string>>;
}

class RelayPath implements Path {
  readonly kind = 'relay' as const;
  readonly name: string;
  #token: Uint8Array;
  #url: string;
  readonly client: RelayClient;
  readonly #payload: number;

  constructor(
    readonly region: string,
    relay: NetmapRelay,
    o: RelayPathsOptions,
  ) {
    this.name = `relay:${region}`;
    this.#url = relay.url;
    this.#token = Buffer.from(relay.token, 'base64');
    this.#payload = Math.min(o.payloadSize ?? MAX_PACKET_LEN, MAX_PACKET_LEN - SESSION_OVERHEAD);
    const dial = o.addresses?.[region];
    const mapHost = new URL(relay.url).hostname;
    this.client = new RelayClient({
      clock: o.clock,
      url: dial ?? relay.url,
      ...(dial && !isIP(mapHost) ? { servername: mapHost } : {}),
      ...(o.probeMs ? { probeMs: o.probeMs } : {}),
      onRtt: (ms) => o.onRtt?.(region, ms),
      ...(o.ca ? { ca: o.ca } : {}),
      privateKey: o.privateKey,
      getToken: () => Promise.resolve(this.#token),
      onPacket: (src, packet) => o.onPacket(region, src, packet),
      onStateChange: (s) => o.onState?.(region, s),
      onDrain: () => o.onDrain?.(region),
      onPeerBusy: (peer) => o.onPeerBusy?.(region, peer),
      logger: o.logger,
    });
    this.client.start();
  }

  get url(): string {
    return this.#url;
  }

  update(relay: NetmapRelay): void {
    this.#token = Buffer.from(relay.token, 'base64');
  }

  maxPayload(): number {
    return this.#payload;
  }

  send(dst: PublicKey, message: Uint8Array): boolean {
    return this.client.send(dst, message);
  }

  ready(dst: PublicKey): boolean {
    return !this.client.backlogged && !this.client.peerBusy(dst);
  }
}

/** The relay clients of the regions in the netmap, one per region, kept in step with it. */
export class RelayPaths {
  readonly #o: RelayPathsOptions;
  readonly #paths = new Map<string, RelayPath>();

  constructor(o: RelayPathsOptions) {
    this.#o = o;
  }

  /** Starts, updates and stops relay clients to match the netmap's relay map. */
  update(relays: NetmapRelay[]): void {
    const want = new Map(relays.map((r) => [r.region, r]));
    for (const [region, p] of this.#paths) {
      const r = want.get(region);
      if (!r || r.url !== p.url) {
        p.client.stop();
        this.#paths.delete(region);
      }
    }
    for (const [region, r] of want) {
      const p = this.#paths.get(region);
      if (p) p.update(r);
      else this.#paths.set(region, new RelayPath(region, r, this.#o));
    }
  }

  get(region: string): Path | undefined {
    return this.#paths.get(region);
  }

  /** True while the region's relay client is admitted. */
  connected(region: string): boolean {
    return this.#paths.get(region)?.client.state === 'connected';
  }

  regions(): string[] {
    return [...this.#paths.keys()];
  }

  status(): {
    region: string;
    url: string;
    state: RelayClientState;
    stats: ReturnType<RelayClient['stats']>;
  }[] {
    return [...this.#paths.values()].map((p) => ({
      region: p.region,
      url: p.url,
      state: p.client.state,
      stats: p.client.stats(),
    }));
  }

  stop(): void {
    for (const p of this.#paths.values()) p.client.stop();
    this.#paths.clear();
  }
}
