/**
 * Round-robin queue of streams with something to send: each turn a stream writes at most one frame
 * (as large as the packet allows) and, if it still has data, goes to the back. A ring buffer, so
 * push/shift are O(1) without array shifting.
 */
export class RoundRobin<T> {
  #items: (T | undefined)[] = new Array(16);
  #head = 0;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  push(x: T): void {
    if (this.#size === this.#items.length) {
      const old = this.#items;
      const next = new Array<T | undefined>(old.length * 2);
      for (let i = 0; i < this.#size; i++) next[i] = old[(this.#head + i) % old.length];
      this.#items = next;
      this.#head = 0;
    }
    this.#items[(this.#head + this.#size) % this.#items.length] = x;
    this.#size++;
  }

  shift(): T | undefined {
    if (this.#size === 0) return undefined;
    const x = this.#items[this.#head];
    this.#items[this.#head] = undefined;
    this.#head = (this.#head + 1) % this.#items.length;
    this.#size--;
    return x;
  }

  clear(): void {
    this.#items = new Array(16);
    this.#head = 0;
    this.#size = 0;
  }
}
