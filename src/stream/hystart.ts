/**
 * HyStart++ (RFC 9406): leaves slow start when the round trip time starts to grow (a queue is
 * building), before the overshoot fills the queue and costs a burst of losses.
 *
 *   slow start --RTT rose by eta over the last round's minimum--> conservative slow start (growth / 4)
 *        ^                                                                 |
 *        +------------------ RTT fell back below the baseline -------------+--CSS_ROUNDS rounds--> avoidance
 *
 * Rounds are delimited by packet numbers: a round ends when a packet sent after it began is acked.
 */
/** RFC 9406 §4.3 constants (ms where a time). */
export const MIN_RTT_THRESH = 4;
export const MAX_RTT_THRESH = 16;
export const MIN_RTT_DIVISOR = 8;
export const N_RTT_SAMPLE = 8;
export const CSS_GROWTH_DIVISOR = 4;
export const CSS_ROUNDS = 5;

export class HyStart {
  /** In conservative slow start. */
  inCss = false;
  #windowEnd = -1;
  #lastRoundMin = Infinity;
  #roundMin = Infinity;
  #samples = 0;
  #cssBaseline = Infinity;
  #cssRounds = 0;

  /**
   * One RTT sample during slow start. `largestAcked` is the packet it came from, `lastSent` the
   * newest packet number sent. Returns true when slow start should end (enter avoidance).
   */
  onSample(rtt: number, largestAcked: number, lastSent: number): boolean {
    if (largestAcked > this.#windowEnd) {
      // a new round
      this.#windowEnd = lastSent;
      this.#lastRoundMin = this.#roundMin;
      this.#roundMin = Infinity;
      this.#samples = 0;
      if (this.inCss && ++this.#cssRounds >= CSS_ROUNDS) {
        this.reset();
        return true;
      }
    }
    this.#roundMin = Math.min(this.#roundMin, rtt);
    this.#samples++;
    if (this.#samples < N_RTT_SAMPLE || this.#lastRoundMin === Infinity) return false;
    if (!this.inCss) {
      const eta = Math.min(MAX_RTT_THRESH, Math.max(MIN_RTT_THRESH, this.#lastRoundMin / MIN_RTT_DIVISOR));
      if (this.#roundMin >= this.#lastRoundMin + eta) {
        this.inCss = true;
        this.#cssBaseline = this.#roundMin;
        this.#cssRounds = 0;
      }
    } else if (this.#roundMin < this.#cssBaseline) {
      this.inCss = false; // the RTT rise was noise: back to slow start
      this.#cssBaseline = Infinity;
    }
    return false;
  }

  /** Growth for `bytes` acknowledged in slow start. */
  growth(bytes: number): number {
    return this.inCss ? bytes / CSS_GROWTH_DIVISOR : bytes;
  }

  reset(): void {
    this.inCss = false;
    this.#cssBaseline = Infinity;
    this.#cssRounds = 0;
  }
}
