// Every timing of the paths engine, in one place, on the injected Clock. The pure machines
// (path-choice.ts, stun-client.ts) take `now` as an argument and say when they next want to run;
// `Wakeup` is the one restartable timer a driver arms for that.
//
// Reference timings are Tailscale's (wgengine/magicsock), as DESIGN.md §4 "Paths" records; each
// default below says why it is what it is.
import { Timer, type Clock } from '../clock/index.ts';
import { PathsError } from './errors.ts';

export interface PathTimings {
  /**
   * PING to the active direct endpoint this often. Default 3000 ms (Tailscale's heartbeatInterval):
   * two heartbeats fit inside the trust period, so one lost PONG does not cost the path, and the
   * traffic keeps NAT mappings alive (RFC 4787 REQ-5 allows UDP mappings as short as 2 min, many NATs
   * use 30 s).
   */
  heartbeatMs: number;
  /**
   * A direct path is trusted this long after its last PONG; then traffic falls back to the relay.
   * Default 6500 ms (Tailscale's trustUDPAddrDuration): two heartbeats plus a margin for RTT.
   */
  trustMs: number;
  /**
   * Least wait before a new probe round while relayed. Default 30000 ms: DESIGN.md §4's 30–60 s.
   * Each round costs a CALL_ME_MAYBE through the relay and a few PINGs per candidate.
   */
  reprobeMinMs: number;
  /**
   * Most wait before a new probe round while relayed; the wait is uniform between min and max so
   * many peers started together do not probe in lock step. Default 60000 ms.
   */
  reprobeMaxMs: number;
  /**
   * While direct, probe the other candidates this often to find a lower-RTT path. Default 60000 ms
   * (Tailscale's upgradeInterval): rare, because the current path already works.
   */
  upgradeMs: number;
  /**
   * A probe round PINGs every candidate this many times. Default 3: the first PING towards a NAT
   * that has not yet seen our peer's outbound packet is dropped by its filter (RFC 4787 §5), the
   * later ones pass once the peer's own PINGs (triggered by our CALL_ME_MAYBE) opened the mapping.
   */
  probeAttempts: number;
  /** Between the PINGs of a round. Default 1000 ms: longer than a relay round trip on one continent. */
  probeIntervalMs: number;
  /**
   * A PING's transaction id is answered for this long; later PONGs are ignored. Default 5000 ms
   * (Tailscale's pingTimeoutDuration): far above any sane RTT.
   */
  pongTimeoutMs: number;
  /**
   * A triggered PING (to a source we just heard from) goes to one endpoint at most this often.
   * Default 1000 ms: enough to answer rebinding at once without echoing a flood of packets.
   */
  triggeredMinIntervalMs: number;
  /**
   * A PING from the peer is answered with our own PING to its source (besides the PONG) unless we
   * PINGed it this recently. Default 10 ms. The PING proves the peer's side is open now, while our
   * earlier PING may have crossed it and been dropped by the peer's NAT filter (RFC 4787 §5), which
   * otherwise costs a whole probe interval. The peer's own PING rate bounds these replies; the
   * floor only folds a burst into one, and once both ends have a PONG the fresh path stops them.
   */
  pingReplyMinIntervalMs: number;
  /**
   * Among direct paths, switch to another endpoint only when its RTT is below this share of the
   * current one's. Default 2/3: noise on a path is far smaller than a third of its RTT, so paths do
   * not flap, while a clearly better path (a LAN next to an Internet path) wins.
   */
  betterRttRatio: number;
  /** ...and the RTT gain is at least this many ms. Default 1 ms: sub-ms LAN jitter is no reason to switch. */
  betterRttMinGainMs: number;
  /**
   * The active endpoint counts as stale (so a PONG from another endpoint replaces it at once, as
   * after a NAT rebinding) when its last PONG is older than this. Default 4500 ms: it missed a
   * heartbeat (3 s) by more than a sane RTT.
   */
  staleMs: number;
  /**
   * A low-TTL open (see PathChoiceOptions.openTtl) towards a candidate is sent again before a full
   * PING when the last one is older than this. Default 20000 ms: below Linux conntrack's 30 s
   * timeout for a UDP flow that never had a reply, so the mapping it made is still there.
   */
  openRefreshMs: number;
  /**
   * A candidate the peer listed in its CALL_ME_MAYBE (sent after its own opens towards us) may be
   * PINGed at full TTL for this long. Default 20000 ms, for the same reason as openRefreshMs.
   */
  peerOpenMs: number;
  /**
   * A datagram-size probe (a PING padded to a larger size on the direct path) or a padded heartbeat
   * counts as lost after this long without a PONG. Default 1000 ms: far above a direct RTT, short
   * enough that a path which stopped carrying large datagrams costs a stream ~2 heartbeats.
   */
  sizeProbeTimeoutMs: number;
  /**
   * After a probe round that got no PONG, no new round (ours, or one a candidate change would
   * start) until this long after the last datagram either side sent towards the other's candidates
   * (our PINGs and opens, the peer's CALL_ME_MAYBE). Default 35000 ms: past Linux conntrack's 30 s
   * timeout for a flow that never had a reply, so a bare router's stale entries — a spoiled tuple
   * after a NAT restart or a conntrack flush — expire before the next try instead of being kept
   * alive by it (path-choice.ts, "Opens").
   */
  quietMs: number;
}

export const DEFAULT_PATH_TIMINGS: Readonly<PathTimings> = Object.freeze({
  heartbeatMs: 3000,
  trustMs: 6500,
  reprobeMinMs: 30_000,
  reprobeMaxMs: 60_000,
  upgradeMs: 60_000,
  probeAttempts: 3,
  probeIntervalMs: 1000,
  pongTimeoutMs: 5000,
  triggeredMinIntervalMs: 1000,
  pingReplyMinIntervalMs: 10,
  betterRttRatio: 2 / 3,
  betterRttMinGainMs: 1,
  staleMs: 4500,
  openRefreshMs: 20_000,
  peerOpenMs: 20_000,
  sizeProbeTimeoutMs: 1000,
  quietMs: 35_000,
});

/** Defaults filled in and every field checked once. */
export function resolvePathTimings(t: Partial<PathTimings> = {}): PathTimings {
  const r: PathTimings = { ...DEFAULT_PATH_TIMINGS, ...t };
  for (const [k, v] of Object.entries(r))
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
      throw new PathsError('PATHS_OPTION_INVALID', `${k} must be a finite number >= 0 (got ${String(v)})`);
  const bad = (m: string): never => {
    throw new PathsError('PATHS_OPTION_INVALID', m);
  };
  if (r.heartbeatMs <= 0) bad('heartbeatMs must be > 0');
  if (r.trustMs <= r.heartbeatMs)
    bad('trustMs must exceed heartbeatMs (a heartbeat must be able to renew trust)');
  if (r.reprobeMaxMs < r.reprobeMinMs || r.reprobeMinMs <= 0) bad('need 0 < reprobeMinMs <= reprobeMaxMs');
  if (r.upgradeMs <= 0) bad('upgradeMs must be > 0');
  if (!Number.isInteger(r.probeAttempts) || r.probeAttempts < 1) bad('probeAttempts must be an integer >= 1');
  if (r.pongTimeoutMs <= 0) bad('pongTimeoutMs must be > 0');
  if (!(r.betterRttRatio > 0 && r.betterRttRatio <= 1)) bad('betterRttRatio must be in (0, 1]');
  return r;
}

/**
 * One restartable wake-up for a pure machine: `arm(at)` with an absolute `clock.now()` deadline
 * (undefined disarms). `stop()` leaves no timer.
 */
export class Wakeup {
  readonly #clock: Clock;
  readonly #timer: Timer;
  #at: number | undefined;

  constructor(clock: Clock, fn: () => void) {
    this.#clock = clock;
    this.#timer = new Timer(clock, () => {
      this.#at = undefined;
      fn();
    });
  }

  arm(at: number | undefined): void {
    if (at === this.#at && this.#timer.pending) return;
    this.#at = at;
    if (at === undefined) this.#timer.del();
    else this.#timer.mod(Math.max(0, at - this.#clock.now()));
  }

  get pending(): boolean {
    return this.#timer.pending;
  }

  stop(): void {
    this.#at = undefined;
    this.#timer.del();
  }
}
