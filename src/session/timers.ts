// Every WireGuard timer of one peer (whitepaper §6; wireguard-go device/timers.go), on the
// injected Clock, with one hook per protocol event. The peer calls the hooks; the timers call
// back through TimerActions. Also the age and count rules that decide rekeying and rejection, so
// that all of the session's timing lives in this file.
//
//   timer                 armed by                                   fires after          then
//   retransmitHandshake   handshakeInitiated                         5 s + jitter         retry; give up when
//                                                                                         attempts > 18
//   sendKeepalive         dataReceived (if not pending);             10 s                 keepalive
//                         disarmed by anyAuthenticatedPacketSent
//   newHandshake          dataSent (if not pending);                 15 s + jitter        new handshake
//                         disarmed by anyAuthenticatedPacketReceived
//   zeroKeyMaterial       sessionDerived; give-up (if not pending)    540 s                zero all keys
//   persistentKeepalive   anyAuthenticatedPacketTraversal            the interval         keepalive
//
// Giving up: the retransmit timer counts retries; at the expiry where more than
// MAX_TIMER_HANDSHAKES (18) retries have already been sent, it flushes the staged packets and
// stops. That is 1 + 19 = 20 initiations, the last expiry 20 × (5 s + jitter) after the first,
// exactly as wireguard-go and the Linux module do ("after 20 attempts, giving up").
import { Timer, type Clock } from '../clock/index.ts';
import {
  KEEPALIVE_TIMEOUT,
  MAX_TIMER_HANDSHAKES,
  REJECT_AFTER_MESSAGES,
  REJECT_AFTER_TIME,
  REKEY_AFTER_MESSAGES,
  REKEY_AFTER_TIME,
  REKEY_TIMEOUT,
} from './constants.ts';
import type { Keypair } from './keypair.ts';

/** What the timers do to their peer. */
export interface TimerActions {
  sendKeepalive(): void;
  sendHandshakeInitiation(isRetry: boolean): void;
  flushStaged(): void;
  zeroAndFlushAll(): void;
  /** Told when the handshake is given up (for events). */
  handshakeGaveUp(attempts: number): void;
  newHandshakeAfterSilence(): void;
}

export class PeerTimers {
  readonly #clock: Clock;
  readonly #jitter: () => number;
  readonly #do: TimerActions;
  readonly retransmitHandshake: Timer;
  readonly sendKeepalive: Timer;
  readonly newHandshake: Timer;
  readonly zeroKeyMaterial: Timer;
  readonly persistentKeepalive: Timer;
  handshakeAttempts = 0;
  needAnotherKeepalive = false;
  sentLastMinuteHandshake = false;
  /** Persistent keepalive interval in ms; 0 disables it. */
  persistentKeepaliveMs: number;
  #running = true;

  constructor(clock: Clock, actions: TimerActions, jitter: () => number, persistentKeepaliveMs = 0) {
    this.#clock = clock;
    this.#do = actions;
    this.#jitter = jitter;
    this.persistentKeepaliveMs = persistentKeepaliveMs;
    this.retransmitHandshake = new Timer(clock, () => this.#expiredRetransmitHandshake());
    this.sendKeepalive = new Timer(clock, () => this.#expiredSendKeepalive());
    this.newHandshake = new Timer(clock, () => this.#expiredNewHandshake());
    this.zeroKeyMaterial = new Timer(clock, () => this.#do.zeroAndFlushAll());
    this.persistentKeepalive = new Timer(clock, () => {
      if (this.persistentKeepaliveMs > 0) this.#do.sendKeepalive();
    });
  }

  // ---- expirations

  #expiredRetransmitHandshake(): void {
    if (this.handshakeAttempts > MAX_TIMER_HANDSHAKES) {
      if (this.#running) this.sendKeepalive.del();
      this.#do.flushStaged();
      if (this.#running && !this.zeroKeyMaterial.pending) this.zeroKeyMaterial.mod(REJECT_AFTER_TIME * 3);
      this.#do.handshakeGaveUp(this.handshakeAttempts + 1);
    } else {
      this.handshakeAttempts++;
      this.#do.sendHandshakeInitiation(true);
    }
  }

  #expiredSendKeepalive(): void {
    this.#do.sendKeepalive();
    if (this.needAnotherKeepalive) {
      this.needAnotherKeepalive = false;
      if (this.#running) this.sendKeepalive.mod(KEEPALIVE_TIMEOUT);
    }
  }

  #expiredNewHandshake(): void {
    this.#do.newHandshakeAfterSilence();
    this.#do.sendHandshakeInitiation(false);
  }

  // ---- hooks, one per protocol event

  /** After an authenticated data (non-keepalive) message is sent. */
  dataSent(): void {
    if (this.#running && !this.newHandshake.pending)
      this.newHandshake.mod(KEEPALIVE_TIMEOUT + REKEY_TIMEOUT + this.#jitter());
  }

  /** After an authenticated data (non-keepalive) message is received. */
  dataReceived(): void {
    if (!this.#running) return;
    if (!this.sendKeepalive.pending) this.sendKeepalive.mod(KEEPALIVE_TIMEOUT);
    else this.needAnotherKeepalive = true;
  }

  /** After any authenticated message is sent: keepalive, data or handshake. */
  anyAuthenticatedPacketSent(): void {
    if (this.#running) this.sendKeepalive.del();
  }

  /** After any authenticated message is received: keepalive, data or handshake. */
  anyAuthenticatedPacketReceived(): void {
    if (this.#running) this.newHandshake.del();
  }

  /** After an initiation is sent. */
  handshakeInitiated(): void {
    if (this.#running) this.retransmitHandshake.mod(REKEY_TIMEOUT + this.#jitter());
  }

  /** After a response is processed (initiator) or the first data under `next` (responder). */
  handshakeComplete(): void {
    if (this.#running) this.retransmitHandshake.del();
    this.handshakeAttempts = 0;
    this.sentLastMinuteHandshake = false;
  }

  /** After a keypair is derived: before sending a response or after receiving one. */
  sessionDerived(): void {
    if (this.#running) this.zeroKeyMaterial.mod(REJECT_AFTER_TIME * 3);
  }

  /** Before any authenticated message is sent, or after one is received. */
  anyAuthenticatedPacketTraversal(): void {
    if (this.#running && this.persistentKeepaliveMs > 0)
      this.persistentKeepalive.mod(this.persistentKeepaliveMs);
  }

  // ---- the age and count rules

  /** True when `kp` may still send: under REJECT_AFTER_MESSAGES and younger than REJECT_AFTER_TIME. */
  canSendWith(kp: Keypair): boolean {
    return kp.sendNonce < REJECT_AFTER_MESSAGES && this.#clock.now() - kp.created < REJECT_AFTER_TIME;
  }

  /** True when messages under `kp` must be refused: older than REJECT_AFTER_TIME. */
  expired(kp: Keypair): boolean {
    return this.#clock.now() - kp.created > REJECT_AFTER_TIME;
  }

  /** After sending under current: rekey past REKEY_AFTER_MESSAGES, or (initiator) REKEY_AFTER_TIME. */
  shouldRekeyAfterSend(kp: Keypair): boolean {
    return (
      kp.sendNonce > REKEY_AFTER_MESSAGES ||
      (kp.isInitiator && this.#clock.now() - kp.created > REKEY_AFTER_TIME)
    );
  }

  /**
   * After receiving: the initiator rekeys once when current is older than
   * REJECT_AFTER_TIME − KEEPALIVE_TIMEOUT − REKEY_TIMEOUT (165 s), lest it expire mid-conversation.
   */
  shouldRekeyAfterReceive(kp: Keypair | undefined): boolean {
    if (this.sentLastMinuteHandshake || !kp || !kp.isInitiator) return false;
    if (this.#clock.now() - kp.created <= REJECT_AFTER_TIME - KEEPALIVE_TIMEOUT - REKEY_TIMEOUT) return false;
    this.sentLastMinuteHandshake = true;
    return true;
  }

  /** True when an initiation was sent less than REKEY_TIMEOUT ago (then no new one is sent). */
  initiationTooSoon(lastSentHandshake: number): boolean {
    return this.#clock.now() - lastSentHandshake < REKEY_TIMEOUT;
  }

  get running(): boolean {
    return this.#running;
  }

  /** Disarms every timer; hooks do nothing afterwards. */
  stop(): void {
    this.#running = false;
    this.retransmitHandshake.del();
    this.sendKeepalive.del();
    this.newHandshake.del();
    this.zeroKeyMaterial.del();
    this.persistentKeepalive.del();
  }
}
