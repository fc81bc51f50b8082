// The host of many peer sessions under one static key (wireguard-go device/device.go and the
// dispatch half of receive.go): the peers, the receiver-index table, the cookie checker, the load
// meter and the rate limiter. `receive()` takes every datagram, checks it, and hands what
// authenticates to its peer; it never throws, and counts every drop by reason in `drops`.
//
//   datagram ─► type? ─1,2─► size ─► mac1 ─► under load? ─yes─► mac2? ─no─► cookie reply
//                  │                             │                 └yes─► rate limit ─┐
//                  │                             └no─────────────────────────────────┴─► handshake
//                  ├─3─► index ─► cookie generator of that peer
//                  └─4─► index ─► age ─► counter limit ─► AEAD open ─► replay window ─► peer
import type { Clock } from '../clock/index.ts';
import { randomBelow, type PrivateKey, type PublicKey } from '../crypto/index.ts';
import {
  MessageType,
  decodeCookieReply,
  decodeInitiation,
  decodeResponse,
  messageType,
  type Initiation,
  type Response,
} from '../proto/handshake/index.ts';
import { decodeTransport } from '../proto/transport/index.ts';
import { CookieChecker } from './cookie.ts';
import { REKEY_TIMEOUT_JITTER_MAX_MS } from './constants.ts';
import { SessionError } from './errors.ts';
import type { Endpoint } from '../proto/link/index.ts';
import type { SessionEvent } from './events.ts';
import { readInitiation, wireguardNoise } from './handshake.ts';
import { IndexTable } from './index-table.ts';
import { LoadMeter, DEFAULT_UNDER_LOAD_PER_SECOND } from './load.ts';
import { PeerSession, type IndexEntry, type PeerHost, type PeerOptions } from './peer.ts';
import { RateLimiter, type RateLimiterOptions } from './ratelimiter.ts';

export interface SessionHostOptions {
  clock: Clock;
  privateKey: PrivateKey;
  /** Sends one WireGuard message (types 1–4) to an endpoint. Must not throw. */
  send(datagram: Uint8Array, to: Endpoint): void;
  /** A decrypted, non-empty transport payload from an authenticated peer (padding included). */
  onPayload(peer: PeerSession, payload: Uint8Array, from: Endpoint): void;
  /** Session events (handshake complete, give-up, keys zeroed, roaming, cookies). Optional. */
  onEvent?(ev: SessionEvent): void;
  /** Pad payloads to a multiple of 16 with zeros, as WireGuard does. Default true. */
  padding?: boolean;
  /**
   * Handshake messages per second above which the host is under load and demands mac2
   * (answering with cookie replies) and rate-limits per source. Default 128 (see load.ts).
   */
  underLoadPerSecond?: number;
  /** Per-source rate limit applied under load. Default 20/s, burst 5, 4096 sources (ratelimiter.ts). */
  rateLimit?: RateLimiterOptions;
  /** Timer jitter in ms, uniform in [0, 334) by default; tests inject a fixed value. */
  jitterMs?: () => number;
}

// REJECT_AFTER_MESSAGES = 0xffffffff_ffffdfff: a counter at or above it has these halves.
const REJECT_HI = 0xffff_ffff;
const REJECT_LO = 0xffff_dfff;

export class SessionHost {
  /** Dropped datagrams and payloads by reason (the reasons are listed in index.ts). */
  readonly drops: Record<string, number> = {};
  readonly publicKey: PublicKey;
  readonly #peers = new Map<string, PeerSession>();
  readonly #index = new IndexTable<IndexEntry>();
  readonly #checker: CookieChecker;
  readonly #limiter: RateLimiter;
  readonly #load: LoadMeter;
  readonly #h1: Uint8Array;
  readonly #ctx: PeerHost;
  #stopped = false;

  constructor(opts: SessionHostOptions) {
    if (
      !opts.clock ||
      !opts.privateKey ||
      typeof opts.send !== 'function' ||
      typeof opts.onPayload !== 'function'
    )
      throw new SessionError('OPTION_INVALID', 'SessionHost needs clock, privateKey, send and onPayload');
    const clock = opts.clock;
    this.publicKey = opts.privateKey.publicKey;
    this.#checker = new CookieChecker(clock, this.publicKey);
    try {
      this.#limiter = new RateLimiter(clock, opts.rateLimit);
      this.#load = new LoadMeter(clock, opts.underLoadPerSecond ?? DEFAULT_UNDER_LOAD_PER_SECOND);
    } catch (cause) {
      throw new SessionError('OPTION_INVALID', String((cause as Error).message), { cause });
    }
    this.#h1 = wireguardNoise.preMessageHash(this.publicKey);
    const drop = (reason: string, n = 1): void => {
      this.drops[reason] = (this.drops[reason] ?? 0) + n;
    };
    this.#ctx = {
      clock,
      staticKey: opts.privateKey,
      padding: opts.padding ?? true,
      jitter: opts.jitterMs ?? (() => randomBelow(REKEY_TIMEOUT_JITTER_MAX_MS)),
      index: this.#index,
      transmit: (d, to) => {
        try {
          opts.send(d, to);
        } catch {
          drop('send-error');
        }
      },
      deliver: (peer, payload, from) => {
        try {
          opts.onPayload(peer, payload, from);
        } catch {
          drop('payload-handler-error');
        }
      },
      emit: (ev) => {
        try {
          opts.onEvent?.(ev);
        } catch {
          drop('event-handler-error');
        }
      },
      drop,
    };
  }

  addPeer(key: PublicKey, opts: PeerOptions = {}): PeerSession {
    if (this.#stopped) throw new SessionError('STOPPED', 'the session host was stopped');
    if (key.equals(this.publicKey)) throw new SessionError('PEER_SELF', 'a host cannot be its own peer');
    const id = key.base64();
    if (this.#peers.has(id)) throw new SessionError('PEER_EXISTS', `peer ${key.fingerprint()} already added`);
    if (opts.presharedKey && opts.presharedKey.length !== 32)
      throw new SessionError('OPTION_INVALID', 'presharedKey must be 32 bytes');
    if (opts.persistentKeepaliveMs !== undefined && !(opts.persistentKeepaliveMs >= 0))
      throw new SessionError('OPTION_INVALID', 'persistentKeepaliveMs must be >= 0');
    const peer = new PeerSession(this.#ctx, key, { ...opts, persistentKeepaliveMs: 0 });
    this.#peers.set(id, peer);
    if (opts.persistentKeepaliveMs) peer.setPersistentKeepalive(opts.persistentKeepaliveMs);
    return peer;
  }

  removePeer(key: PublicKey): void {
    const id = key.base64();
    this.#peers.get(id)?.stop();
    this.#peers.delete(id);
  }

  peer(key: PublicKey): PeerSession | undefined {
    return this.#peers.get(key.base64());
  }

  peers(): IterableIterator<PeerSession> {
    return this.#peers.values();
  }

  /** Test and operator hook: true/false overrides under-load detection, undefined measures again. */
  forceUnderLoad(on: boolean | undefined): void {
    this.#load.force(on);
  }

  get underLoad(): boolean {
    return this.#load.underLoad;
  }

  /** Sizes of the bounded state, for tests and status. */
  sizes(): { indexTable: number; rateLimiter: number; staged: number; peers: number } {
    let staged = 0;
    for (const p of this.#peers.values()) staged += p.stagedCount;
    return { indexTable: this.#index.size, rateLimiter: this.#limiter.size, staged, peers: this.#peers.size };
  }

  /** One datagram from the network. Never throws; drops are counted by reason in `drops`. */
  receive(datagram: Uint8Array, from: Endpoint): void {
    try {
      this.#receive(datagram, from);
    } catch {
      this.#ctx.drop('internal');
    }
  }

  /** Stops every timer and zeroes all keys. */
  stop(): void {
    this.#stopped = true;
    for (const p of this.#peers.values()) p.stop();
    this.#checker.clear();
    this.#limiter.clear();
    this.#index.clear();
  }

  #receive(d: Uint8Array, from: Endpoint): void {
    const drop = this.#ctx.drop;
    if (this.#stopped) return drop('stopped');
    switch (messageType(d)) {
      case MessageType.Transport:
        return this.#transport(d, from);
      case MessageType.Initiation: {
        const m = decodeInitiation(d);
        if (!m.ok) return drop('bad-length');
        if (this.#admit(d, m.msg.senderIndex, from)) this.#initiation(d, m.msg, from);
        return;
      }
      case MessageType.Response: {
        const m = decodeResponse(d);
        if (!m.ok) return drop('bad-length');
        if (this.#admit(d, m.msg.senderIndex, from)) this.#response(d, m.msg, from);
        return;
      }
      case MessageType.CookieReply:
        return this.#cookieReply(d);
      default:
        return drop(d.length < 4 ? 'short' : 'unknown-type');
    }
  }

  /**
   * The gate before any DH: mac1 always; under load also mac2 (else a cookie reply goes back)
   * and the per-source rate limit. True when the handshake message may be processed.
   */
  #admit(d: Uint8Array, senderIndex: number, from: Endpoint): boolean {
    const drop = this.#ctx.drop;
    const underLoad = this.#load.record();
    if (!this.#checker.checkMac1(d)) {
      drop('bad-mac1');
      return false;
    }
    if (!underLoad) return true;
    if (!this.#checker.checkMac2(d, from.name)) {
      this.#ctx.transmit(this.#checker.createReply(d, senderIndex, from.name), from);
      this.#ctx.emit({ type: 'cookie-sent', to: from });
      drop('cookie-sent');
      return false;
    }
    if (!this.#limiter.allow(from.name)) {
      drop('rate-limited');
      return false;
    }
    return true;
  }

  #initiation(d: Uint8Array, m: Initiation, from: Endpoint): void {
    const drop = this.#ctx.drop;
    let peer: PeerSession | undefined;
    let known = true;
    const r = readInitiation(this.#ctx.staticKey, d, m, this.#h1, (rs) => {
      peer = this.#peers.get(rs.base64());
      known = peer !== undefined;
      return peer?.handshake.staticStatic();
    });
    if (!known) return drop('unknown-peer');
    if (!r || !peer) return drop('bad-initiation');
    const why = peer.handshake.acceptInitiation(r, this.#ctx.clock.now());
    if (why) return drop(why);
    peer.onInitiation(from, d.length);
  }

  #response(d: Uint8Array, m: Response, from: Endpoint): void {
    const entry = this.#index.get(m.receiverIndex);
    if (!entry || entry.keypair) return this.#ctx.drop('unknown-index');
    const why = entry.peer.onResponse(d, m, from);
    if (why) this.#ctx.drop(why);
  }

  #cookieReply(d: Uint8Array): void {
    const drop = this.#ctx.drop;
    const r = decodeCookieReply(d);
    if (!r.ok) return drop('bad-length');
    const entry = this.#index.get(r.msg.receiverIndex);
    if (!entry) return drop('unknown-index');
    if (!entry.peer.cookies.consumeReply(r.msg)) return drop('bad-cookie');
    entry.peer.onCookieReply();
  }

  #transport(d: Uint8Array, from: Endpoint): void {
    const drop = this.#ctx.drop;
    const t = decodeTransport(d);
    if (!t.ok) return drop('bad-length');
    const m = t.msg;
    const entry = this.#index.get(m.receiverIndex);
    const kp = entry?.keypair;
    if (!entry || !kp) return drop('unknown-index');
    if (entry.peer.timers.expired(kp)) return drop('expired-keypair');
    if (m.counterHi === REJECT_HI && m.counterLo >= REJECT_LO) return drop('counter-limit');
    const payload = kp.open(m);
    if (!payload) return drop('bad-auth');
    if (!kp.replay.checkParts(m.counterHi, m.counterLo)) return drop('replay');
    entry.peer.onTransport(kp, payload, from, d.length);
  }
}
