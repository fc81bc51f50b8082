// The driver of one peer's path choice (path-choice.ts): it carries the machine's actions out and
// feeds it what happens.
//
//   PathChoice ──ping/pong──► sendFrame(PATH_PING|PATH_PONG, endpoint)   encrypted session datagram
//              ──call-me-maybe──► sendFrame(CALL_ME_MAYBE, relay endpoint)   through the relay
//              ──switch──► PeerSession.endpoint = direct endpoint | relay endpoint
//                          connection.pathChanged(datagram size of the new path)
//   onPathFrame(frame, from) ──► onPing / onPong / onCallMeMaybe
//   onSourceChanged(to)     ──► onSourceSeen
//
// Path frames travel inside the WireGuard session, so probes are authenticated: a PONG proves the
// peer's key answered from that endpoint. The path layer owns the peer's endpoint: its session
// runs without roaming (PeerOptions.roam false) and reports a new source, which the machine takes
// as a source seen (how a NAT rebinding shows up). Endpoints are typed values (session/endpoint.ts);
// the machine names candidates by their text, and this driver keeps the value of each name it
// handed out or was handed, so nothing per datagram parses text.
import type { Logger } from 'pino';
import type { Clock } from '../clock/index.ts';
import type { PathFrame } from '../proto/frames/index.ts';
import { randomBytes } from '../crypto/index.ts';
import { TXID_BYTES } from '../proto/frames/index.ts';
import { toHex } from '../util/index.ts';
import { directEndpoint, sameEndpoint, type Endpoint, type RelayEndpoint } from '../proto/link/index.ts';
import { canonicalAddress, toDirectEndpoint } from './endpoint.ts';
import {
  DIRECT_DATAGRAM_SIZE,
  PathChoice,
  type ActivePath,
  type PathAction,
  type PathChoiceOptions,
  type PathChoiceStatus,
  type PathState,
  type SwitchReason,
} from './path-choice.ts';
import { Wakeup } from './timers.ts';

/** What the driver needs of a peer's session (PeerSession has it). */
export interface PathPeer {
  endpoint: Endpoint | undefined;
}

/** What the driver needs of a stream connection. */
export interface PathConnection {
  pathChanged(maxDatagramSize?: number): void;
}

/**
 * Stream-layer datagram size every direct UDP path carries. 1200 = 1280 (the IPv6 minimum MTU, RFC
 * 8200 §5) − 40 (IPv6) − 8 (UDP) − 32 (WireGuard header and tag), padded to 16 as WireGuard pads.
 * Larger sizes are proven per path (PathChoiceOptions.datagramSizes). The caller subtracts its own
 * link header if it has one.
 */
export { DIRECT_DATAGRAM_SIZE };

export interface PeerPathsOptions extends PathChoiceOptions {
  clock: Clock;
  /** The peer's session (PeerSession): its endpoint is set here. */
  peer: PathPeer;
  /**
   * Sends one path frame to the peer at `to`, inside the session (PeerSession.send(payload, to));
   * `ttl`: with this IP TTL (an open, see path-choice.ts) — a driver that cannot set it sends nothing.
   */
  sendFrame(frame: PathFrame, to: Endpoint, ttl?: number, padTo?: number): void;
  /**
   * A number that grows while the peer's traffic flows (the session's bytes sent): heartbeats are
   * padded to the path's datagram size only while it does. Default: never busy.
   */
  activity?(): number;
  /** The peer's relay endpoint, or undefined when no relay is up. */
  relayEndpoint(): RelayEndpoint | undefined;
  /** The peer's stream connection now (a function: connections are replaced). */
  connection?(): PathConnection | undefined;
  /** Stream datagram size for a path; default DIRECT_DATAGRAM_SIZE direct, relayDatagramSize relayed. */
  datagramSize?(path: ActivePath): number;
  /** Stream datagram size over the relay; default DIRECT_DATAGRAM_SIZE. */
  relayDatagramSize?: number;
  /** The peer's endpoints from the netmap. */
  remoteCandidates?: readonly string[];
  /** Ours (Discovery.candidates()). */
  localCandidates?: readonly string[];
  /** Every path change, for logs and metrics (called after the switch took effect). */
  onChange?(change: PeerPathChange, status: PeerPathStatus): void;
  /** The peer saw us from a new address (a rebinding of our NAT): a hint to re-STUN. */
  onObserved?(endpoint: string, previous: string | undefined): void;
  logger?: Logger;
}

export type PeerPath =
  | { kind: 'direct'; endpoint: string; rttMs: number }
  | { kind: 'relay'; region: string | undefined; endpoint: string | undefined };

export interface PeerPathChange {
  from: PeerPath;
  to: PeerPath;
  reason: SwitchReason;
  /** Clock.now() and wall-clock ms of the change. */
  atMs: number;
  atWallMs: number;
}

/** For `sallyport status` and metrics. */
export interface PeerPathStatus {
  path: PeerPath;
  state: PathState;
  rttMs: number | undefined;
  lastChange: PeerPathChange | undefined;
  switches: number;
  candidates: PathChoiceStatus['candidates'];
  observedSelf: string | undefined;
  lastRound: PathChoiceStatus['lastRound'];
  /** Session payload size on the direct path (DIRECT_DATAGRAM_SIZE, or a larger one proven). */
  datagramSize: number;
  /** Relayed: when (Clock.now() ms) the next probe round starts. */
  reprobeAt: number | undefined;
  counters: PathChoiceStatus['counters'] & { 'frames-unsendable': number; 'call-me-maybe-no-relay': number };
}

/** Endpoint values kept by name at most (a peer has a few candidates; cleared when full). */
const MAX_NAMED = 256;

/** One diagnostic PING (`sallyport ping`): where it went, and its PONG's round trip (null: none in time). */
export interface PingResult {
  via: 'direct' | 'relay';
  /** "198.51.100.1:41641", or the relay's region. */
  to: string;
  rttMs: number | null;
}

/** A PONG to a PING that came through the relay carries this as `observed`: "no direct address". */
const NO_ADDRESS = Object.freeze({ address: '0.0.0.0', port: 0 });

/** Diagnostic PINGs awaiting a PONG at most. */
const MAX_DIAGNOSTIC_PINGS = 64;

export class PeerPaths {
  readonly #o: PeerPathsOptions;
  readonly #diag = new Map<string, { sentAt: number; done: (rttMs: number | null) => void }>();
  readonly #pc: PathChoice;
  readonly #wake: Wakeup;
  /** The value of each direct endpoint name the machine uses (its candidates, sources seen). */
  readonly #named = new Map<string, Endpoint>();
  #lastChange: PeerPathChange | undefined;
  #stopped = false;
  #started = false;
  #activity: number | undefined;
  #unsendable = 0;
  #noRelay = 0;

  constructor(o: PeerPathsOptions) {
    this.#o = o;
    this.#pc = new PathChoice(o);
    this.#wake = new Wakeup(o.clock, () => {
      const a = o.activity?.();
      this.#pc.setBusy(a !== undefined && a !== this.#activity);
      this.#activity = a;
      this.#run(this.#pc.tick(o.clock.now()));
    });
    // before start() these only record the lists (no actions come back)
    if (o.localCandidates) this.#pc.setLocalCandidates(o.localCandidates, o.clock.now());
    if (o.remoteCandidates) this.#pc.setRemoteCandidates(o.remoteCandidates, o.clock.now());
  }

  /**
   * Starts probing (the peer starts on the relay). Call it once the session is up (SessionEvent
   * 'handshake-complete'): a path frame sent before would make the other side start a handshake
   * too, and crossing initiations cost WireGuard a 5 s retry. Later calls do nothing.
   */
  start(): void {
    if (this.#started || this.#stopped) return;
    this.#started = true;
    this.#assertEndpoint();
    this.#run(this.#pc.start(this.#o.clock.now()));
  }

  /** Stops every timer; the session keeps its endpoint. */
  stop(): void {
    this.#stopped = true;
    this.#wake.stop();
    for (const d of [...this.#diag.values()]) d.done(null);
    this.#diag.clear();
  }

  /** A path frame from the peer, carried by a session datagram that came from `from`. */
  onPathFrame(frame: PathFrame, from: Endpoint): void {
    if (this.#stopped) return;
    const now = this.#o.clock.now();
    switch (frame.type) {
      case 'path_ping':
        // over the relay: not a path (the machine counts it), but answered, for the peer's
        // `sallyport ping` to measure the relayed round trip
        if (from.kind !== 'direct')
          this.#send({ type: 'path_pong', txid: frame.txid, observed: NO_ADDRESS }, from);
        else this.#remember(from);
        return this.#run(this.#pc.onPing(frame.txid, from, now));
      case 'path_pong': {
        const d = this.#diag.get(toHex(frame.txid));
        if (d) {
          this.#diag.delete(toHex(frame.txid));
          return d.done(now - d.sentAt);
        }
        const a = canonicalAddress(frame.observed.address);
        const observed = a === undefined ? undefined : directEndpoint(a, frame.observed.port);
        return this.#run(this.#pc.onPong(frame.txid, from, observed, now));
      }
      case 'call_me_maybe':
        return this.#run(
          this.#pc.onCallMeMaybe(
            frame.candidates.map(
              (c) => directEndpoint(canonicalAddress(c.address) ?? c.address, c.port).name,
            ),
            now,
          ),
        );
    }
  }

  /**
   * The peer's datagrams now come from `to` (SessionEvent 'source-changed'): a direct source is
   * news for path choice. The session did not move the endpoint (no roaming).
   */
  onSourceChanged(to: Endpoint): void {
    if (this.#stopped) return;
    if (to.kind === 'direct') this.#remember(to);
    // Later: the machine may PING `to`, which must not re-enter the session while it is still
    // handling the datagram that came from there.
    queueMicrotask(() => {
      if (this.#stopped) return;
      this.#run(this.#pc.onSourceSeen(to, this.#o.clock.now()));
    });
  }

  /**
   * Diagnosis (`sallyport ping`): one PING over the path the peer's traffic takes now (the direct
   * endpoint, or the relay), answered by the peer's driver; resolves with the round trip, or null
   * after `timeoutMs`. It changes nothing in path choice.
   */
  ping(timeoutMs: number): Promise<PingResult> {
    const to = this.#wanted();
    const p = this.#pc.path;
    const via: PingResult['via'] = p.kind === 'direct' ? 'direct' : 'relay';
    const label = p.kind === 'direct' ? p.endpoint : to?.kind === 'relay' ? to.region : '?';
    if (to === undefined || this.#stopped || this.#diag.size >= MAX_DIAGNOSTIC_PINGS)
      return Promise.resolve({ via, to: label, rttMs: null });
    const txid = randomBytes(TXID_BYTES);
    const key = toHex(txid);
    return new Promise((resolve) => {
      const timer = this.#o.clock.setTimeout(() => {
        this.#diag.delete(key);
        resolve({ via, to: label, rttMs: null });
      }, timeoutMs);
      this.#diag.set(key, {
        sentAt: this.#o.clock.now(),
        done: (rttMs) => {
          this.#o.clock.clearTimeout(timer);
          resolve({ via, to: label, rttMs });
        },
      });
      this.#send({ type: 'path_ping', txid }, to);
    });
  }

  /** Session payload size the peer's traffic may use now: the direct path's, or undefined when relayed. */
  datagramSize(): number | undefined {
    return this.#pc.path.kind === 'direct' ? this.#pc.datagramSize : undefined;
  }

  /** Diagnosis: a probe round now (PathChoice.probeNow). */
  probeNow(): void {
    if (!this.#stopped) this.#run(this.#pc.probeNow(this.#o.clock.now()));
  }

  setLocalCandidates(endpoints: readonly string[]): void {
    if (!this.#stopped) this.#run(this.#pc.setLocalCandidates(endpoints, this.#o.clock.now()));
  }

  setRemoteCandidates(endpoints: readonly string[]): void {
    if (!this.#stopped) this.#run(this.#pc.setRemoteCandidates(endpoints, this.#o.clock.now()));
  }

  /** The relay endpoint changed (home relay moved, relay reconnected): re-point a relayed peer. */
  relayChanged(): void {
    if (!this.#stopped) this.#assertEndpoint();
  }

  status(): PeerPathStatus {
    const s = this.#pc.status();
    const path = this.#peerPath(s.path);
    return {
      path,
      state: s.state,
      rttMs: path.kind === 'direct' ? path.rttMs : undefined,
      lastChange: this.#lastChange,
      switches: s.switches,
      candidates: s.candidates,
      observedSelf: s.observedSelf,
      lastRound: s.lastRound,
      datagramSize: s.datagramSize,
      reprobeAt: s.reprobeAt,
      counters: {
        ...s.counters,
        'frames-unsendable': this.#unsendable,
        'call-me-maybe-no-relay': this.#noRelay,
      },
    };
  }

  /** The machine itself (tests and debugging). */
  get choice(): PathChoice {
    return this.#pc;
  }

  // ---------------------------------------------------------------- internals

  #peerPath(p: ActivePath): PeerPath {
    if (p.kind === 'direct') return p;
    const ep = this.#o.relayEndpoint();
    return { kind: 'relay', region: ep?.region, endpoint: ep?.name };
  }

  #wanted(): Endpoint | undefined {
    const p = this.#pc.path;
    return p.kind === 'direct' ? this.#endpoint(p.endpoint) : this.#o.relayEndpoint();
  }

  #assertEndpoint(): void {
    const want = this.#wanted();
    if (want !== undefined && !sameEndpoint(this.#o.peer.endpoint, want)) this.#o.peer.endpoint = want;
  }

  #remember(e: Endpoint): void {
    if (this.#named.get(e.name) === e) return;
    if (this.#named.size >= MAX_NAMED) this.#named.clear();
    this.#named.set(e.name, e);
  }

  /** The value of a direct endpoint's name (made once from its text: a candidate new to us). */
  #endpoint(name: string): Endpoint | undefined {
    const hit = this.#named.get(name);
    if (hit !== undefined) return hit;
    const e = toDirectEndpoint(name);
    if (e !== undefined) this.#remember(e);
    return e;
  }

  #send(frame: PathFrame, to: Endpoint | string, ttl?: number, padTo?: number): void {
    const ep = typeof to === 'string' ? this.#endpoint(to) : to;
    if (ep === undefined) return void this.#unsendable++;
    try {
      this.#o.sendFrame(frame, ep, ttl, padTo);
    } catch {
      this.#unsendable++;
    }
  }

  #run(actions: PathAction[]): void {
    for (const a of actions) {
      switch (a.type) {
        case 'ping':
          this.#send({ type: 'path_ping', txid: a.txid }, a.to, a.ttl, a.padTo);
          break;
        case 'datagram-size':
          this.#o.connection?.()?.pathChanged(a.size);
          this.#o.logger?.info({ size: a.size, path: this.#wanted() }, 'direct path datagram size');
          break;
        case 'pong': {
          const observed = this.#endpoint(a.observed);
          if (observed?.kind === 'direct')
            this.#send(
              { type: 'path_pong', txid: a.txid, observed: { address: observed.addr, port: observed.port } },
              a.to,
            );
          break;
        }
        case 'call-me-maybe': {
          const relay = this.#o.relayEndpoint();
          if (relay === undefined) {
            this.#noRelay++;
            break;
          }
          const candidates = [];
          for (const c of a.candidates) {
            const e = this.#endpoint(c);
            if (e?.kind === 'direct') candidates.push({ address: e.addr, port: e.port });
          }
          this.#send({ type: 'call_me_maybe', candidates }, relay);
          break;
        }
        case 'observed':
          this.#o.onObserved?.(a.endpoint, a.previous);
          break;
        case 'switch':
          this.#switched(a.from, a.to, a.reason, a.atMs);
          break;
      }
    }
    if (!this.#stopped) this.#wake.arm(this.#pc.nextWakeAt());
  }

  #switched(from: ActivePath, to: ActivePath, reason: SwitchReason, atMs: number): void {
    this.#assertEndpoint();
    const o = this.#o;
    const mds = o.datagramSize
      ? o.datagramSize(to)
      : to.kind === 'direct'
        ? DIRECT_DATAGRAM_SIZE
        : (o.relayDatagramSize ?? DIRECT_DATAGRAM_SIZE);
    o.connection?.()?.pathChanged(mds);
    const change: PeerPathChange = {
      from: this.#peerPath(from),
      to: this.#peerPath(to),
      reason,
      atMs,
      atWallMs: o.clock.wallMs(),
    };
    this.#lastChange = change;
    o.logger?.info(
      {
        from: describePath(change.from),
        to: describePath(change.to),
        reason,
        ...(to.kind === 'direct' ? { rttMs: to.rttMs } : {}),
      },
      'peer path changed',
    );
    o.onChange?.(change, this.status());
  }
}

/** "direct 198.51.100.1:41641" / "relay us-east", for logs and status lines. */
export function describePath(p: PeerPath): string {
  return p.kind === 'direct' ? `direct ${p.endpoint}` : `relay ${p.region ?? '?'}`;
}
