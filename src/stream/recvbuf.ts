/**
 * One stream's receive side: reassembly of possibly overlapping, reordered, duplicated STREAM
 * frames into the in-order byte stream. Only bytes not received before are stored (views into the
 * datagrams, no copy), so chunks are disjoint and the next in-order chunk starts exactly at
 * `delivered`: a Map from offset to chunk suffices.
 */
import { RangeSet } from './ranges.ts';

export type InsertResult = 'ok' | 'final_size_error';

export class RecvBuffer {
  /** Offsets received (inclusive ranges), at and above `delivered`. */
  readonly #received = new RangeSet();
  readonly #pending = new Map<number, Uint8Array>();
  /** Next offset to hand to the application. */
  delivered = 0;
  /** Highest offset + 1 seen (what flow control counts). */
  highest = 0;
  /** Known once a FIN (or RESET) arrives. */
  finalSize: number | undefined;
  /** Bytes stored out of order. */
  storedBytes = 0;

  /** Adds a STREAM frame's data. */
  insert(offset: number, data: Uint8Array, fin: boolean): InsertResult {
    const end = offset + data.length;
    if (fin) {
      if (this.finalSize !== undefined && this.finalSize !== end) return 'final_size_error';
      if (end < this.highest) return 'final_size_error';
      this.finalSize = end;
    } else if (this.finalSize !== undefined && end > this.finalSize) return 'final_size_error';
    if (end > this.highest) this.highest = end;
    if (end <= this.delivered || data.length === 0) return 'ok';
    const lo = Math.max(offset, this.delivered);
    this.#received.gaps(lo, end - 1, (a, b) => {
      this.#pending.set(a, data.subarray(a - offset, b + 1 - offset));
      this.storedBytes += b + 1 - a;
    });
    this.#received.add(lo, end - 1);
    return 'ok';
  }

  /** Hands every in-order chunk to `fn`. */
  drain(fn: (chunk: Uint8Array) => void): void {
    const pending = this.#pending;
    let at = this.delivered;
    for (let c = pending.get(at); c !== undefined; c = pending.get(at)) {
      pending.delete(at);
      this.storedBytes -= c.length;
      at += c.length;
      this.delivered = at;
      fn(c);
    }
    this.#received.removeBelow(this.delivered);
  }

  /** All bytes up to the final size were handed over. */
  get complete(): boolean {
    return this.finalSize !== undefined && this.delivered === this.finalSize;
  }

  /** Drops stored data (reset, stop). */
  discard(): void {
    this.#pending.clear();
    this.#received.clear();
    this.storedBytes = 0;
  }
}
