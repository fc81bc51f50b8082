/**
 * One stream's send side: the bytes the application wrote, kept as a list of its own Buffers (no
 * copies until a packet is built), from the lowest unacknowledged offset to the end.
 *
 *   base            sent                    end
 *    | acked/unacked |   not yet sent        |
 *    +---------------+-----------------------+
 *   `lost` holds ranges below `sent` to send again; `acked` ranges above `base`.
 *
 * Byte ranges are inclusive [lo, hi] in RangeSets. FIN is tracked beside the bytes.
 */
import { RangeSet } from './ranges.ts';

export class SendBuffer {
  #chunks: Uint8Array[] = [];
  #starts: number[] = [];
  #head = 0;
  /** Lowest offset not yet acknowledged: everything below it is freed. */
  base = 0;
  /** Next offset never sent before. */
  sent = 0;
  /** Total bytes written. */
  end = 0;
  readonly acked = new RangeSet();
  readonly lost = new RangeSet();
  /** The application ended the stream (FIN at `end`). */
  finWanted = false;
  /** A FIN is waiting to be sent (first time or again after loss). */
  finPending = false;
  finAcked = false;

  write(b: Uint8Array): void {
    if (b.length === 0) return;
    this.#chunks.push(b);
    this.#starts.push(this.end);
    this.end += b.length;
  }

  finish(): void {
    this.finWanted = true;
    this.finPending = true;
  }

  /** Bytes held in memory. */
  get buffered(): number {
    return this.end - this.base;
  }
  /** Bytes never sent. */
  get unsent(): number {
    return this.end - this.sent;
  }
  /** Everything, FIN included, is acknowledged. */
  get done(): boolean {
    return this.finAcked && this.base === this.end;
  }
  /** Something to send: lost bytes, new bytes (subject to flow control, checked by the caller), or FIN. */
  get hasRetransmit(): boolean {
    return !this.lost.empty;
  }

  /** Copies [offset, offset+len) into dst at dstOff. The range must be retained. */
  copy(offset: number, len: number, dst: Uint8Array, dstOff: number): void {
    const starts = this.#starts;
    const chunks = this.#chunks;
    // binary search for the chunk containing offset
    let a = this.#head;
    let b = starts.length - 1;
    while (a < b) {
      const m = (a + b + 1) >>> 1;
      if (starts[m] <= offset) a = m;
      else b = m - 1;
    }
    let i = a;
    let at = offset - starts[i];
    while (len > 0) {
      const c = chunks[i];
      const n = Math.min(len, c.length - at);
      if (at === 0 && n === c.length) dst.set(c, dstOff);
      else dst.set(c.subarray(at, at + n), dstOff);
      dstOff += n;
      len -= n;
      i++;
      at = 0;
    }
  }

  /** Acknowledged [offset, offset+len) (and FIN). Frees what the base passes. Returns bytes freed. */
  onAcked(offset: number, len: number, fin: boolean): number {
    if (fin) this.finAcked = true;
    if (len === 0) return 0;
    const hi = offset + len - 1;
    if (hi < this.base) return 0;
    this.acked.add(Math.max(offset, this.base), hi);
    this.lost.remove(offset, hi);
    if (this.acked.min() !== this.base) return 0;
    const before = this.base;
    this.base = this.acked.hi(0) + 1;
    this.acked.removeBelow(this.base);
    const starts = this.#starts;
    const chunks = this.#chunks;
    while (this.#head < chunks.length && starts[this.#head] + chunks[this.#head].length <= this.base) {
      chunks[this.#head] = EMPTY;
      this.#head++;
    }
    if (this.#head > 64 && this.#head * 2 > chunks.length) {
      chunks.splice(0, this.#head);
      starts.splice(0, this.#head);
      this.#head = 0;
    }
    return this.base - before;
  }

  /** Lost [offset, offset+len) (and FIN): whatever is not acknowledged since is queued again. */
  onLost(offset: number, len: number, fin: boolean): void {
    if (fin && !this.finAcked) this.finPending = true;
    if (len === 0) return;
    const lo = Math.max(offset, this.base);
    const hi = offset + len - 1;
    if (hi < lo) return;
    this.acked.gaps(lo, hi, (a, b) => this.lost.add(a, b));
  }

  /** Takes up to `max` lost bytes to send again: [offset, len], or undefined. */
  takeLost(max: number): [number, number] | undefined {
    if (this.lost.empty || max <= 0) return undefined;
    const lo = this.lost.lo(0);
    const hi = Math.min(this.lost.hi(0), lo + max - 1);
    this.lost.remove(lo, hi);
    return [lo, hi - lo + 1];
  }

  /** Takes up to `max` new bytes: returns the offset; `sent` advances. */
  takeNew(max: number): number {
    const off = this.sent;
    this.sent += Math.min(max, this.end - this.sent);
    return off;
  }

  /** Drops everything (reset): memory is freed at once. */
  discard(): void {
    this.#chunks = [];
    this.#starts = [];
    this.#head = 0;
    this.base = this.end;
    this.sent = Math.max(this.sent, 0);
    this.acked.clear();
    this.lost.clear();
    this.finPending = false;
  }
}

const EMPTY = new Uint8Array(0);
