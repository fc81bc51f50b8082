// mac1, mac2 and cookie replies (whitepaper §5.4.4, §5.4.7; wireguard-go device/cookie.go).
//
//   mac1 = MAC(HASH("mac1----" ‖ S_pub_receiver), msg[0 .. mac1 offset])   always checked
//   mac2 = MAC(cookie, msg[0 .. mac2 offset])                               checked under load
//   cookie = MAC(secret, source endpoint bytes)                             secret rotates every 120 s
//   cookie reply = XAEAD(HASH("cookie--" ‖ S_pub_receiver), random nonce, cookie, AD = msg's mac1)
//
// mac1 sits 32 bytes before the end of a handshake message and mac2 16 bytes before it, in both
// the initiation and the response. The source endpoint's bytes are the UTF-8 bytes of its
// Endpoint's name ("198.18.0.1:51820", "relay:us-east/<key>"): the cookie is opaque to its holder, so
// only its sender needs to agree with itself.
import type { Clock } from '../clock/index.ts';
import { type PublicKey, hash, mac, randomBytes, xopen, xseal } from '../crypto/index.ts';
import { encodeCookieReply, type CookieReply } from '../proto/handshake/index.ts';
import { equalBytes, wipe } from '../util/index.ts';
import { COOKIE_REFRESH_TIME, LABEL_COOKIE, LABEL_MAC1 } from './constants.ts';

const utf8 = new TextEncoder();
const MAC_LEN = 16;
const ZERO_MAC = new Uint8Array(MAC_LEN);

function macKeys(pub: PublicKey): { mac1Key: Uint8Array; cookieKey: Uint8Array } {
  return {
    mac1Key: hash(utf8.encode(LABEL_MAC1), pub.bytes),
    cookieKey: hash(utf8.encode(LABEL_COOKIE), pub.bytes),
  };
}

/** The receiving side: checks mac1/mac2 on handshake messages to us and makes cookie replies. */
export class CookieChecker {
  readonly #clock: Clock;
  readonly #mac1Key: Uint8Array;
  readonly #cookieKey: Uint8Array;
  readonly #secret = new Uint8Array(32);
  #secretSetAt = -Infinity;

  constructor(clock: Clock, ours: PublicKey) {
    this.#clock = clock;
    ({ mac1Key: this.#mac1Key, cookieKey: this.#cookieKey } = macKeys(ours));
  }

  /** True when the message's mac1 is right. `msg` is a whole handshake message (type 1 or 2). */
  checkMac1(msg: Uint8Array): boolean {
    const end = msg.length - 2 * MAC_LEN;
    return equalBytes(mac(this.#mac1Key, msg.subarray(0, end)), msg.subarray(end, end + MAC_LEN));
  }

  /** True when the message's mac2 is right for a cookie we gave `from` under the current secret. */
  checkMac2(msg: Uint8Array, from: string): boolean {
    if (this.#clock.now() - this.#secretSetAt > COOKIE_REFRESH_TIME) return false;
    const end = msg.length - MAC_LEN;
    const cookie = mac(this.#secret, utf8.encode(from));
    return equalBytes(mac(cookie, msg.subarray(0, end)), msg.subarray(end));
  }

  /** A cookie reply (type 3) to the handshake message `msg` from `from`; rotates a stale secret. */
  createReply(msg: Uint8Array, senderIndex: number, from: string): Uint8Array {
    const now = this.#clock.now();
    if (now - this.#secretSetAt > COOKIE_REFRESH_TIME) {
      this.#secret.set(randomBytes(32));
      this.#secretSetAt = now;
    }
    const cookie = mac(this.#secret, utf8.encode(from));
    const nonce = randomBytes(24);
    const mac1 = msg.subarray(msg.length - 2 * MAC_LEN, msg.length - MAC_LEN);
    const encryptedCookie = xseal(this.#cookieKey, nonce, cookie, mac1);
    return encodeCookieReply({ receiverIndex: senderIndex, nonce, encryptedCookie });
  }

  /** Forgets the secret (stop()). */
  clear(): void {
    wipe(this.#secret);
    this.#secretSetAt = -Infinity;
  }
}

/** The sending side, one per peer: writes mac1/mac2 on our handshake messages, takes cookies. */
export class CookieGenerator {
  readonly #clock: Clock;
  readonly #mac1Key: Uint8Array;
  readonly #cookieKey: Uint8Array;
  #cookie: Uint8Array | undefined;
  #cookieSetAt = -Infinity;
  #lastMac1: Uint8Array | undefined;

  constructor(clock: Clock, peer: PublicKey) {
    this.#clock = clock;
    ({ mac1Key: this.#mac1Key, cookieKey: this.#cookieKey } = macKeys(peer));
  }

  /** Writes mac1 and (with a fresh cookie) mac2 into the message in place. */
  addMacs(msg: Uint8Array): void {
    const m1 = msg.length - 2 * MAC_LEN;
    const m2 = msg.length - MAC_LEN;
    const mac1 = mac(this.#mac1Key, msg.subarray(0, m1));
    msg.set(mac1, m1);
    this.#lastMac1 = mac1;
    const fresh = this.#cookie && this.#clock.now() - this.#cookieSetAt <= COOKIE_REFRESH_TIME;
    msg.set(fresh ? mac(this.#cookie!, msg.subarray(0, m2)) : ZERO_MAC, m2);
  }

  /** Takes a cookie reply to our last handshake message; false when it does not open. */
  consumeReply(reply: CookieReply): boolean {
    if (!this.#lastMac1) return false;
    const cookie = xopen(this.#cookieKey, reply.nonce, reply.encryptedCookie, this.#lastMac1);
    if (!cookie) return false;
    this.#cookie = cookie;
    this.#cookieSetAt = this.#clock.now();
    return true;
  }

  /** True while a received cookie is fresh enough to be used for mac2. */
  get hasCookie(): boolean {
    return this.#cookie !== undefined && this.#clock.now() - this.#cookieSetAt <= COOKIE_REFRESH_TIME;
  }
}
