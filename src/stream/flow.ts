/**
 * Receive-side flow-control window (RFC 9000 §4), for one stream or the whole connection.
 *
 * The limit advertised to the peer is `consumed + window`; it moves when the application has
 * consumed half a window since the last advertisement. Auto-tuning: if that happens within two
 * round trips of the previous update, the window was the bottleneck, so it doubles (up to `max`).
 * Credit follows consumption only, so the peer's in-flight plus our buffered bytes stay within
 * the window.
 */
export class RecvWindow {
  window: number;
  readonly max: number;
  /** Limit the peer has been told (or assumes by protocol default). */
  advertised: number;
  /** Bytes the application has consumed (or that were discarded). */
  consumed = 0;
  #lastUpdate = -Infinity;

  constructor(initialAdvertised: number, window: number, max: number) {
    this.advertised = initialAdvertised;
    this.window = window;
    this.max = Math.max(max, window);
  }

  /** Consumption grew; returns true when a new limit should be advertised (then read `advertised`). */
  onConsumed(n: number, now: number, srtt: number): boolean {
    this.consumed += n;
    return this.maybeUpdate(now, srtt);
  }

  /** True (and `advertised` moved) when less than half a window of credit remains. */
  maybeUpdate(now: number, srtt: number): boolean {
    if (this.advertised - this.consumed >= this.window / 2) return false;
    if (now - this.#lastUpdate < 2 * srtt && this.window < this.max)
      this.window = Math.min(this.max, this.window * 2);
    this.#lastUpdate = now;
    const next = this.consumed + this.window;
    if (next <= this.advertised) return false;
    this.advertised = next;
    return true;
  }
}
