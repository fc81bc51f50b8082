// Transport messages of the agent channel, after the Noise IK handshake:
//
//    0                   8                                  8 + n + 16
//   ┌───────────────────┬────────────────────────────────────┐
//   │ counter (u64, BE) │ ChaCha20-Poly1305(k, counter, JSON) │   (no associated data)
//   └───────────────────┴────────────────────────────────────┘
//
// The AEAD nonce is WireGuard's (32 zero bits ‖ counter little-endian), as src/crypto builds it.
// Each direction has its own key from the handshake; counters start at 0 and only rise. The
// receiver checks a counter against a ReplayWindow after the tag verifies (a forged counter
// never moves the window).
import { open, seal, TAG_LEN } from '../../crypto/index.ts';
import { ReplayWindow } from '../../replay/index.ts';
import { COUNTER_LEN, MAX_CHANNEL_COUNTER, MAX_MESSAGE_BYTES } from './constants.ts';

const EMPTY = new Uint8Array(0);

export type OpenResult =
  | { ok: true; plaintext: Uint8Array }
  | { ok: false; code: 'CONTROL_BAD_FRAME' | 'CONTROL_TOO_LARGE' | 'CONTROL_BAD_AUTH' | 'CONTROL_REPLAY' };

/** One side's transport state: a sending counter and key, a receiving key and replay window. */
export class ChannelCipher {
  readonly #send: Uint8Array;
  readonly #recv: Uint8Array;
  readonly #replay = new ReplayWindow();
  #counter = 0n;

  constructor(keys: { send: Uint8Array; recv: Uint8Array }) {
    this.#send = keys.send;
    this.#recv = keys.recv;
  }

  /** True once the sending counter is spent: the channel must be re-established. */
  get exhausted(): boolean {
    return this.#counter >= MAX_CHANNEL_COUNTER;
  }

  seal(plaintext: Uint8Array): Uint8Array {
    if (this.exhausted) throw new RangeError('channel counter exhausted');
    const out = new Uint8Array(COUNTER_LEN + plaintext.length + TAG_LEN);
    new DataView(out.buffer).setBigUint64(0, this.#counter, false);
    seal(this.#send, this.#counter, plaintext, EMPTY, out, COUNTER_LEN);
    this.#counter++;
    return out;
  }

  /** Opens one transport message; never throws on bad input. */
  open(message: Uint8Array): OpenResult {
    if (message.length < COUNTER_LEN + TAG_LEN) return { ok: false, code: 'CONTROL_BAD_FRAME' };
    if (message.length > COUNTER_LEN + MAX_MESSAGE_BYTES + TAG_LEN)
      return { ok: false, code: 'CONTROL_TOO_LARGE' };
    const counter = new DataView(message.buffer, message.byteOffset, COUNTER_LEN).getBigUint64(0, false);
    if (counter >= MAX_CHANNEL_COUNTER) return { ok: false, code: 'CONTROL_BAD_FRAME' };
    const plaintext = open(this.#recv, counter, message.subarray(COUNTER_LEN), EMPTY);
    if (!plaintext) return { ok: false, code: 'CONTROL_BAD_AUTH' };
    if (!this.#replay.check(counter)) return { ok: false, code: 'CONTROL_REPLAY' };
    return { ok: true, plaintext };
  }
}
