// For tests only: hosts on a FakeClock joined by an in-memory "wire" that passes datagrams.
import { FakeClock, type TimerHandle } from '../clock/index.ts';
import { PrivateKey } from '../crypto/index.ts';
import { directEndpoint, type Endpoint } from '../proto/link/index.ts';
import type { SessionEvent } from './events.ts';
import { SessionHost, type SessionHostOptions } from './host.ts';
import type { PeerOptions, PeerSession } from './peer.ts';

export interface Datagram {
  d: Uint8Array;
  from: Endpoint;
  to: Endpoint;
}

/**
 * A wire: datagrams queue up and are delivered in order, with zero latency, by a timer on the
 * clock (so `clock.advance()` delivers them as time passes) or at once by `flush()`.
 */
export class Wire {
  readonly #clock: FakeClock | undefined;
  #scheduled: TimerHandle | undefined;

  constructor(clock?: FakeClock) {
    this.#clock = clock;
  }

  readonly queue: Datagram[] = [];
  readonly sent: Datagram[] = [];
  /** Hosts by their endpoint's name. */
  readonly hosts = new Map<string, SessionHost>();
  /** Return false to lose a datagram; may rewrite `from` (a NAT rebinding). */
  filter: ((g: Datagram) => boolean) | undefined;

  sender(self: () => Endpoint): (d: Uint8Array, to: Endpoint) => void {
    return (d, to) => {
      const g = { d: new Uint8Array(d), from: self(), to };
      this.sent.push(g);
      this.queue.push(g);
      if (this.#clock && !this.#scheduled) this.#scheduled = this.#clock.setTimeout(() => this.flush(), 0);
    };
  }

  flush(limit = 10_000): number {
    if (this.#scheduled) this.#clock!.clearTimeout(this.#scheduled);
    this.#scheduled = undefined;
    let n = 0;
    while (this.queue.length && n < limit) {
      const g = this.queue.shift()!;
      n++;
      if (this.filter && !this.filter(g)) continue;
      this.hosts.get(g.to.name)?.receive(g.d, g.from);
    }
    return n;
  }

  /** Types (first byte) of the datagrams sent so far from `from`. */
  typesFrom(from: Endpoint): number[] {
    return this.sent.filter((g) => g.from.name === from.name).map((g) => g.d[0]);
  }
}

export interface Side {
  host: SessionHost;
  key: PrivateKey;
  /** Its session with the other side. */
  peer: PeerSession;
  endpoint: Endpoint;
  received: { payload: Uint8Array; from: Endpoint }[];
  events: SessionEvent[];
}

export interface PairOptions {
  psk?: Uint8Array;
  /** Per-side psk overrides (a mismatch). */
  pskA?: Uint8Array;
  pskB?: Uint8Array;
  /** Fixed timer jitter in ms: one value for both, or [A's, B's]. Default 0. */
  jitter?: number | [number, number];
  host?: Partial<SessionHostOptions>;
  peerA?: PeerOptions;
  peerB?: PeerOptions;
  /** B starts without knowing A's endpoint (a responder behind nothing but A's packets). */
  bKnowsA?: boolean;
}

export function pair(o: PairOptions = {}): { clock: FakeClock; wire: Wire; a: Side; b: Side } {
  const clock = new FakeClock();
  const wire = new Wire(clock);
  const jitter = (i: number): number => (Array.isArray(o.jitter) ? o.jitter[i] : (o.jitter ?? 0));
  const mk = (endpoint: Endpoint, i: number): Side => {
    const key = PrivateKey.generate();
    const side = { key, endpoint, received: [], events: [] } as unknown as Side;
    side.host = new SessionHost({
      clock,
      privateKey: key,
      send: wire.sender(() => side.endpoint),
      onPayload: (_p, payload, from) => side.received.push({ payload: new Uint8Array(payload), from }),
      onEvent: (ev) => side.events.push(ev),
      jitterMs: () => jitter(i),
      ...o.host,
    });
    wire.hosts.set(endpoint.name, side.host);
    return side;
  };
  const a = mk(directEndpoint('10.0.0.1', 51820), 0);
  const b = mk(directEndpoint('10.0.0.2', 51820), 1);
  a.peer = a.host.addPeer(b.key.publicKey, {
    endpoint: b.endpoint,
    presharedKey: o.pskA ?? o.psk,
    ...o.peerA,
  });
  b.peer = b.host.addPeer(a.key.publicKey, {
    endpoint: o.bKnowsA === false ? undefined : a.endpoint,
    presharedKey: o.pskB ?? o.psk,
    ...o.peerB,
  });
  return { clock, wire, a, b };
}

export const text = (s: string): Uint8Array => new TextEncoder().encode(s);
/** The payload without WireGuard's zero padding (for tests whose payloads do not end in zeros). */
export const unpad = (p: Uint8Array): string => new TextDecoder().decode(p).replace(/\0+$/, '');
