// The receiver-index table (whitepaper §5.4.2; wireguard-go device/indextable.go): each side picks
// a random 32-bit index for every handshake it starts or answers; the peer puts it in the
// receiver field of every later message, so one lookup finds the handshake or keypair.
// An entry belongs to a handshake in flight until the keypair it yields takes it over. Each peer
// holds at most one handshake entry and three keypair entries, so the table is bounded by peers × 4.
import { randomU32 } from '../crypto/index.ts';

export class IndexTable<E> {
  readonly #map = new Map<number, E>();
  readonly #random: () => number;

  constructor(random: () => number = randomU32) {
    this.#random = random;
  }

  /** A fresh index, not in use, bound to `entry`. */
  add(entry: E): number {
    for (;;) {
      const i = this.#random() >>> 0;
      if (!this.#map.has(i)) {
        this.#map.set(i, entry);
        return i;
      }
    }
  }

  get(index: number): E | undefined {
    return this.#map.get(index);
  }

  /** Rebinds an index in use (a handshake's index handed to its keypair). */
  replace(index: number, entry: E): void {
    if (this.#map.has(index)) this.#map.set(index, entry);
  }

  delete(index: number | undefined): void {
    if (index !== undefined) this.#map.delete(index);
  }

  get size(): number {
    return this.#map.size;
  }

  clear(): void {
    this.#map.clear();
  }
}
