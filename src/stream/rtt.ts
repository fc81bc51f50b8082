/**
 * Round-trip time estimation, RFC 9002 §5. Times in milliseconds.
 */
/** RFC 9002 §6.2.2: before any sample. */
export const INITIAL_RTT_MS = 333;
/** RFC 9002 §6.1.2 kGranularity. */
export const GRANULARITY_MS = 1;

export class RttEstimator {
  latest = 0;
  min = Infinity;
  smoothed: number;
  variance: number;
  /** Time of the first sample; -1 before it. */
  firstSampleAt = -1;

  readonly #initial: number;

  constructor(initialRttMs = INITIAL_RTT_MS) {
    this.#initial = initialRttMs;
    this.smoothed = initialRttMs;
    this.variance = initialRttMs / 2;
  }

  /** Forgets every sample (a new path, RFC 9000 §9.4). */
  reset(): void {
    this.latest = 0;
    this.min = Infinity;
    this.smoothed = this.#initial;
    this.variance = this.#initial / 2;
    this.firstSampleAt = -1;
  }

  get hasSample(): boolean {
    return this.firstSampleAt >= 0;
  }

  /** RFC 9002 §5.3: one sample with the peer's reported ack delay (already capped by the caller). */
  update(latest: number, ackDelay: number, now: number): void {
    this.latest = latest;
    if (this.firstSampleAt < 0) {
      this.firstSampleAt = now;
      this.min = latest;
      this.smoothed = latest;
      this.variance = latest / 2;
      return;
    }
    this.min = Math.min(this.min, latest);
    const adjusted = latest - ackDelay >= this.min ? latest - ackDelay : latest;
    this.variance = 0.75 * this.variance + 0.25 * Math.abs(this.smoothed - adjusted);
    this.smoothed = 0.875 * this.smoothed + 0.125 * adjusted;
  }

  /** RFC 9002 §6.2.1: the probe timeout period before backoff. */
  pto(maxAckDelay: number): number {
    return this.smoothed + Math.max(4 * this.variance, GRANULARITY_MS) + maxAckDelay;
  }

  /** RFC 9002 §6.1.2: time threshold for declaring a packet lost. */
  lossDelay(): number {
    return Math.max((9 / 8) * Math.max(this.smoothed, this.latest), GRANULARITY_MS);
  }
}
