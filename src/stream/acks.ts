/**
 * Receive-side ACK bookkeeping (RFC 9000 §13.2): which packet numbers arrived, and when an ACK is due.
 *
 * - An ACK is owed after an ack-eliciting packet; it is sent within max_ack_delay, at once after
 *   `ackEvery` ack-eliciting packets or when a packet arrives out of order (§13.2.1).
 * - Ranges the peer is known to have seen (it acknowledged a packet carrying our ACK up to L) are
 *   dropped (§13.2.4), and at most MAX_TRACKED_RANGES are kept.
 */
import { UDP_DATAGRAM_MAX } from './congestion.ts';
import { RangeSet } from './ranges.ts';

export const MAX_TRACKED_RANGES = 256;

/**
 * Ack-eliciting packets per immediate ACK on a relay path (datagrams above UDP_DATAGRAM_MAX ride
 * inside TCP, reliable and in order). There each ACK costs a whole trip through both agents and the
 * relay (a seal, a relay frame, TLS records, a syscall per hop) and carries no loss signal TCP has
 * not already acted on; congestion-window growth counts acknowledged bytes, not ACKs.
 */
export const RELAY_ACK_EVERY = 4;

/** The `ackEvery` to use for datagrams of `mds` bytes. */
export function ackEveryFor(mds: number, ackEvery: number): number {
  return mds > UDP_DATAGRAM_MAX ? Math.max(ackEvery, RELAY_ACK_EVERY) : ackEvery;
}

export class AckState {
  readonly received = new RangeSet();
  /** An ACK frame is owed (an ack-eliciting packet arrived since the last ACK sent). */
  pending = false;
  /** The owed ACK should go now rather than after the delay. */
  immediate = false;
  /** When the owed ACK must go at the latest (valid when pending). */
  deadline = 0;
  largestAt = 0;
  #elicitingSinceAck = 0;
  #largest = -1;
  #maxAckDelay: number;
  #ackEvery: number;

  constructor(maxAckDelay: number, ackEvery: number) {
    this.#maxAckDelay = maxAckDelay;
    this.#ackEvery = ackEvery;
  }

  /** Ack-eliciting packets after which an ACK goes at once (the path's datagram size can change it). */
  setAckEvery(n: number): void {
    this.#ackEvery = n;
  }

  /** True when `pn` has been seen (a duplicate). */
  isDuplicate(pn: number): boolean {
    return this.received.has(pn);
  }

  /** Records a packet that passed decoding. */
  onPacket(pn: number, ackEliciting: boolean, now: number): void {
    const largest = this.#largest;
    const outOfOrder = largest >= 0 && (pn < largest || pn > largest + 1);
    this.received.add(pn);
    if (pn > largest) {
      this.#largest = pn;
      this.largestAt = now;
    }
    if (this.received.length > MAX_TRACKED_RANGES) this.received.keepHighest(MAX_TRACKED_RANGES);
    if (!ackEliciting) return;
    if (!this.pending) this.deadline = now + this.#maxAckDelay;
    this.pending = true;
    if (outOfOrder || ++this.#elicitingSinceAck >= this.#ackEvery) this.immediate = true;
  }

  /** Due now? */
  due(now: number): boolean {
    return this.pending && (this.immediate || now >= this.deadline);
  }

  /** An ACK frame was written. */
  onAckSent(): void {
    this.pending = false;
    this.immediate = false;
    this.#elicitingSinceAck = 0;
  }

  /** The peer acknowledged a packet of ours that carried an ACK whose largest was `largest`. */
  onAckAcked(largest: number): void {
    this.received.removeBelow(Math.min(largest + 1, this.#largest));
  }

  /** Ranges for an ACK frame, highest first, at most `max`. */
  ranges(max: number): Array<[number, number]> {
    const r = this.received;
    const out: Array<[number, number]> = [];
    for (let i = r.length - 1; i >= 0 && out.length < max; i--) out.push([r.lo(i), r.hi(i)]);
    return out;
  }
}
