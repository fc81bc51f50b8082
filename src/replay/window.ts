// The anti-replay sliding window of RFC 6479 ("IPsec Anti-Replay Algorithm without Bit Shifting"),
// at WireGuard's size: a ring of 128 blocks of 64 bits, of which 127 whole blocks are the window.
//
//   ring (128 × 64 bits, stored as 256 × 32-bit words; word = (counter >> 5) & 255, bit = counter & 31)
//   ┌────────┬────────┬─ ─ ─┬────────┬────────┐
//   │ block  │ block  │     │ block  │ block  │   block of counter c = (c >> 6) & 127
//   └────────┴────────┴─ ─ ─┴────────┴────────┘
//            ▲ oldest kept block      ▲ block of `last` (highest counter accepted so far)
//
// The rule (WireGuard's, identical in wireguard-go replay.Filter and the Linux counter_validate):
//   - counter > last: fresh. The window slides forward: every block after last's block up to and
//     including counter's block is cleared (at most the whole ring), then last = counter.
//   - last − counter > WINDOW_SIZE (8128): too old, rejected without touching the ring.
//   - otherwise (0 ≤ last − counter ≤ 8128): fresh iff its bit is not yet set; the bit is then set.
// So a counter exactly 8128 behind the highest is still judged by its bit (accepted once), and
// 8129 behind is refused. Its bit is still in the ring: last − 8128 lies in last's block − 127, which
// the ring keeps (a block is cleared only when the window reaches the block 128 places after it).
// The rule depends only on last − counter, never on where the block boundaries fall.
//
// RFC 6479 keeps the window one block wider than it promises so that sliding never shifts bits:
// a whole block is zeroed when the window enters it. The limit on usable counters
// (REJECT_AFTER_MESSAGES) is the session's business; here any counter in [0, 2^64 − 1] is valid.
//
// Representation: counters reach 2^64 − 1, beyond a Number's exact range, and BigInt arithmetic
// allocates. The state is therefore two uint32 halves (`#hi`, `#lo`) and the core `checkParts(hi, lo)`
// works on Numbers only: every quantity it computes (a difference of halves times 2^32 or 2^26 plus
// a 32-bit term) stays below 2^34, exact in a double. `check(bigint)` splits its argument once,
// via one Number conversion when the counter is at most 2^53 − 1 (any realistic counter) and via
// two BigInt operations above that. The session can read the two little-endian uint32 halves of
// the wire counter and call `checkParts` with no BigInt at all.

/** Bits per block (RFC 6479's bitmap unit; WireGuard uses the machine word, 64). */
export const BLOCK_BITS = 64;
/** Blocks in the ring (WireGuard: 1 << 7). */
export const RING_BLOCKS = 128;
/** Counters behind the highest accepted one that are still judged by their bit: (128 − 1) × 64. */
export const WINDOW_SIZE = (RING_BLOCKS - 1) * BLOCK_BITS;
/** The largest counter a transport message can carry. */
export const MAX_COUNTER = 0xffff_ffff_ffff_ffffn;

const WORDS = RING_BLOCKS * 2; // 32-bit words in the ring
const TWO32 = 0x1_0000_0000;
const TWO26 = 0x400_0000; // blocks per 2^32 counters
const SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * The anti-replay filter for one receiving keypair. A new window is empty: every counter is fresh
 * once. Not safe for concurrent use (nothing in Node is). Pure and synchronous.
 */
export class ReplayWindow {
  readonly #ring = new Uint32Array(WORDS);
  #hi = 0; // high 32 bits of the highest counter accepted so far (0 when empty)
  #lo = 0; // low 32 bits

  /** true: the counter is fresh and is now recorded. false: replayed, too old, or not a uint64. */
  check(counter: bigint): boolean {
    if (counter <= SAFE) {
      if (counter < 0n) return false;
      const n = Number(counter);
      return this.checkParts(Math.floor(n / TWO32), n >>> 0);
    }
    if (counter > MAX_COUNTER) return false;
    return this.checkParts(Number(counter >> 32n), Number(counter & 0xffff_ffffn));
  }

  /**
   * The same check for a counter given as its high and low uint32 halves (as read from the wire,
   * little-endian: low = bytes 8..11, high = bytes 12..15 of a transport message).
   * Halves outside [0, 2^32) or not integers are refused.
   */
  checkParts(hi: number, lo: number): boolean {
    if (hi >>> 0 !== hi || lo >>> 0 !== lo) return false;
    const ring = this.#ring;
    const lastHi = this.#hi;
    const lastLo = this.#lo;
    if (hi > lastHi || (hi === lastHi && lo > lastLo)) {
      // Slide forward: clear the blocks after last's block up to counter's block (at most all).
      const dHi = hi - lastHi;
      let blocks = dHi > 1 ? RING_BLOCKS : dHi * TWO26 + (lo >>> 6) - (lastLo >>> 6);
      if (blocks > RING_BLOCKS) blocks = RING_BLOCKS;
      let block = lastLo >>> 6;
      for (let i = 0; i < blocks; i++) {
        block = (block + 1) & (RING_BLOCKS - 1);
        ring[block << 1] = 0;
        ring[(block << 1) | 1] = 0;
      }
      this.#hi = hi;
      this.#lo = lo;
    } else {
      const dHi = lastHi - hi;
      if (dHi > 1 || dHi * TWO32 + lastLo - lo > WINDOW_SIZE) return false;
    }
    const word = (lo >>> 5) & (WORDS - 1);
    const bit = 1 << (lo & 31);
    const old = ring[word];
    if (old & bit) return false;
    ring[word] = old | bit;
    return true;
  }

  /** Empties the window (a new keypair): every counter is fresh once again. */
  reset(): void {
    this.#ring.fill(0);
    this.#hi = 0;
    this.#lo = 0;
  }
}
