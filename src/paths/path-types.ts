// The vocabulary of path choice (path-choice.ts): states, actions, reasons and status.
import type { PathTimings } from './timers.ts';

export type PathState = 'relay' | 'probing' | 'direct' | 'fallback';

/** Where the peer's traffic goes. */
export type ActivePath = { kind: 'relay' } | { kind: 'direct'; endpoint: string; rttMs: number };

export type SwitchReason =
  /** relay → direct: the first PONG on a direct endpoint. */
  | 'pong'
  /** direct → direct: the other endpoint's RTT cleared the margin. */
  | 'better-rtt'
  /** direct → direct: the current endpoint missed its heartbeats and another one answered. */
  | 'stale'
  /** direct → relay: no PONG for trustMs. */
  | 'trust-expired';

/**
 * 'open': a PING sent with a small IP TTL (PathChoiceOptions.openTtl) just before the first PINGs
 * to a candidate: it makes our own NAT's mapping towards the candidate and dies on the way, before
 * it can reach the peer's router (see path-choice.ts, "Opens").
 */
export type PingPurpose = 'probe' | 'heartbeat' | 'triggered' | 'upgrade' | 'open' | 'size';

export type PathAction =
  /**
   * `ttl`: send with this IP TTL instead of the system's (opens only). `padTo`: pad the session
   * payload to this many bytes (a datagram-size probe, or a heartbeat at the path's size).
   */
  | { type: 'ping'; to: string; txid: Uint8Array; purpose: PingPurpose; ttl?: number; padTo?: number }
  /** The direct path carries session payloads of this size (a larger size confirmed, or back to the base). */
  | { type: 'datagram-size'; size: number }
  | { type: 'pong'; to: string; txid: Uint8Array; observed: string }
  /** Our candidates, to be sent to the peer through the relay. */
  | { type: 'call-me-maybe'; candidates: string[] }
  | ({ type: 'switch' } & PathChange)
  /** The peer saw us from this address (differs from what it said before, if anything). */
  | { type: 'observed'; endpoint: string; previous: string | undefined };

export type CandidateSource = 'netmap' | 'call-me-maybe' | 'seen';

export interface CandidateStatus {
  endpoint: string;
  sources: CandidateSource[];
  rttMs?: number;
  lastPongAt?: number;
  lastPingAt?: number;
  /** When we last sent a low-TTL open towards it. */
  openedAt?: number;
  /** When the peer last said (CALL_ME_MAYBE) it had opened towards us, for this endpoint of its. */
  peerOpenedAt?: number;
  /** Full PINGs sent to it, PONGs it answered. */
  pings: number;
  pongs: number;
}

export interface PathChange {
  atMs: number;
  from: ActivePath;
  to: ActivePath;
  reason: SwitchReason;
}

export interface PathChoiceStatus {
  state: PathState;
  path: ActivePath;
  lastChange?: PathChange;
  switches: number;
  candidates: CandidateStatus[];
  /** Our address as the peer last saw it. */
  observedSelf?: string;
  /** The latest probe round: when it started and ended, PONGs during it, candidates at its end. */
  lastRound?: { startedAt: number; endedAt?: number; pongs: number; candidates: number };
  /** Relayed: when the next round starts. */
  reprobeAt?: number;
  /** Session payload size on the active direct path. */
  datagramSize: number;
  counters: Record<PathCounter, number>;
}

export type PathCounter =
  | 'pings-sent'
  | 'pongs-sent'
  | 'pongs-received'
  | 'pong-unknown-txid'
  | 'pong-wrong-source'
  | 'ping-not-direct'
  | 'call-me-maybe-sent'
  | 'call-me-maybe-received'
  | 'candidate-not-direct'
  | 'probe-evicted'
  | 'opens-sent'
  | 'size-probes'
  | 'rounds';

export interface PathChoiceOptions {
  timings?: Partial<PathTimings>;
  /** 8-byte transaction ids; default from the CSPRNG. */
  txid?: () => Uint8Array;
  /** Uniform [0, 1) for the re-probe jitter; default Math.random. */
  random?: () => number;
  /**
   * IP TTL of the opens sent before the first full PING to a candidate; 0 sends none. Default 2:
   * one forwarding hop to our NAT, which maps the flow and forwards it with TTL 1, and the next
   * router drops it. It must stay below the hop count to the peer's router.
   */
  openTtl?: number;
  /**
   * Session payload sizes to try on a direct path once it is up, largest first (each must exceed
   * DIRECT_DATAGRAM_SIZE, the size every path carries); the largest that gets a PONG is used.
   * Default none: the base size only. See path-choice.ts, "Datagram size".
   */
  datagramSizes?: readonly number[];
}
