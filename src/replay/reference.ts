// A naive anti-replay window with the same semantics as ReplayWindow, for tests and benchmarks
// only (not exported from index.ts): a set of the counters seen plus the highest one. It states
// the rule directly — fresh iff unseen and (above the highest, or at most WINDOW_SIZE behind it) —
// so a bug in the ring arithmetic shows up as a disagreement.

import { MAX_COUNTER, WINDOW_SIZE } from './window.ts';

const WINDOW = BigInt(WINDOW_SIZE);

export class NaiveReplayWindow {
  #seen = new Set<bigint>();
  #highest = 0n; // as in WireGuard, an empty window's highest is 0 (counter 0 is still fresh once)
  #sincePrune = 0;

  check(counter: bigint): boolean {
    if (counter < 0n || counter > MAX_COUNTER) return false;
    if (this.#highest - counter > WINDOW) return false;
    if (this.#seen.has(counter)) return false;
    this.#seen.add(counter);
    if (counter > this.#highest) this.#highest = counter;
    if (++this.#sincePrune > 4 * WINDOW_SIZE) this.#prune();
    return true;
  }

  reset(): void {
    this.#seen.clear();
    this.#highest = 0n;
    this.#sincePrune = 0;
  }

  /** Forgets counters too old to matter, keeping memory bounded on long runs. */
  #prune(): void {
    this.#sincePrune = 0;
    for (const c of this.#seen) if (this.#highest - c > WINDOW) this.#seen.delete(c);
  }
}
