// Keypairs and their rotation (whitepaper §6; wireguard-go device/keypair.go, noise-protocol.go
// BeginSymmetricSession and peer.go ReceivedWithKeypair), and the transport seal/open.
//
//   slots:  previous ◄── current ◄── next
//
//   initiator, new keypair K (it has seen the response, so K is confirmed):
//       next ≠ ∅:  previous := next, current := K, next := ∅   (old previous and current dropped)
//       next = ∅:  previous := current, current := K           (old previous dropped)
//   responder, new keypair K (unconfirmed until the initiator uses it):
//       next := K, previous := ∅                                (old next and previous dropped)
//   first authenticated transport message under next:
//       previous := current, current := next, next := ∅         (old previous dropped)
//
// Only `current` sends. Any of the three receives.
import { TAG_LEN, open, seal } from '../crypto/index.ts';
import { writeTransportHeader, TRANSPORT_HEADER_SIZE, type Transport } from '../proto/transport/index.ts';
import { ReplayWindow } from '../replay/index.ts';
import { wipe } from '../util/index.ts';
import type { TransportKeys } from './noise.ts';
import { PADDING_MULTIPLE } from './constants.ts';

const EMPTY = new Uint8Array(0);
const TWO32 = 0x1_0000_0000;

export class Keypair {
  readonly send: Uint8Array;
  readonly recv: Uint8Array;
  /** The next counter to send with. */
  sendNonce = 0n;
  readonly replay = new ReplayWindow();
  /** Monotonic ms at derivation. */
  readonly created: number;
  readonly isInitiator: boolean;
  /** Our index: the receiver index of messages to us under this keypair. */
  readonly localIndex: number;
  /** The peer's index: the receiver index we write. */
  readonly remoteIndex: number;

  constructor(
    keys: TransportKeys,
    isInitiator: boolean,
    created: number,
    localIndex: number,
    remoteIndex: number,
  ) {
    this.send = keys.send;
    this.recv = keys.recv;
    this.isInitiator = isInitiator;
    this.created = created;
    this.localIndex = localIndex;
    this.remoteIndex = remoteIndex;
  }

  /**
   * A whole transport message carrying `payload` under counter `sendNonce` (which the caller has
   * checked and advances). One buffer: header, then the payload sealed in place after it.
   */
  seal(payload: Uint8Array, padding: boolean): Uint8Array {
    const len = payload.length;
    const padded = padding ? (len + PADDING_MULTIPLE - 1) & ~(PADDING_MULTIPLE - 1) : len;
    const counter = this.sendNonce;
    const out = Buffer.allocUnsafe(TRANSPORT_HEADER_SIZE + padded + TAG_LEN);
    writeTransportHeader(out, this.remoteIndex, counter);
    let pt = payload;
    if (padded !== len) {
      pt = out.subarray(TRANSPORT_HEADER_SIZE, TRANSPORT_HEADER_SIZE + padded);
      pt.set(payload);
      pt.fill(0, len);
    }
    seal(this.send, counter, pt, EMPTY, out, TRANSPORT_HEADER_SIZE);
    return out;
  }

  /** The plaintext of a transport message to us, or undefined when it does not authenticate. */
  open(m: Transport): Uint8Array | undefined {
    const counter =
      m.counterHi < 0x20_0000
        ? m.counterHi * TWO32 + m.counterLo
        : (BigInt(m.counterHi) << 32n) | BigInt(m.counterLo);
    return open(this.recv, counter, m.encrypted, EMPTY);
  }

  zero(): void {
    wipe(this.send);
    wipe(this.recv);
  }
}

/** The three keypair slots of one peer. `onDrop` hears of every keypair that leaves them. */
export class Keypairs {
  previous: Keypair | undefined;
  current: Keypair | undefined;
  next: Keypair | undefined;
  readonly #onDrop: (kp: Keypair) => void;

  constructor(onDrop: (kp: Keypair) => void) {
    this.#onDrop = onDrop;
  }

  #drop(kp: Keypair | undefined): void {
    if (kp) this.#onDrop(kp);
  }

  /** Installs a freshly derived keypair by the rules drawn above. */
  install(kp: Keypair): void {
    const { previous, current, next } = this;
    if (kp.isInitiator) {
      if (next) {
        this.next = undefined;
        this.previous = next;
        this.#drop(current);
      } else {
        this.previous = current;
      }
      this.#drop(previous);
      this.current = kp;
    } else {
      this.next = kp;
      this.#drop(next);
      this.previous = undefined;
      this.#drop(previous);
    }
  }

  /** Called for every authenticated transport message; true when it confirmed `next`. */
  receivedWith(kp: Keypair): boolean {
    if (this.next !== kp) return false;
    const old = this.previous;
    this.previous = this.current;
    this.current = this.next;
    this.next = undefined;
    this.#drop(old);
    return true;
  }

  /** Drops all three. */
  clear(): void {
    const { previous, current, next } = this;
    this.previous = this.current = this.next = undefined;
    this.#drop(previous);
    this.#drop(current);
    this.#drop(next);
  }
}
