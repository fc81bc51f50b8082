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

export type PingPurpose = 'probe' | 'heartbeat' | 'triggered' | 'upgrade';

export type PathAction =
  | { type: 'ping'; to: string; txid: Uint8Array; purpose: PingPurpose }
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
  | 'rounds';

export interface PathChoiceOptions {
  timings?: Partial<PathTimings>;
  /** 8-byte transaction ids; default from the CSPRNG. */
  txid?: () => Uint8Array;
  /** Uniform [0, 1) for the re-probe jitter; default Math.random. */
  random?: () => number;
}
