// Incremental frame decoder for a relay byte stream: push chunks as they arrive, get whole
// frames back. It holds at most one partial frame (MAX_BUFFERED bytes), checks each header's type
// and length before it buffers any payload, and reserves payload memory only as bytes arrive, so
// a header that announces 64 KiB and then stalls costs 2 KiB, not 64. A frame whole inside one
// chunk is handed out as a view of it (no copy). A frame that spans chunks is copied once into a
// buffer sized for what is there (at least 2 KiB); that buffer grows at most to 2 × held + 2 KiB
// per step, which for the usual frame (chunks of a TLS record, 16 KiB) is its whole length at
// the first growth. Buffers are not zero-filled: every byte handed out was written first.
//
//   states:  HEADER --(5 bytes, header ok)--> PAYLOAD --(length bytes)--> emit, HEADER
//               \--(bad header)--> FAILED <--(bad payload)--/
//   FAILED is final: every later call throws the same error.
import { FRAME_HEADER_LEN } from './constants.ts';
import { RelayFrameError } from './errors.ts';
import { checkHeader, decodePayload, type Frame } from './frames.ts';

/** Least first allocation for a payload that spans chunks; also the slack of the growth bound. */
const INITIAL_PAYLOAD_BUF = 2048;
const EMPTY = new Uint8Array(0);

/** `n` bytes, not zero-filled (Node's pool for small sizes), as a plain Uint8Array view. */
function allocUnsafe(n: number): Uint8Array {
  const b = Buffer.allocUnsafe(n);
  return new Uint8Array(b.buffer, b.byteOffset, n);
}

export class FrameDecoder {
  readonly #header = new Uint8Array(FRAME_HEADER_LEN);
  #headerHave = 0;
  #type = 0;
  /** Payload length of the frame being assembled; -1 when reading a header. */
  #need = -1;
  #payload: Uint8Array = EMPTY;
  #payloadHave = 0;
  #failed: RelayFrameError | undefined;

  /** Bytes held of a frame not yet complete (never more than MAX_BUFFERED). */
  get buffered(): number {
    return this.#headerHave + this.#payloadHave;
  }

  /** Bytes allocated for the partial frame: at most 2 × buffered + 2 KiB, and at most MAX_BUFFERED. */
  get reserved(): number {
    return this.#payload.length;
  }

  /**
   * Calls `onFrame` with each frame `chunk` completes, in order. Frames that lie whole inside the
   * chunk share its memory, so the caller must not overwrite a chunk after pushing it. Throws
   * RelayFrameError on a protocol violation, after delivering the frames before it; the connection
   * must then close. If `onFrame` throws, that error propagates and the decoder fails too
   * (`RELAY_ABORTED` on later calls).
   */
  push(chunk: Uint8Array, onFrame: (f: Frame) => void): void {
    if (this.#failed) throw this.#failed;
    try {
      let off = 0;
      while (off < chunk.length) {
        const avail = chunk.length - off;
        if (this.#need >= 0) {
          const n = Math.min(avail, this.#need - this.#payloadHave);
          this.#append(chunk.subarray(off, off + n));
          off += n;
          if (this.#payloadHave === this.#need) {
            const p = this.#payload.subarray(0, this.#need);
            this.#reset();
            onFrame(decodePayload(this.#type, p));
          }
        } else if (this.#headerHave === 0 && avail >= FRAME_HEADER_LEN) {
          // Fast path: the header is whole in the chunk, and often the payload too.
          const type = chunk[off];
          const len = new DataView(chunk.buffer, chunk.byteOffset + off + 1, 4).getUint32(0);
          checkHeader(type, len);
          off += FRAME_HEADER_LEN;
          if (chunk.length - off >= len) {
            off += len;
            onFrame(decodePayload(type, chunk.subarray(off - len, off)));
          } else this.#begin(type, len, chunk.length - off);
        } else {
          const n = Math.min(avail, FRAME_HEADER_LEN - this.#headerHave);
          this.#header.set(chunk.subarray(off, off + n), this.#headerHave);
          this.#headerHave += n;
          off += n;
          if (this.#headerHave === FRAME_HEADER_LEN) {
            this.#headerHave = 0;
            const type = this.#header[0];
            const len = new DataView(this.#header.buffer).getUint32(1);
            checkHeader(type, len);
            if (len === 0) onFrame(decodePayload(type, EMPTY));
            else if (chunk.length - off >= len) {
              // The header straddled chunks but the payload is whole here: a view, no copy.
              off += len;
              onFrame(decodePayload(type, chunk.subarray(off - len, off)));
            } else this.#begin(type, len, chunk.length - off);
          }
        }
      }
    } catch (e) {
      this.#failed =
        e instanceof RelayFrameError
          ? e
          : new RelayFrameError('RELAY_ABORTED', 'a frame handler threw', { cause: e });
      this.#reset();
      this.#headerHave = 0;
      throw e;
    }
  }

  /** The stream has ended: throws RELAY_TRUNCATED if it stopped inside a frame. */
  end(): void {
    if (this.#failed) throw this.#failed;
    if (this.buffered > 0 || this.#need >= 0) {
      this.#failed = new RelayFrameError(
        'RELAY_TRUNCATED',
        `stream ended ${this.buffered} bytes into a frame`,
      );
      throw this.#failed;
    }
  }

  /** A payload of `len` bytes starts, `avail` (< len) of them in the chunk at hand. */
  #begin(type: number, len: number, avail: number): void {
    this.#type = type;
    this.#need = len;
    this.#payload = allocUnsafe(Math.min(len, Math.max(INITIAL_PAYLOAD_BUF, avail)));
    this.#payloadHave = 0;
  }

  #append(src: Uint8Array): void {
    const want = this.#payloadHave + src.length;
    if (want > this.#payload.length) {
      const grown = allocUnsafe(Math.min(this.#need, 2 * want + INITIAL_PAYLOAD_BUF));
      grown.set(this.#payload.subarray(0, this.#payloadHave));
      this.#payload = grown;
    }
    this.#payload.set(src, this.#payloadHave);
    this.#payloadHave = want;
  }

  #reset(): void {
    this.#need = -1;
    this.#payload = EMPTY;
    this.#payloadHave = 0;
  }
}
