// WireGuard's handshake on the Noise core (whitepaper §5.4; wireguard-go device/noise-protocol.go):
// the construction and identifier, indices, the TAI64N payload and its must-increase check, and
// the per-peer initiation flood limit. One Handshake per peer; pure (time is passed in).
//
//                 createInitiation                     consumeResponse
//   ┌────────┐ ───────────────────► ┌────────────────────┐ ──────────────► ┌────────┐
//   │ zeroed │                      │ initiation-created │                 │ zeroed │ + keypair
//   └────────┘ ◄─────────────────── └────────────────────┘                 └────────┘  (initiator)
//       │  ▲         clear()                  │ acceptInitiation (simultaneous initiations:
//       │  │                                  ▼  the peer's replaces ours)
//       │  │  createResponse      ┌─────────────────────┐
//       │  └───────────────────── │ initiation-consumed │ ◄── acceptInitiation (from any state)
//       │      + keypair          └─────────────────────┘
//       └──────────────────────────────────▲  (responder)
//
// createInitiation from any state starts over with a new ephemeral and index.
import type { PrivateKey, PublicKey } from '../crypto/index.ts';
import {
  INITIATION_NOISE_OFFSET,
  INITIATION_NOISE_SIZE,
  RESPONSE_NOISE_OFFSET,
  RESPONSE_NOISE_SIZE,
  encodeInitiation,
  encodeResponse,
  type Initiation,
  type Response,
} from '../proto/handshake/index.ts';
import { wipe } from '../util/index.ts';
import { HANDSHAKE_INITIATION_RATE, CONSTRUCTION, IDENTIFIER } from './constants.ts';
import { NoiseIKpsk2, type Initiating, type Responding, type TransportKeys } from './noise.ts';
import { TAI64N_LEN, tai64n, tai64nAfter } from './tai64n.ts';

/** The Noise core as WireGuard configures it. */
export const wireguardNoise = new NoiseIKpsk2({
  protocolName: CONSTRUCTION,
  prologue: new TextEncoder().encode(IDENTIFIER),
});

const EMPTY = new Uint8Array(0);

export type HandshakeState = 'zeroed' | 'initiation-created' | 'initiation-consumed';

/** An initiation that authenticated to our static key, before we know whether its peer is ours. */
export interface ReadInitiation {
  peerKey: PublicKey;
  senderIndex: number;
  timestamp: Uint8Array;
  noise: Responding;
}

/**
 * Opens the Noise part of an initiation with our static key. Undefined when it does not
 * authenticate. `h1` is the cached pre-message hash of our public key; `ssFor` finds the
 * initiator's precomputed static-static DH, or undefined for an initiator we do not know.
 */
export function readInitiation(
  s: PrivateKey,
  msg: Uint8Array,
  m: Initiation,
  h1: Uint8Array,
  ssFor: (rs: PublicKey) => Uint8Array | undefined,
): ReadInitiation | undefined {
  const noiseBytes = msg.subarray(INITIATION_NOISE_OFFSET, INITIATION_NOISE_OFFSET + INITIATION_NOISE_SIZE);
  const r = wireguardNoise.readMessage1(s, noiseBytes, { h1, ssFor });
  if (!r || r.payload.length !== TAI64N_LEN) return undefined;
  return { peerKey: r.state.rs, senderIndex: m.senderIndex, timestamp: r.payload, noise: r.state };
}

/** The handshake state of one peer. */
export class Handshake {
  state: HandshakeState = 'zeroed';
  /** Our index for the handshake in flight (in the index table), if any. */
  localIndex: number | undefined;
  remoteIndex = 0;
  /** Greatest timestamp accepted from this peer (zeros: none yet). Never reset. */
  lastTimestamp: Uint8Array = new Uint8Array(TAI64N_LEN);
  /** Monotonic ms of the last initiation accepted from this peer. */
  lastInitiationConsumption = -Infinity;
  /** Monotonic ms of the last initiation or response we sent. */
  lastSentHandshake = -Infinity;
  #initiating: Initiating | undefined;
  #responding: Responding | undefined;
  readonly #s: PrivateKey;
  readonly #peer: PublicKey;
  readonly #h1: Uint8Array;
  #ss: Uint8Array | undefined | null = null; // null: not computed yet
  psk: Uint8Array;

  constructor(s: PrivateKey, peer: PublicKey, psk: Uint8Array) {
    this.#s = s;
    this.#peer = peer;
    this.psk = psk;
    this.#h1 = wireguardNoise.preMessageHash(peer);
  }

  /** DH(our static, the peer's static), computed once (wireguard-go precomputedStaticStatic). */
  staticStatic(): Uint8Array | undefined {
    if (this.#ss === null) this.#ss = this.#s.dh(this.#peer);
    return this.#ss;
  }

  /** The 148-byte initiation with zero macs (the caller adds them), or undefined on a bad peer key. */
  createInitiation(localIndex: number, wallMs: number): Uint8Array | undefined {
    this.clear();
    const ss = this.staticStatic();
    if (!ss) return undefined;
    const w = wireguardNoise.writeMessage1(this.#s, this.#peer, tai64n(wallMs), undefined, {
      h1: this.#h1,
      ss,
    });
    if (!w) return undefined;
    this.#initiating = w.state;
    this.localIndex = localIndex;
    this.state = 'initiation-created';
    const n = w.message;
    return encodeInitiation({
      senderIndex: localIndex,
      ephemeral: n.subarray(0, 32),
      encryptedStatic: n.subarray(32, 80),
      encryptedTimestamp: n.subarray(80, 108),
    });
  }

  /**
   * Accepts an initiation from this peer unless its timestamp is not newer than the last one
   * accepted ('replayed-initiation') or one was accepted under HANDSHAKE_INITIATION_RATE ago
   * ('initiation-flood'). A handshake of ours in flight is abandoned; its index stays in the table
   * until createResponse replaces it, as in wireguard-go.
   */
  acceptInitiation(r: ReadInitiation, now: number): 'replayed-initiation' | 'initiation-flood' | undefined {
    if (!tai64nAfter(r.timestamp, this.lastTimestamp)) return 'replayed-initiation';
    if (now - this.lastInitiationConsumption <= HANDSHAKE_INITIATION_RATE) return 'initiation-flood';
    this.clear();
    this.lastTimestamp = new Uint8Array(r.timestamp);
    this.lastInitiationConsumption = now;
    this.#responding = r.noise;
    this.remoteIndex = r.senderIndex;
    this.state = 'initiation-consumed';
    return undefined;
  }

  /** The 92-byte response with zero macs, and the keys; undefined unless an initiation was accepted. */
  createResponse(localIndex: number): { message: Uint8Array; keys: TransportKeys } | undefined {
    if (this.state !== 'initiation-consumed' || !this.#responding) return undefined;
    const w = wireguardNoise.writeMessage2(this.#responding, this.psk, EMPTY);
    this.clear();
    if (!w) return undefined;
    const n = w.message;
    const message = encodeResponse({
      senderIndex: localIndex,
      receiverIndex: this.remoteIndex,
      ephemeral: n.subarray(0, 32),
      encryptedNothing: n.subarray(32, 48),
    });
    return { message, keys: w.keys };
  }

  /** The keys from a response to our initiation; undefined when it does not authenticate. */
  consumeResponse(msg: Uint8Array, m: Response): TransportKeys | undefined {
    if (this.state !== 'initiation-created' || !this.#initiating || m.receiverIndex !== this.localIndex)
      return undefined;
    const noiseBytes = msg.subarray(RESPONSE_NOISE_OFFSET, RESPONSE_NOISE_OFFSET + RESPONSE_NOISE_SIZE);
    const r = wireguardNoise.readMessage2(this.#initiating, this.psk, noiseBytes);
    if (!r || r.payload.length !== 0) return undefined;
    this.remoteIndex = m.senderIndex;
    this.clear();
    return r.keys;
  }

  /** Forgets everything secret, the precomputed static-static DH included (the peer is going away). */
  destroy(): void {
    this.clear();
    if (this.#ss) wipe(this.#ss);
    this.#ss = undefined;
  }

  /** Forgets the handshake in flight (not the timestamp or rate memory). The index is the caller's. */
  clear(): void {
    if (this.#initiating) wipe(this.#initiating.ck);
    if (this.#responding) wipe(this.#responding.ck);
    this.#initiating = undefined;
    this.#responding = undefined;
    this.state = 'zeroed';
  }
}
