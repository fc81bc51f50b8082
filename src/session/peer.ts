// One peer's session (wireguard-go device/peer.go, send.go, and the per-peer half of receive.go):
// its handshake, keypairs, staged packets and timers. Created by SessionHost.addPeer; the host
// hands it authenticated messages, and it sends through the host. It opens no sockets.
import type { PublicKey } from '../crypto/index.ts';
import type { Response } from '../proto/handshake/index.ts';
import type { Clock } from '../clock/index.ts';
import { CookieGenerator } from './cookie.ts';
import { MAX_STAGED_PACKETS } from './constants.ts';
import { sameEndpoint, type Endpoint } from '../proto/link/index.ts';
import type { SessionEvent } from './events.ts';
import { Handshake } from './handshake.ts';
import type { IndexTable } from './index-table.ts';
import { Keypair, Keypairs } from './keypair.ts';
import { PeerTimers, type TimerActions } from './timers.ts';
import type { PrivateKey } from '../crypto/index.ts';

const EMPTY = new Uint8Array(0);

/** An index table entry: a handshake in flight (no keypair) or a keypair. */
export interface IndexEntry {
  peer: PeerSession;
  keypair?: Keypair;
}

/** What a peer needs from its host. */
export interface PeerHost {
  readonly clock: Clock;
  readonly staticKey: PrivateKey;
  readonly padding: boolean;
  readonly jitter: () => number;
  readonly index: IndexTable<IndexEntry>;
  transmit(datagram: Uint8Array, to: Endpoint): void;
  deliver(peer: PeerSession, payload: Uint8Array, from: Endpoint): void;
  emit(ev: SessionEvent): void;
  drop(reason: string, n?: number): void;
}

export interface PeerOptions {
  /** 32-byte preshared key mixed into the handshake (WireGuard's PresharedKey). Default: 32 zero bytes. */
  presharedKey?: Uint8Array;
  /** Where to send until an authenticated message says otherwise. Default: unknown. */
  endpoint?: Endpoint;
  /** Persistent keepalive interval in ms (WireGuard's PersistentKeepalive × 1000). Default 0: off. */
  persistentKeepaliveMs?: number;
  /**
   * WireGuard's roaming: every authenticated message moves the peer's endpoint to where it came
   * from ('endpoint-changed'). Default true. False: the owner chooses the endpoint; the session
   * only reports a change of source ('source-changed') and never moves it.
   */
  roam?: boolean;
}

export interface PeerStats {
  /** Wall-clock ms of the last completed handshake. */
  lastHandshakeWallMs?: number;
  /** Bytes of authenticated messages sent and received, handshakes included (whole datagrams, as wireguard-go counts). */
  txBytes: number;
  rxBytes: number;
  /** Payload messages sent and received (keepalives not included). */
  txPackets: number;
  rxPackets: number;
  /** Initiations sent, in total. */
  handshakeAttempts: number;
}

/** A snapshot of the keypair slots, for tests and status. */
export interface KeypairInfo {
  localIndex: number;
  remoteIndex: number;
  isInitiator: boolean;
  createdAt: number;
  sendNonce: bigint;
}

function info(kp: Keypair | undefined): KeypairInfo | undefined {
  return (
    kp && {
      localIndex: kp.localIndex,
      remoteIndex: kp.remoteIndex,
      isInitiator: kp.isInitiator,
      createdAt: kp.created,
      sendNonce: kp.sendNonce,
    }
  );
}

export class PeerSession implements TimerActions {
  readonly publicKey: PublicKey;
  endpoint: Endpoint | undefined;
  readonly stats: PeerStats = { txBytes: 0, rxBytes: 0, txPackets: 0, rxPackets: 0, handshakeAttempts: 0 };
  /** @internal */ readonly handshake: Handshake;
  /** @internal */ readonly cookies: CookieGenerator;
  /** @internal */ readonly keypairs: Keypairs;
  /** @internal */ readonly timers: PeerTimers;
  readonly #host: PeerHost;
  readonly #staged: Uint8Array[] = [];
  readonly #roam: boolean;
  /** Where the last authenticated message came from. */
  #source: Endpoint | undefined;
  #stopped = false;

  /** @internal Use SessionHost.addPeer. */
  constructor(host: PeerHost, key: PublicKey, opts: PeerOptions = {}) {
    this.#host = host;
    this.publicKey = key;
    this.endpoint = opts.endpoint;
    this.#roam = opts.roam ?? true;
    this.handshake = new Handshake(host.staticKey, key, opts.presharedKey ?? new Uint8Array(32));
    this.cookies = new CookieGenerator(host.clock, key);
    this.keypairs = new Keypairs((kp) => {
      host.index.delete(kp.localIndex);
      kp.zero();
    });
    this.timers = new PeerTimers(host.clock, this, host.jitter, opts.persistentKeepaliveMs ?? 0);
  }

  // ---- public surface

  /**
   * Encrypts and sends a payload to `via` (default: the peer's endpoint); stages it (bounded queue)
   * and starts a handshake if there is no usable keypair. A staged payload goes to the peer's
   * endpoint when the keypair comes, whatever its `via` was: harmless for the path layer's probes,
   * which are unreliable by nature.
   */
  send(payload: Uint8Array, via?: Endpoint): void {
    if (this.#stopped) return this.#host.drop('peer-stopped');
    if (payload.length === 0) return this.#host.drop('empty-payload');
    const kp = this.keypairs.current;
    if (kp !== undefined && this.timers.canSendWith(kp)) {
      // Payloads staged before the keypair came go first (to the endpoint); then this one, to `via`.
      if (this.#staged.length > 0) this.sendStaged();
      if (this.#staged.length === 0) return this.#sendWith(kp, payload, via);
    }
    this.#stage(new Uint8Array(payload));
    this.sendStaged();
  }

  /** Starts a handshake now (subject to WireGuard's rate rules: one initiation per 5 s). */
  initiateHandshake(): void {
    this.sendHandshakeInitiation(false);
  }

  /** Packets waiting for a keypair. */
  get stagedCount(): number {
    return this.#staged.length;
  }

  /** The keypair slots (no key material). */
  keypairInfo(): { previous?: KeypairInfo; current?: KeypairInfo; next?: KeypairInfo } {
    const { previous, current, next } = this.keypairs;
    return { previous: info(previous), current: info(current), next: info(next) };
  }

  /**
   * Sets the persistent keepalive interval (ms; 0 turns it off). Turning it on sends a keepalive
   * at once (starting a handshake if needed), as wireguard-go does when it is configured.
   */
  setPersistentKeepalive(ms: number): void {
    const was = this.timers.persistentKeepaliveMs;
    this.timers.persistentKeepaliveMs = ms;
    if (ms <= 0) this.timers.persistentKeepalive.del();
    else if (was <= 0) this.sendKeepalive();
  }

  /** Sets the preshared key used by the next handshake. */
  setPresharedKey(psk: Uint8Array | undefined): void {
    this.handshake.psk = psk ?? new Uint8Array(32);
  }

  // ---- sending (send.go)

  #stage(p: Uint8Array): void {
    if (this.#staged.length >= MAX_STAGED_PACKETS) {
      this.#staged.shift();
      this.#host.drop('staged-overflow');
    }
    this.#staged.push(p);
  }

  #sendWith(kp: Keypair, payload: Uint8Array, via?: Endpoint): void {
    const msg = kp.seal(payload, this.#host.padding);
    kp.sendNonce++;
    this.timers.anyAuthenticatedPacketTraversal();
    this.timers.anyAuthenticatedPacketSent();
    this.#transmit(msg, via);
    if (payload.length > 0) {
      this.stats.txPackets++;
      this.timers.dataSent();
    }
    if (this.timers.shouldRekeyAfterSend(kp)) this.sendHandshakeInitiation(false);
  }

  /** Sends the staged packets under current, or starts a handshake when there is no usable keypair. */
  sendStaged(): void {
    if (this.#stopped) return;
    for (;;) {
      const kp = this.keypairs.current;
      if (kp === undefined || !this.timers.canSendWith(kp)) {
        this.sendHandshakeInitiation(false);
        return;
      }
      while (this.#staged.length > 0 && this.timers.canSendWith(kp))
        this.#sendWith(kp, this.#staged.shift()!);
      if (this.#staged.length === 0) return;
    }
  }

  /** A keepalive (an empty transport message) unless packets are already waiting. */
  sendKeepalive(): void {
    if (this.#stopped) return;
    if (this.#staged.length === 0) this.#staged.push(EMPTY);
    this.sendStaged();
  }

  sendHandshakeInitiation(isRetry: boolean): void {
    if (!isRetry) this.timers.handshakeAttempts = 0;
    if (this.#stopped || this.timers.initiationTooSoon(this.handshake.lastSentHandshake)) return;
    const host = this.#host;
    this.handshake.lastSentHandshake = host.clock.now();
    host.index.delete(this.handshake.localIndex);
    this.handshake.localIndex = undefined;
    const index = host.index.add({ peer: this });
    const msg = this.handshake.createInitiation(index, host.clock.wallMs());
    if (!msg) {
      host.index.delete(index);
      return host.drop('bad-peer-key');
    }
    this.cookies.addMacs(msg);
    this.stats.handshakeAttempts++;
    this.timers.anyAuthenticatedPacketTraversal();
    this.timers.anyAuthenticatedPacketSent();
    this.#transmit(msg);
    this.timers.handshakeInitiated();
    host.emit({ type: 'handshake-initiated', peer: this, attempt: this.timers.handshakeAttempts + 1 });
  }

  #sendHandshakeResponse(): void {
    const host = this.#host;
    const now = host.clock.now();
    this.handshake.lastSentHandshake = now;
    host.index.delete(this.handshake.localIndex);
    this.handshake.localIndex = undefined;
    const index = host.index.add({ peer: this });
    const r = this.handshake.createResponse(index);
    if (!r) {
      host.index.delete(index);
      return host.drop('bad-initiation');
    }
    this.cookies.addMacs(r.message);
    const kp = new Keypair(r.keys, false, now, index, this.handshake.remoteIndex);
    host.index.replace(index, { peer: this, keypair: kp });
    this.keypairs.install(kp);
    this.timers.sessionDerived();
    this.timers.anyAuthenticatedPacketTraversal();
    this.timers.anyAuthenticatedPacketSent();
    this.#transmit(r.message);
    host.emit({ type: 'handshake-responded', peer: this });
  }

  #transmit(msg: Uint8Array, via: Endpoint | undefined = this.endpoint): void {
    if (via === undefined) return this.#host.drop('no-endpoint');
    this.stats.txBytes += msg.length;
    this.#host.transmit(msg, via);
  }

  // ---- receiving (the host has authenticated these)

  /** Where the last authenticated message came from (undefined before the first). */
  get source(): Endpoint | undefined {
    return this.#source;
  }

  #setEndpoint(from: Endpoint): void {
    if (this.#roam) {
      this.#source = from;
      if (sameEndpoint(from, this.endpoint)) return;
      const old = this.endpoint;
      this.endpoint = from;
      this.#host.emit({ type: 'endpoint-changed', peer: this, from: old, to: from });
      return;
    }
    if (sameEndpoint(from, this.#source)) return;
    const old = this.#source;
    this.#source = from;
    this.#host.emit({ type: 'source-changed', peer: this, from: old, to: from });
  }

  /** @internal An initiation from this peer was accepted by its handshake. */
  onInitiation(from: Endpoint, size: number): void {
    if (this.#stopped) return;
    this.stats.rxBytes += size;
    this.#setEndpoint(from);
    this.timers.anyAuthenticatedPacketTraversal();
    this.timers.anyAuthenticatedPacketReceived();
    this.#sendHandshakeResponse();
  }

  /** @internal A response to our initiation; returns a drop reason when it does not authenticate. */
  onResponse(msg: Uint8Array, m: Response, from: Endpoint): string | undefined {
    if (this.#stopped) return 'peer-stopped';
    const keys = this.handshake.consumeResponse(msg, m);
    if (!keys) return 'bad-response';
    const host = this.#host;
    this.stats.rxBytes += msg.length;
    this.#setEndpoint(from);
    this.timers.anyAuthenticatedPacketTraversal();
    this.timers.anyAuthenticatedPacketReceived();
    const index = this.handshake.localIndex!;
    this.handshake.localIndex = undefined;
    const kp = new Keypair(keys, true, host.clock.now(), index, m.senderIndex);
    host.index.replace(index, { peer: this, keypair: kp });
    this.keypairs.install(kp);
    this.timers.sessionDerived();
    this.timers.handshakeComplete();
    this.stats.lastHandshakeWallMs = host.clock.wallMs();
    host.emit({ type: 'handshake-complete', peer: this, role: 'initiator' });
    this.sendKeepalive();
    return undefined;
  }

  /** @internal An authenticated, fresh transport message under `kp`. */
  onTransport(kp: Keypair, payload: Uint8Array, from: Endpoint, size: number): void {
    if (this.#stopped) return;
    const host = this.#host;
    this.#setEndpoint(from);
    if (this.keypairs.receivedWith(kp)) {
      this.timers.handshakeComplete();
      this.stats.lastHandshakeWallMs = host.clock.wallMs();
      host.emit({ type: 'handshake-complete', peer: this, role: 'responder' });
      this.sendStaged();
    }
    if (this.timers.shouldRekeyAfterReceive(this.keypairs.current)) this.sendHandshakeInitiation(false);
    this.timers.anyAuthenticatedPacketTraversal();
    this.timers.anyAuthenticatedPacketReceived();
    this.stats.rxBytes += size;
    if (payload.length === 0) return;
    this.stats.rxPackets++;
    this.timers.dataReceived();
    host.deliver(this, payload, from);
  }

  /** @internal A cookie reply to our last handshake message. */
  onCookieReply(): void {
    this.#host.emit({ type: 'cookie-received', peer: this });
  }

  // ---- timer actions

  flushStaged(): void {
    if (this.#staged.length) this.#host.drop('staged-flushed', this.#staged.length);
    this.#staged.length = 0;
  }

  zeroAndFlushAll(): void {
    this.#zero();
    this.#host.emit({ type: 'keys-zeroed', peer: this });
  }

  handshakeGaveUp(attempts: number): void {
    this.#host.emit({ type: 'handshake-give-up', peer: this, attempts });
  }

  newHandshakeAfterSilence(): void {
    this.#host.emit({ type: 'handshake-stale', peer: this });
  }

  #zero(): void {
    this.keypairs.clear();
    this.#host.index.delete(this.handshake.localIndex);
    this.handshake.localIndex = undefined;
    this.handshake.clear();
    this.flushStaged();
  }

  /** @internal Stops every timer and zeroes all keys (removePeer, SessionHost.stop). */
  stop(): void {
    this.#stopped = true;
    this.timers.stop();
    this.#zero();
    this.handshake.destroy();
  }
}
