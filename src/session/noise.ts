// The Noise core: Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s (Noise rev. 34 §7.5, §9), pure and
// synchronous, parameterised by protocol name and prologue. WireGuard uses it with its
// construction string as the protocol name and its identifier as the prologue (handshake.ts);
// the control channel can reuse it with a prologue of its own.
//
//   IKpsk2:
//     <- s
//     ...
//     -> e, es, s, ss          message 1: e (32) ‖ AEAD(s) (48) ‖ AEAD(payload) (n+16)
//     <- e, ee, se, psk        message 2: e (32) ‖ AEAD(payload) (n+16)
//
// Initiator:  writeMessage1 ──► Initiating ──readMessage2──► TransportKeys
// Responder:  readMessage1 ──► Responding ──writeMessage2──► TransportKeys
//
// Every key (k) is used for exactly one encryption, so every AEAD nonce here is 0. With a psk
// modifier the `e` token also mixes the ephemeral into the chaining key (Noise §9.2), which is
// WireGuard's C := KDF1(C, E_pub). Low-order public keys (an all-zero DH result) fail the message.
import { PrivateKey, PublicKey, KEY_LEN, TAG_LEN, hash, kdf, seal, open } from '../crypto/index.ts';

const EMPTY = new Uint8Array(0);

/** The keys a finished handshake yields, from the point of view of one side. */
export interface TransportKeys {
  send: Uint8Array;
  recv: Uint8Array;
  /** The final handshake hash h (channel binding). */
  handshakeHash: Uint8Array;
}

/** The initiator's state between message 1 and message 2. */
export interface Initiating {
  readonly ck: Uint8Array;
  readonly h: Uint8Array;
  readonly e: PrivateKey;
  readonly s: PrivateKey;
  readonly rs: PublicKey;
}

/** The responder's state between message 1 and message 2. */
export interface Responding {
  readonly ck: Uint8Array;
  readonly h: Uint8Array;
  readonly re: PublicKey;
  /** The initiator's static key, learnt from message 1. */
  readonly rs: PublicKey;
  readonly s: PrivateKey;
}

export interface NoiseOptions {
  /** Noise protocol name; WireGuard calls it the construction. */
  protocolName: string;
  /** Prologue bytes; WireGuard calls it the identifier. */
  prologue: Uint8Array;
}

/** Message 1 minus its payload: e + AEAD(s). */
export const MESSAGE1_OVERHEAD = KEY_LEN + KEY_LEN + TAG_LEN + TAG_LEN;
/** Message 2 minus its payload: e + tag. */
export const MESSAGE2_OVERHEAD = KEY_LEN + TAG_LEN;

export class NoiseIKpsk2 {
  /** ck and h after InitializeSymmetric(name) and MixHash(prologue). */
  readonly #ck0: Uint8Array;
  readonly #h0: Uint8Array;

  constructor(opts: NoiseOptions) {
    const name = new TextEncoder().encode(opts.protocolName);
    let h: Uint8Array;
    if (name.length <= 32) {
      h = new Uint8Array(32);
      h.set(name);
    } else h = hash(name);
    this.#ck0 = h;
    this.#h0 = hash(h, opts.prologue);
  }

  /** h after the pre-message `<- s` (the responder's static key): cacheable per responder key. */
  preMessageHash(responderStatic: PublicKey): Uint8Array {
    return hash(this.#h0, responderStatic.bytes);
  }

  /**
   * -> e, es, s, ss, payload. `e` is a fresh ephemeral unless given (test vectors). Undefined when a
   * DH result is zero. `cache` may carry preMessageHash(rs) and DH(s, rs), which depend only on the
   * two static keys.
   */
  writeMessage1(
    s: PrivateKey,
    rs: PublicKey,
    payload: Uint8Array,
    e: PrivateKey = PrivateKey.generate(),
    cache: { h1?: Uint8Array; ss?: Uint8Array } = {},
  ): { message: Uint8Array; state: Initiating } | undefined {
    const out = new Uint8Array(MESSAGE1_OVERHEAD + payload.length);
    let h = cache.h1 ?? this.preMessageHash(rs);
    let ck: Uint8Array;
    // e
    out.set(e.publicKey.bytes, 0);
    h = hash(h, e.publicKey.bytes);
    [ck] = kdf(1, this.#ck0, e.publicKey.bytes);
    // es
    const es = e.dh(rs);
    if (!es) return undefined;
    let k: Uint8Array;
    [ck, k] = kdf(2, ck, es);
    // s
    const encS = seal(k, 0, s.publicKey.bytes, h, out, KEY_LEN);
    h = hash(h, encS);
    // ss
    const ss = cache.ss ?? s.dh(rs);
    if (!ss) return undefined;
    [ck, k] = kdf(2, ck, ss);
    // payload
    const encP = seal(k, 0, payload, h, out, KEY_LEN + KEY_LEN + TAG_LEN);
    h = hash(h, encP);
    return { message: out, state: { ck, h, e, s, rs } };
  }

  /**
   * Reads message 1 as the responder with static key `s`. Undefined when it does not authenticate.
   * `cache` may carry preMessageHash(s.publicKey), and `ssFor(rs)`, called once the initiator's
   * static key is known, may return a cached DH(s, rs) or undefined to refuse that initiator.
   */
  readMessage1(
    s: PrivateKey,
    message: Uint8Array,
    cache: { h1?: Uint8Array; ssFor?: (rs: PublicKey) => Uint8Array | undefined } = {},
  ): { payload: Uint8Array; state: Responding } | undefined {
    if (message.length < MESSAGE1_OVERHEAD) return undefined;
    let h = cache.h1 ?? this.preMessageHash(s.publicKey);
    let ck: Uint8Array;
    const reBytes = message.subarray(0, KEY_LEN);
    const re = PublicKey.fromBytes(reBytes);
    h = hash(h, reBytes);
    [ck] = kdf(1, this.#ck0, reBytes);
    const es = s.dh(re);
    if (!es) return undefined;
    let k: Uint8Array;
    [ck, k] = kdf(2, ck, es);
    const encS = message.subarray(KEY_LEN, KEY_LEN + KEY_LEN + TAG_LEN);
    const sBytes = open(k, 0, encS, h);
    if (!sBytes) return undefined;
    h = hash(h, encS);
    const rs = PublicKey.fromBytes(sBytes);
    const ss = cache.ssFor ? cache.ssFor(rs) : s.dh(rs);
    if (!ss) return undefined;
    [ck, k] = kdf(2, ck, ss);
    const encP = message.subarray(KEY_LEN + KEY_LEN + TAG_LEN);
    const payload = open(k, 0, encP, h);
    if (!payload) return undefined;
    h = hash(h, encP);
    return { payload, state: { ck, h, re, rs, s } };
  }

  /** <- e, ee, se, psk, payload. Undefined when a DH result is zero. */
  writeMessage2(
    st: Responding,
    psk: Uint8Array,
    payload: Uint8Array,
    e: PrivateKey = PrivateKey.generate(),
  ): { message: Uint8Array; keys: TransportKeys } | undefined {
    const out = new Uint8Array(MESSAGE2_OVERHEAD + payload.length);
    out.set(e.publicKey.bytes, 0);
    let h = hash(st.h, e.publicKey.bytes);
    let [ck] = kdf(1, st.ck, e.publicKey.bytes);
    const ee = e.dh(st.re);
    if (!ee) return undefined;
    [ck] = kdf(1, ck, ee);
    const se = e.dh(st.rs);
    if (!se) return undefined;
    [ck] = kdf(1, ck, se);
    const [ck2, tau, k] = kdf(3, ck, psk);
    h = hash(h, tau);
    const encP = seal(k, 0, payload, h, out, KEY_LEN);
    h = hash(h, encP);
    const [t1, t2] = kdf(2, ck2, EMPTY);
    return { message: out, keys: { send: t2, recv: t1, handshakeHash: h } };
  }

  /** Reads message 2 as the initiator. Undefined when it does not authenticate. */
  readMessage2(
    st: Initiating,
    psk: Uint8Array,
    message: Uint8Array,
  ): { payload: Uint8Array; keys: TransportKeys } | undefined {
    if (message.length < MESSAGE2_OVERHEAD) return undefined;
    const reBytes = message.subarray(0, KEY_LEN);
    const re = PublicKey.fromBytes(reBytes);
    let h = hash(st.h, reBytes);
    let [ck] = kdf(1, st.ck, reBytes);
    const ee = st.e.dh(re);
    if (!ee) return undefined;
    [ck] = kdf(1, ck, ee);
    const se = st.s.dh(re);
    if (!se) return undefined;
    [ck] = kdf(1, ck, se);
    const [ck2, tau, k] = kdf(3, ck, psk);
    h = hash(h, tau);
    const encP = message.subarray(KEY_LEN);
    const payload = open(k, 0, encP, h);
    if (!payload) return undefined;
    h = hash(h, encP);
    const [t1, t2] = kdf(2, ck2, EMPTY);
    return { payload, keys: { send: t1, recv: t2, handshakeHash: h } };
  }
}
