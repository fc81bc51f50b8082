/**
 * NewReno congestion control (RFC 9002 §7, appendix B) with HyStart++ slow start (RFC 9406,
 * hystart.ts), and a token-bucket pacer (§7.7).
 *
 *   slow start --loss--> recovery --ack of a packet sent after recovery began--> congestion avoidance
 *        ^                                                                            |
 *        +------------------------ persistent congestion (cwnd = minimum) ------------+
 *
 * Byte counts; times in ms.
 */
import { HyStart } from './hystart.ts';

/** RFC 9002 §7.2: initial window = min(10 * size, max(14720, 2 * size)). */
export function initialWindow(mds: number): number {
  return Math.min(10 * mds, Math.max(14720, 2 * mds));
}
/** RFC 9002 §7.2 kMinimumWindow = 2 * max_datagram_size. */
export function minimumWindow(mds: number): number {
  return 2 * mds;
}
/** RFC 9002 §7.6.1 kPersistentCongestionThreshold. */
export const PERSISTENT_CONGESTION_THRESHOLD = 3;
/**
 * Largest datagram of a UDP path. Larger ones only travel over a relay, i.e. inside TCP (reliable,
 * in order). HyStart++ runs only up to this size: on a relay path a rising RTT is TCP's send
 * buffers and the scheduler of the processes on the way (several ms on a busy host), not a network
 * queue, and TCP does its own congestion control. Leaving slow start on that signal left the window
 * far too small (measured on the relay path: bench/README.md); slow start there ends on loss (a
 * full relay queue) as in plain NewReno.
 */
export const UDP_DATAGRAM_MAX = 1500;
/** RFC 9002 §7.7: pace at N times cwnd/srtt. */
export const PACING_GAIN = 1.25;

export class NewReno {
  mds: number;
  cwnd: number;
  ssthresh = Infinity;
  bytesInFlight = 0;
  /** Start of the current recovery period; packets sent before it do not change cwnd. */
  recoveryStart = -Infinity;
  #acc = 0;
  #priorCwnd = 0;
  #priorSsthresh = Infinity;
  readonly #hystart = new HyStart();

  constructor(mds: number) {
    this.mds = mds;
    this.cwnd = initialWindow(mds);
  }

  setDatagramSize(mds: number): void {
    if (mds > UDP_DATAGRAM_MAX) this.#hystart.reset();
    this.mds = mds;
    this.cwnd = Math.max(this.cwnd, minimumWindow(mds));
  }

  get inRecovery(): boolean {
    return this.recoveryStart > -Infinity;
  }

  /** Room for one more packet of `size` bytes. */
  canSend(size: number): boolean {
    return this.bytesInFlight + size <= this.cwnd;
  }

  onSent(bytes: number): void {
    this.bytesInFlight += bytes;
  }

  /** §B.5. `inFlightBefore` tells whether the window was being used (no growth when app-limited, §7.8). */
  onAcked(bytes: number, timeSent: number, inFlightBefore: number): void {
    this.bytesInFlight -= bytes;
    if (timeSent <= this.recoveryStart) return;
    if (inFlightBefore * 2 < this.cwnd) return; // application-limited
    if (this.cwnd < this.ssthresh) {
      this.cwnd += this.#hystart.growth(bytes);
      return;
    }
    this.#acc += bytes;
    if (this.#acc >= this.cwnd) {
      this.#acc -= this.cwnd;
      this.cwnd += this.mds;
    }
  }

  /** An RTT sample from the ACK of `largestAcked` while `lastSent` was the newest packet (HyStart++). */
  onRttSample(rtt: number, largestAcked: number, lastSent: number): void {
    if (this.cwnd >= this.ssthresh || this.mds > UDP_DATAGRAM_MAX) return;
    if (this.#hystart.onSample(rtt, largestAcked, lastSent)) this.ssthresh = this.cwnd;
  }

  onLost(bytes: number): void {
    this.bytesInFlight -= bytes;
  }

  /** §B.6: one congestion event per recovery period. Returns true when a new one began. */
  onCongestionEvent(timeSent: number, now: number): boolean {
    if (timeSent <= this.recoveryStart) return false;
    this.#priorCwnd = this.cwnd;
    this.#priorSsthresh = this.ssthresh;
    this.recoveryStart = now;
    this.#hystart.reset();
    this.ssthresh = Math.max(this.cwnd / 2, minimumWindow(this.mds));
    this.cwnd = this.ssthresh;
    this.#acc = 0;
    return true;
  }

  /** The last congestion event was caused by spurious losses: restore the window it cut. */
  undo(): void {
    if (this.#priorCwnd === 0) return;
    this.cwnd = Math.max(this.cwnd, this.#priorCwnd);
    this.ssthresh = Math.max(this.ssthresh, this.#priorSsthresh);
    this.recoveryStart = -Infinity;
    this.#priorCwnd = 0;
  }

  /** §7.6.2 */
  onPersistentCongestion(): void {
    this.#priorCwnd = 0;
    this.cwnd = minimumWindow(this.mds);
    this.recoveryStart = -Infinity;
    this.#acc = 0;
  }

  /** Forgets the path: back to the initial window (a new path, RFC 9000 §9.4). */
  reset(): void {
    this.#hystart.reset();
    this.cwnd = initialWindow(this.mds);
    this.ssthresh = Infinity;
    this.recoveryStart = -Infinity;
    this.#acc = 0;
  }
}

/**
 * Token bucket: tokens refill at PACING_GAIN * cwnd / srtt bytes per ms; the bucket holds at least a
 * few datagrams and at least 2 ms of sending, so timer granularity (~1 ms) does not cap the rate.
 */
export class Pacer {
  #tokens = Infinity;
  #last = 0;

  /** Ms to wait before `size` bytes may go (0 = now). `srtt` 0 or unknown disables pacing. */
  delay(size: number, now: number, cwnd: number, srtt: number, mds: number): number {
    if (!(srtt > 0)) return 0;
    const rate = (PACING_GAIN * cwnd) / srtt;
    const capacity = Math.min(Math.max(10 * mds, rate * 2), Math.max(cwnd, 2 * mds));
    this.#tokens = Math.min(capacity, this.#tokens + (now - this.#last) * rate);
    this.#last = now;
    const wait = (size - this.#tokens) / rate;
    // Below a microsecond the wait is rounding noise: send (tokens may dip slightly negative).
    return wait < 0.001 ? 0 : wait;
  }

  onSent(size: number): void {
    this.#tokens -= size;
  }
}
