// A bounded FIFO of encoded frames for one relay client: at most `maxPackets` frames and
// `maxBytes` bytes. A frame is one byte array, or two (header, body) that are written back to back
// and dropped together, so a forwarded packet's body need not be copied into a new frame. Pushing past either bound drops the oldest frames to make room (a relay is a
// router: the newest packet is the one most worth delivering). Pure; the caller counts the drops.
//
// Storage is a plain array with a moving head, compacted when half of it is dead, so an idle
// client's queue costs one small object and an empty array.

/** One frame: its bytes, or its header and body. */
export type QueuedFrame = Uint8Array | readonly [Uint8Array, Uint8Array];

export function frameSize(f: QueuedFrame): number {
  return f instanceof Uint8Array ? f.length : f[0].length + f[1].length;
}

export class FrameQueue {
  #items: QueuedFrame[] = [];
  #head = 0;
  #bytes = 0;
  readonly maxPackets: number;
  readonly maxBytes: number;

  constructor(maxPackets: number, maxBytes: number) {
    this.maxPackets = maxPackets;
    this.maxBytes = maxBytes;
  }

  get length(): number {
    return this.#items.length - this.#head;
  }
  get bytes(): number {
    return this.#bytes;
  }

  /**
   * Appends `f`; returns how many older frames were dropped to fit it. A frame larger than
   * maxBytes on its own empties the queue and is kept alone (a queue never refuses the newest).
   */
  push(f: QueuedFrame): number {
    const size = frameSize(f);
    let dropped = 0;
    while (this.length > 0 && (this.length >= this.maxPackets || this.#bytes + size > this.maxBytes)) {
      this.shift();
      dropped++;
    }
    this.#items.push(f);
    this.#bytes += size;
    return dropped;
  }

  /** The oldest frame, removed; undefined when empty. */
  shift(): QueuedFrame | undefined {
    if (this.#head === this.#items.length) return undefined;
    const f = this.#items[this.#head];
    this.#items[this.#head++] = EMPTY;
    this.#bytes -= frameSize(f);
    if (this.#head === this.#items.length) {
      this.#items = [];
      this.#head = 0;
    } else if (this.#head >= 64 && this.#head * 2 >= this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return f;
  }

  /** The oldest frame without removing it. */
  peek(): QueuedFrame | undefined {
    return this.#head < this.#items.length ? this.#items[this.#head] : undefined;
  }

  /** Removes up to `limit` bytes' worth of whole frames (at least one if any) from the front. */
  take(limit: number): QueuedFrame[] {
    const out: QueuedFrame[] = [];
    let n = 0;
    for (let f = this.peek(); f && (out.length === 0 || n + frameSize(f) <= limit); f = this.peek()) {
      out.push(this.shift()!);
      n += frameSize(f);
    }
    return out;
  }

  clear(): number {
    const n = this.length;
    this.#items = [];
    this.#head = 0;
    this.#bytes = 0;
    return n;
  }
}

const EMPTY = new Uint8Array(0);
