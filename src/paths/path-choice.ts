// Path choice for one peer: a pure, synchronous state machine (no I/O, no timers, no clock). Every
// input takes `now` (Clock.now() ms) and returns the actions to carry out; `nextWakeAt()` says when
// `tick(now)` wants to run next. peer-paths.ts is the driver.
//
//            start / re-probe due / new candidates
//   ┌───────┐ ──────────────────────────────────► ┌─────────┐
//   │ relay │                                      │ probing │──┐ PINGs to every candidate,
//   └───────┘ ◄────────── round over, no PONG ──── └─────────┘  │ CALL_ME_MAYBE via the relay
//       ▲                                               │ PONG (from the endpoint PINGed)
//       │ round over, no PONG                           ▼
//   ┌──────────┐  trust expired (no PONG for    ┌────────────────────┐ heartbeat PING every 3 s;
//   │ fallback │ ◄──── trustMs): traffic back ── │ direct(endpoint)   │ PONG renews trust; PONG from
//   └──────────┘       on the relay at once      └────────────────────┘ another endpoint switches
//       │ PONG                                          ▲  only if its RTT clears the margin,
//       └───────────────────────────────────────────────┘  or if the current one is stale
//
// In relay, probing and fallback the peer's traffic goes through the relay; only in direct does it
// go to the endpoint. Hysteresis: any working direct path beats the relay; among direct paths a
// switch needs RTT < betterRttRatio × current RTT (and a gain of betterRttMinGainMs), unless the
// current path has missed its heartbeats (stale: a NAT rebinding or roaming).
//
// Candidates of the peer come from the netmap, from its CALL_ME_MAYBE, and from sources we heard it
// from (a PING, or any authenticated datagram: "peer-reflexive", which is how a rebinding shows up).
// A PING from a direct source is answered with a PONG to that source, and triggers our own PING
// back (ICE's triggered check) so both ends confirm the path without waiting for a round.
// Our own candidates (local interfaces, STUN results, and the address the peer's PONGs say it saw
// us from) go to the peer in CALL_ME_MAYBE when a round starts or when they change.
//
// Opens. A NAT that accepts unsolicited datagrams addressed to itself (a Linux router with no input
// firewall: conntrack confirms an entry for the stray datagram as a flow *to the router*) is
// spoiled by a PING that arrives before its inside host has sent towards us: the entry takes the
// tuple (our mapping → its mapping), so the host's own later flow to us gets another port, which
// our NAT's filter drops (and, on a bare router too, records the same way). Each side must have
// sent towards the other before the other's PING arrives. So before the first full PING to a
// candidate we send an *open*: the same PING with a small IP TTL (openTtl, default 2) that passes
// our own NAT — which maps the flow — and dies at the next router, long before the peer's. Full
// PINGs go only where the peer has opened too: a candidate its CALL_ME_MAYBE listed (sent after its
// opens towards us), one that answered or that we heard from, or — as the fallback for a peer that
// never answers our CALL_ME_MAYBE — from the round's second attempt on. The first attempt of a round
// opens the candidates the peer has not confirmed; our CALL_ME_MAYBE goes after those opens, and the
// peer answers it with its opens and full PINGs, which now pass our NAT.
// When a round gets no PONG, a stale entry may be what spoils it (a NAT restart, a conntrack flush
// under traffic), and every further datagram towards the peer would keep it alive: the next round
// waits until both sides have been silent towards each other for `quietMs`, past conntrack's 30 s
// for a flow without a reply, so that those entries are gone when it opens again.
//
// Datagram size. Every path carries DIRECT_DATAGRAM_SIZE (1280-byte IPv6 minimum MTU less headers).
// Once a direct path is up, PINGs padded to each of `datagramSizes` (largest first) go to it; the
// first that gets a PONG becomes the path's size (a larger datagram than the link MTU travels as IP
// fragments: the PONG proves this path, NATs included, carries them). Per-datagram work is what
// limits a user-space data path, so fewer, larger datagrams are the direct path's throughput. While
// the peer's traffic flows (setBusy), each heartbeat is padded to the current size; one that goes
// unanswered is asked again at once (a single loss under load proves little), and a second loss
// drops the size back to the base; the ladder is tried again SIZE_RETRY_MS later.
import { randomBytes } from '../crypto/index.ts';
import { MAX_CANDIDATES, TXID_BYTES } from '../proto/frames/index.ts';
import { toHex } from '../util/index.ts';
import type { DirectEndpoint, Endpoint } from '../proto/link/index.ts';
import { isDirectEndpoint, normalizeEndpoint } from './endpoint.ts';
import { PathsError } from './errors.ts';
import { resolvePathTimings, type PathTimings } from './timers.ts';
import type {
  ActivePath,
  CandidateSource,
  PathAction,
  PathChange,
  PathChoiceOptions,
  PathChoiceStatus,
  PathCounter,
  PathState,
  PingPurpose,
  SwitchReason,
} from './path-types.ts';

export type * from './path-types.ts';

/** PINGs awaiting a PONG at most (each round adds candidates × attempts); the oldest goes first. */
export const MAX_OUTSTANDING_PINGS = 256;
/** Candidates learnt from sources ("seen") kept at most; the least recently heard goes first. */
export const MAX_SEEN_CANDIDATES = 8;
/**
 * The session payload every direct path carries: 1280 (the IPv6 minimum MTU) less IPv6, UDP and
 * WireGuard overhead (peer-paths.ts re-exports it as DIRECT_DATAGRAM_SIZE).
 */
export const DIRECT_DATAGRAM_SIZE = 1200;
/** Largest datagramSizes entry: a UDP payload's limit (65507 over IPv4) less the session's overhead. */
export const MAX_DATAGRAM_SIZE = 65_000;
/** After the datagram size fell back to the base, the ladder is tried again this soon, ms. */
export const SIZE_RETRY_MS = 10_000;
/** PathChoiceOptions.openTtl's default. */
export const DEFAULT_OPEN_TTL = 2;

interface Candidate {
  readonly endpoint: string;
  readonly sources: Set<CandidateSource>;
  lastPingAt?: number;
  lastPongAt?: number;
  rttMs?: number;
  seenAt?: number;
  openedAt?: number;
  peerOpenedAt?: number;
  /** Full PINGs sent to it and PONGs it answered, since it became a candidate. */
  pings: number;
  pongs: number;
}

interface Ping {
  readonly to: string;
  readonly sentAt: number;
  /** A padded PING (size probe or heartbeat): the size it proves. */
  readonly size?: number;
}

interface Round {
  /** Attempts made so far (the first opens what the peer has not confirmed, the rest PING). */
  made: number;
  attemptsLeft: number;
  nextAt: number;
  endAt: number;
}

const RELAY: ActivePath = Object.freeze({ kind: 'relay' });

export class PathChoice {
  readonly timings: Readonly<PathTimings>;
  readonly #txid: () => Uint8Array;
  readonly #random: () => number;
  readonly #openTtl: number;
  readonly #ladder: readonly number[];
  #size = DIRECT_DATAGRAM_SIZE;
  /** The outstanding size probe (its txid key), and the ladder index it tries. */
  #sizeProbe: { key: string; sentAt: number; idx: number } | undefined;
  /** The outstanding padded heartbeat. */
  #padCheck: { key: string; sentAt: number; retry: boolean } | undefined;
  #busy = false;
  readonly #cands = new Map<string, Candidate>();
  readonly #pings = new Map<string, Ping>();
  readonly #counters = Object.fromEntries(
    [
      'pings-sent',
      'pongs-sent',
      'pongs-received',
      'pong-unknown-txid',
      'pong-wrong-source',
      'ping-not-direct',
      'call-me-maybe-sent',
      'call-me-maybe-received',
      'candidate-not-direct',
      'probe-evicted',
      'opens-sent',
      'size-probes',
      'rounds',
    ].map((k) => [k, 0]),
  ) as Record<PathCounter, number>;
  #out: PathAction[] = [];
  #state: PathState = 'relay';
  #active: string | undefined;
  #round: Round | undefined;
  #reprobeAt: number | undefined;
  #heartbeatAt: number | undefined;
  #upgradeAt: number | undefined;
  #local: string[] = [];
  #observedSelf: string | undefined;
  #lastChange: PathChange | undefined;
  /** When the last round that got no PONG ended (cleared by a direct path). */
  #failedAt: number | undefined;
  /** The last datagram towards the peer's candidates (ours) or from its round (its CALL_ME_MAYBE). */
  #activityAt = -Infinity;
  #lastRound: { startedAt: number; endedAt?: number; pongs: number; candidates: number } | undefined;
  #switches = 0;
  #started = false;

  constructor(opts: PathChoiceOptions = {}) {
    this.timings = resolvePathTimings(opts.timings);
    this.#txid = opts.txid ?? (() => randomBytes(TXID_BYTES));
    this.#random = opts.random ?? Math.random;
    this.#openTtl = opts.openTtl ?? DEFAULT_OPEN_TTL;
    if (!Number.isInteger(this.#openTtl) || this.#openTtl < 0 || this.#openTtl > 255)
      throw new PathsError('PATHS_OPTION_INVALID', `openTtl must be an integer 0..255 (got ${opts.openTtl})`);
    const sizes = opts.datagramSizes ?? [];
    for (const n of sizes)
      if (!Number.isInteger(n) || n <= DIRECT_DATAGRAM_SIZE || n > MAX_DATAGRAM_SIZE)
        throw new PathsError(
          'PATHS_OPTION_INVALID',
          `datagramSizes must be integers in ${DIRECT_DATAGRAM_SIZE + 1}..${MAX_DATAGRAM_SIZE} (got ${n})`,
        );
    this.#ladder = [...new Set(sizes)].sort((a, b) => b - a);
  }

  /** The peer's traffic flowed since the last call (the driver says so before each tick). */
  setBusy(busy: boolean): void {
    this.#busy = busy;
  }

  /** Session payload size on the active direct path (DIRECT_DATAGRAM_SIZE until a larger one is proven). */
  get datagramSize(): number {
    return this.#size;
  }

  get state(): PathState {
    return this.#state;
  }

  get path(): ActivePath {
    const c = this.#active === undefined ? undefined : this.#cands.get(this.#active);
    return c ? { kind: 'direct', endpoint: c.endpoint, rttMs: c.rttMs ?? 0 } : RELAY;
  }

  // ---------------------------------------------------------------- inputs

  /** Begins: a probe round at once (CALL_ME_MAYBE plus PINGs to what candidates are known). */
  start(now: number): PathAction[] {
    if (!this.#started) {
      this.#started = true;
      this.#startRound(now, true);
    }
    return this.#flush();
  }

  /** The peer's endpoints from the netmap (replacing the previous netmap list). */
  setRemoteCandidates(endpoints: readonly string[], now: number): PathAction[] {
    const added = this.#replaceSource('netmap', endpoints);
    if (added && this.#started && this.#state !== 'direct') this.#requestRound(now, false);
    return this.#flush();
  }

  /** Our candidates (interfaces, STUN). A change goes to the peer at once. */
  setLocalCandidates(endpoints: readonly string[], now: number): PathAction[] {
    const next = dedupe(endpoints.filter(isDirectEndpoint).map(normalizeEndpoint));
    const changed = next.length !== this.#local.length || next.some((e, i) => e !== this.#local[i]);
    this.#local = next;
    if (changed && this.#started) {
      if (this.#state === 'direct') this.#sendCallMeMaybe();
      else this.#requestRound(now, true);
    }
    return this.#flush();
  }

  /** CALL_ME_MAYBE from the peer (it arrives through the relay): PING every candidate now. */
  onCallMeMaybe(endpoints: readonly string[], now: number): PathAction[] {
    this.#counters['call-me-maybe-received']++;
    this.#activityAt = Math.max(this.#activityAt, now);
    this.#replaceSource('call-me-maybe', endpoints);
    // the peer sends CALL_ME_MAYBE after its opens towards us: its endpoints may be PINGed now
    for (const c of this.#cands.values()) if (c.sources.has('call-me-maybe')) c.peerOpenedAt = now;
    if (this.#state === 'direct') {
      for (const c of this.#cands.values())
        if (c.sources.has('call-me-maybe') && c.endpoint !== this.#active) this.#ping(c, now, 'upgrade');
    } else if (this.#round) {
      this.#round.attemptsLeft = this.timings.probeAttempts;
      this.#round.nextAt = now;
      this.#round.endAt = Infinity;
      this.#runRound(now);
    } else this.#startRound(now, false);
    return this.#flush();
  }

  /**
   * A PATH_PING from `from` (where its session datagram came from): PONG to that source, and PING
   * it back. Endpoints come typed from the socket: no text is parsed here.
   */
  onPing(txid: Uint8Array, from: Endpoint, now: number): PathAction[] {
    if (from.kind !== 'direct') {
      this.#counters['ping-not-direct']++;
      return this.#flush();
    }
    const ep = from.name;
    this.#out.push({ type: 'pong', to: ep, txid, observed: ep });
    this.#counters['pongs-sent']++;
    this.#seen(ep, now, this.timings.pingReplyMinIntervalMs);
    return this.#flush();
  }

  /**
   * An authenticated datagram of the peer came from `from` (the session's source-changed event):
   * a new direct source is a candidate (peer-reflexive), PINGed at once.
   */
  onSourceSeen(from: Endpoint, now: number): PathAction[] {
    if (from.kind === 'direct') this.#seen(from.name, now, this.timings.triggeredMinIntervalMs);
    return this.#flush();
  }

  /**
   * A PATH_PONG: `from` is where it came from, `observed` where the peer saw our PING come from
   * (undefined: not a direct address).
   */
  onPong(txid: Uint8Array, from: Endpoint, observed: DirectEndpoint | undefined, now: number): PathAction[] {
    const key = toHex(txid);
    const ping = this.#pings.get(key);
    if (!ping || now - ping.sentAt > this.timings.pongTimeoutMs) {
      this.#counters['pong-unknown-txid']++;
      return this.#flush();
    }
    const src = from.name;
    if (src !== ping.to) {
      this.#counters['pong-wrong-source']++;
      return this.#flush();
    }
    this.#pings.delete(key);
    this.#counters['pongs-received']++;
    if (this.#lastRound && this.#lastRound.endedAt === undefined) this.#lastRound.pongs++;
    const c = this.#cands.get(src);
    if (!c) return this.#flush(); // the candidate was removed meanwhile
    c.lastPongAt = now;
    c.pongs++;
    c.rttMs = now - ping.sentAt;
    this.#observe(observed);
    this.#choose(c, now);
    if (this.#sizeProbe?.key === key) this.#sizeProbe = undefined;
    if (this.#padCheck?.key === key) this.#padCheck = undefined;
    if (ping.size !== undefined && c.endpoint === this.#active && ping.size > this.#size)
      this.#setSize(ping.size);
    return this.#flush();
  }

  /**
   * A probe round now (diagnosis: `sallyport ping`): relayed, a whole round with opens and
   * CALL_ME_MAYBE; direct, every other candidate is PINGed (an upgrade check). Already probing:
   * nothing more.
   */
  probeNow(now: number): PathAction[] {
    if (!this.#started) return this.#flush();
    if (this.#state === 'direct') {
      const cur = this.#active;
      for (const c of this.#cands.values()) if (c.endpoint !== cur) this.#ping(c, now, 'upgrade');
    } else if (!this.#round) this.#requestRound(now, true);
    return this.#flush();
  }

  /** Timers: trust expiry, heartbeats, probe rounds, re-probes, upgrades. */
  tick(now: number): PathAction[] {
    for (const [k, p] of this.#pings) if (now - p.sentAt > this.timings.pongTimeoutMs) this.#pings.delete(k);
    const t = this.timings;
    if (this.#state === 'direct') {
      const c = this.#cands.get(this.#active!)!;
      if (now >= (c.lastPongAt ?? -Infinity) + t.trustMs) {
        this.#switch(undefined, 'trust-expired', now);
        this.#state = 'fallback';
        this.#startRound(now, true);
      } else {
        if (this.#padCheck && now - this.#padCheck.sentAt > t.sizeProbeTimeoutMs) {
          this.#pings.delete(this.#padCheck.key);
          if (!this.#padCheck.retry) {
            // one lost datagram under load proves little (a full socket buffer, one lost fragment):
            // ask again at once, padded the same
            const key = this.#emitPing(c, now, 'size', undefined, this.#size);
            this.#padCheck = { key, sentAt: now, retry: true };
          } else {
            // twice: the path no longer carries the size; back to the base now, the ladder again soon
            this.#padCheck = undefined;
            this.#setSize(DIRECT_DATAGRAM_SIZE);
            this.#upgradeAt = Math.min(this.#upgradeAt ?? Infinity, now + SIZE_RETRY_MS);
          }
        }
        if (this.#sizeProbe && now - this.#sizeProbe.sentAt > t.sizeProbeTimeoutMs)
          this.#probeSize(c, now, this.#sizeProbe.idx + 1);
        if (this.#heartbeatAt !== undefined && now >= this.#heartbeatAt) {
          const pad =
            this.#busy && this.#size > DIRECT_DATAGRAM_SIZE && !this.#padCheck ? this.#size : undefined;
          const key = this.#emitPing(c, now, 'heartbeat', undefined, pad);
          if (pad !== undefined) this.#padCheck = { key, sentAt: now, retry: false };
          this.#heartbeatAt = now + t.heartbeatMs;
        }
        if (this.#upgradeAt !== undefined && now >= this.#upgradeAt) {
          for (const o of this.#cands.values()) if (o !== c) this.#ping(o, now, 'upgrade');
          this.#upgradeAt = now + t.upgradeMs;
          if (!this.#sizeProbe && this.#size < (this.#ladder[0] ?? 0)) this.#probeSize(c, now, 0);
        }
      }
    }
    if (this.#round) this.#runRound(now);
    if (
      this.#state === 'relay' &&
      this.#reprobeAt !== undefined &&
      now >= this.#reprobeAt &&
      now >= this.#quietUntil()
    )
      this.#startRound(now, true);
    return this.#flush();
  }

  /** When tick() next has work (Clock.now() ms), or undefined. */
  nextWakeAt(): number | undefined {
    let at = Infinity;
    if (this.#state === 'direct') {
      const c = this.#cands.get(this.#active!)!;
      at = Math.min(
        at,
        (c.lastPongAt ?? 0) + this.timings.trustMs,
        this.#heartbeatAt ?? at,
        this.#upgradeAt ?? at,
        this.#sizeProbe ? this.#sizeProbe.sentAt + this.timings.sizeProbeTimeoutMs + 1 : at,
        this.#padCheck ? this.#padCheck.sentAt + this.timings.sizeProbeTimeoutMs + 1 : at,
      );
    }
    if (this.#round) at = Math.min(at, this.#round.attemptsLeft > 0 ? this.#round.nextAt : this.#round.endAt);
    if (this.#state === 'relay' && this.#reprobeAt !== undefined)
      at = Math.min(at, Math.max(this.#reprobeAt, this.#quietUntil()));
    return at === Infinity ? undefined : at;
  }

  status(): PathChoiceStatus {
    return {
      state: this.#state,
      path: this.path,
      ...(this.#lastChange ? { lastChange: this.#lastChange } : {}),
      switches: this.#switches,
      candidates: [...this.#cands.values()].map((c) => ({
        endpoint: c.endpoint,
        sources: [...c.sources],
        ...(c.rttMs !== undefined ? { rttMs: c.rttMs } : {}),
        ...(c.lastPongAt !== undefined ? { lastPongAt: c.lastPongAt } : {}),
        ...(c.lastPingAt !== undefined ? { lastPingAt: c.lastPingAt } : {}),
        ...(c.openedAt !== undefined ? { openedAt: c.openedAt } : {}),
        ...(c.peerOpenedAt !== undefined ? { peerOpenedAt: c.peerOpenedAt } : {}),
        pings: c.pings,
        pongs: c.pongs,
      })),
      ...(this.#lastRound ? { lastRound: { ...this.#lastRound } } : {}),
      ...(this.#reprobeAt !== undefined ? { reprobeAt: Math.max(this.#reprobeAt, this.#quietUntil()) } : {}),
      datagramSize: this.#size,
      ...(this.#observedSelf ? { observedSelf: this.#observedSelf } : {}),
      counters: { ...this.#counters },
    };
  }

  /** PINGs awaiting a PONG (bounded by MAX_OUTSTANDING_PINGS). */
  get outstandingPings(): number {
    return this.#pings.size;
  }

  // ---------------------------------------------------------------- internals

  #flush(): PathAction[] {
    const out = this.#out;
    this.#out = [];
    return out;
  }

  /** Replaces the endpoints from one source; true when a new endpoint appeared. */
  #replaceSource(source: CandidateSource, endpoints: readonly string[]): boolean {
    const want = new Set<string>();
    for (const e of endpoints) {
      if (!isDirectEndpoint(e)) {
        this.#counters['candidate-not-direct']++;
        continue;
      }
      if (want.size < MAX_CANDIDATES) want.add(normalizeEndpoint(e));
    }
    for (const c of [...this.#cands.values()])
      if (c.sources.has(source) && !want.has(c.endpoint)) {
        c.sources.delete(source);
        this.#forgetIfUnused(c);
      }
    let added = false;
    for (const e of want) {
      const c = this.#cands.get(e);
      if (c) {
        if (source === 'call-me-maybe') c.lastPingAt = undefined;
        c.sources.add(source);
      } else {
        this.#cands.set(e, { endpoint: e, sources: new Set([source]), pings: 0, pongs: 0 });
        added = true;
      }
    }
    return added;
  }

  #forgetIfUnused(c: Candidate): void {
    if (c.sources.size > 0) return;
    if (c.endpoint === this.#active) return; // kept while in use; trust decides its fate
    this.#cands.delete(c.endpoint);
  }

  /** `ep` was heard from: a candidate ("seen"), PINGed unless it is the fresh active path or was PINGed within `minIntervalMs`. */
  #seen(ep: string, now: number, minIntervalMs: number): void {
    let c = this.#cands.get(ep);
    if (!c) {
      c = { endpoint: ep, sources: new Set(), pings: 0, pongs: 0 };
      this.#cands.set(ep, c);
    }
    c.seenAt = now;
    if (!c.sources.has('seen')) {
      c.sources.add('seen');
      const seen = [...this.#cands.values()].filter((x) => x.sources.has('seen'));
      if (seen.length > MAX_SEEN_CANDIDATES) {
        seen.sort((a, b) => (a.seenAt ?? 0) - (b.seenAt ?? 0));
        for (const old of seen.slice(0, seen.length - MAX_SEEN_CANDIDATES)) {
          old.sources.delete('seen');
          this.#forgetIfUnused(old);
        }
      }
    }
    const fresh = ep === this.#active && now - (c.lastPongAt ?? -Infinity) < this.timings.staleMs;
    if (!fresh && now - (c.lastPingAt ?? -Infinity) >= minIntervalMs) this.#ping(c, now, 'triggered');
  }

  /** A full PING, preceded by an open unless one went out recently or the path answers. */
  #ping(c: Candidate, now: number, purpose: Exclude<PingPurpose, 'open'>): void {
    const t = this.timings;
    if (
      this.#openTtl > 0 &&
      now - (c.openedAt ?? -Infinity) >= t.openRefreshMs &&
      now - (c.lastPongAt ?? -Infinity) >= t.staleMs
    )
      this.#open(c, now);
    this.#emitPing(c, now, purpose);
  }

  /** An open: a PING with the small TTL, to make our NAT's mapping towards `c` (see "Opens"). */
  #open(c: Candidate, now: number): void {
    c.openedAt = now;
    this.#counters['opens-sent']++;
    this.#emitPing(c, now, 'open', this.#openTtl);
  }

  /** The peer has sent towards `c`'s endpoint lately, so a full PING to it cannot spoil its NAT. */
  #peerOpen(c: Candidate, now: number): boolean {
    const w = this.timings.peerOpenMs;
    return (
      this.#openTtl === 0 ||
      now - (c.peerOpenedAt ?? -Infinity) < w ||
      now - (c.lastPongAt ?? -Infinity) < w ||
      now - (c.seenAt ?? -Infinity) < w
    );
  }

  #emitPing(c: Candidate, now: number, purpose: PingPurpose, ttl?: number, padTo?: number): string {
    const txid = this.#txid();
    if (this.#pings.size >= MAX_OUTSTANDING_PINGS) {
      this.#pings.delete(this.#pings.keys().next().value!);
      this.#counters['probe-evicted']++;
    }
    const key = toHex(txid);
    this.#activityAt = Math.max(this.#activityAt, now);
    this.#pings.set(key, { to: c.endpoint, sentAt: now, ...(padTo !== undefined ? { size: padTo } : {}) });
    if (purpose !== 'open') {
      c.pings++;
      c.lastPingAt = now;
      this.#counters['pings-sent']++;
    }
    this.#out.push({
      type: 'ping',
      to: c.endpoint,
      txid,
      purpose,
      ...(ttl !== undefined ? { ttl } : {}),
      ...(padTo !== undefined ? { padTo } : {}),
    });
    return key;
  }

  /** A PING padded to the ladder's size `idx` (the first above the current size) to the active path. */
  #probeSize(c: Candidate, now: number, idx: number): void {
    this.#sizeProbe = undefined;
    for (let i = idx; i < this.#ladder.length; i++) {
      const size = this.#ladder[i];
      if (size <= this.#size) return;
      this.#counters['size-probes']++;
      this.#sizeProbe = { key: this.#emitPing(c, now, 'size', undefined, size), sentAt: now, idx: i };
      return;
    }
  }

  #setSize(size: number): void {
    if (size === this.#size) return;
    this.#size = size;
    this.#out.push({ type: 'datagram-size', size });
  }

  #observe(observed: DirectEndpoint | undefined): void {
    if (observed === undefined) return;
    const ep = observed.name;
    if (ep === this.#observedSelf) return;
    const previous = this.#observedSelf;
    this.#observedSelf = ep;
    this.#out.push({ type: 'observed', endpoint: ep, previous });
    // Our NAT mapping changed (or we learnt it): tell the peer, so it PINGs the new address.
    if (previous !== undefined && !this.#local.includes(ep)) this.#sendCallMeMaybe();
  }

  #choose(c: Candidate, now: number): void {
    const t = this.timings;
    if (this.#state !== 'direct') return this.#switch(c, 'pong', now);
    if (c.endpoint === this.#active) return;
    const cur = this.#cands.get(this.#active!)!;
    if (now - (cur.lastPongAt ?? -Infinity) > t.staleMs) return this.#switch(c, 'stale', now);
    const curRtt = cur.rttMs ?? Infinity;
    if (c.rttMs! < curRtt * t.betterRttRatio && curRtt - c.rttMs! >= t.betterRttMinGainMs)
      this.#switch(c, 'better-rtt', now);
  }

  /** Makes `to` the active direct endpoint, or the relay when undefined. */
  #switch(to: Candidate | undefined, reason: SwitchReason, now: number): void {
    const from = this.path;
    const old = this.#active === undefined ? undefined : this.#cands.get(this.#active);
    this.#active = to?.endpoint;
    if (old) this.#forgetIfUnused(old);
    this.#size = DIRECT_DATAGRAM_SIZE;
    this.#sizeProbe = undefined;
    this.#padCheck = undefined;
    if (to) {
      this.#state = 'direct';
      this.#failedAt = undefined;
      this.#round = undefined;
      this.#reprobeAt = undefined;
      this.#heartbeatAt = now + this.timings.heartbeatMs;
      this.#upgradeAt ??= now + this.timings.upgradeMs;
    } else {
      this.#state = 'relay';
      this.#heartbeatAt = undefined;
      this.#upgradeAt = undefined;
    }
    const change = { atMs: now, from, to: this.path, reason };
    this.#lastChange = change;
    this.#switches++;
    this.#out.push({ type: 'switch', ...change });
    if (to) this.#probeSize(to, now, 0);
  }

  #sendCallMeMaybe(): void {
    const list = this.#localList();
    if (list.length === 0) return;
    this.#counters['call-me-maybe-sent']++;
    this.#out.push({ type: 'call-me-maybe', candidates: list });
  }

  #localList(): string[] {
    const all = this.#observedSelf ? [...this.#local, this.#observedSelf] : this.#local;
    return dedupe(all).slice(0, MAX_CANDIDATES);
  }

  /** After a failed round: not before both sides were quiet for quietMs. */
  #quietUntil(): number {
    return this.#failedAt === undefined ? -Infinity : this.#activityAt + this.timings.quietMs;
  }

  /** A round now, or — while quiet after a failed one — at the end of the quiet (with CALL_ME_MAYBE). */
  #requestRound(now: number, withCallMeMaybe: boolean): void {
    if (now >= this.#quietUntil()) return this.#startRound(now, withCallMeMaybe);
    if (this.#round) return; // a round in progress carries on; the next one waits
    this.#state = 'relay';
    this.#reprobeAt = Math.min(this.#reprobeAt ?? Infinity, this.#quietUntil());
  }

  #startRound(now: number, withCallMeMaybe: boolean): void {
    this.#counters.rounds++;
    if (this.#state === 'relay') this.#state = 'probing';
    this.#reprobeAt = undefined;
    this.#round = { made: 0, attemptsLeft: this.timings.probeAttempts, nextAt: now, endAt: Infinity };
    this.#lastRound = { startedAt: now, pongs: 0, candidates: this.#cands.size };
    this.#runRound(now);
    // after the first attempt's opens: the peer may PING us as soon as it reads this
    if (withCallMeMaybe) this.#sendCallMeMaybe();
  }

  #runRound(now: number): void {
    const r = this.#round!;
    const t = this.timings;
    if (r.attemptsLeft > 0 && now >= r.nextAt) {
      for (const c of this.#cands.values()) {
        if (r.made > 0 || this.#peerOpen(c, now)) this.#ping(c, now, 'probe');
        else if (now - (c.openedAt ?? -Infinity) >= t.openRefreshMs) this.#open(c, now);
      }
      r.made++;
      r.attemptsLeft--;
      r.nextAt = now + t.probeIntervalMs;
      if (r.attemptsLeft === 0) r.endAt = now + t.pongTimeoutMs;
    }
    if (r.attemptsLeft === 0 && now >= r.endAt) {
      this.#round = undefined;
      if (this.#lastRound) {
        this.#lastRound.endedAt = now;
        this.#lastRound.candidates = this.#cands.size;
      }
      if (this.#state !== 'direct') {
        this.#state = 'relay';
        this.#failedAt = now;
        this.#reprobeAt = now + t.reprobeMinMs + this.#random() * (t.reprobeMaxMs - t.reprobeMinMs);
      }
    }
  }
}

function dedupe(xs: readonly string[]): string[] {
  return [...new Set(xs)];
}
