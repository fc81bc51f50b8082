/**
 * Sent-packet tracking, loss detection and probe timeout, RFC 9002 §6 — a pure state machine:
 * the connection calls onSent / onAck / onTimeout with the time and gets acked and lost packets back
 * through the handler; it reads `deadline()` to arm its one timer.
 *
 * Packet numbers are sent consecutively, so sent packets live in a deque indexed by
 * `pn - base` (O(1) lookup, no map). Outstanding packets at or below the largest acknowledged
 * number ("holes") are kept in a short sorted list: ACK ranges that repeat old information cost
 * nothing, and only holes are checked for loss (§6.1), so an ACK costs O(newly acked + holes).
 */
import { NewReno, PERSISTENT_CONGESTION_THRESHOLD } from './congestion.ts';
import { RangeSet } from './ranges.ts';
import { GRANULARITY_MS, RttEstimator } from './rtt.ts';

/** RFC 9002 §6.1.1 kPacketThreshold: the initial reordering threshold. */
export const PACKET_THRESHOLD = 3;
/** The threshold grows (§6.1.1 allows adapting it) when a packet declared lost is acknowledged later. */
export const MAX_PACKET_THRESHOLD = 16;
/** Ranges of recently declared-lost packet numbers kept to recognise spurious losses. */
const LOST_MEMORY_RANGES = 64;

export interface SentPacket<F> {
  readonly pn: number;
  readonly timeSent: number;
  readonly size: number;
  readonly ackEliciting: boolean;
  /** Counts toward bytes in flight (ack-eliciting or padded; here: ack-eliciting). */
  readonly inFlight: boolean;
  /** What the packet carried, for retransmission of frames (not packets) when lost. */
  readonly frames: F;
}

export interface RecoveryHandler<F> {
  onAcked(p: SentPacket<F>): void;
  onLost(p: SentPacket<F>): void;
}

export type AckRanges = readonly (readonly [number, number])[];

export class Recovery<F> {
  readonly rtt: RttEstimator;
  readonly cc: NewReno;
  /** Peer's max_ack_delay (ms): used in PTO and to cap reported ack delays. */
  readonly maxAckDelay: number;
  /** Upper bound of one PTO period after backoff (ms). */
  readonly maxPto: number;
  largestAcked = -1;
  ptoCount = 0;
  /** Loss-detection counters. */
  lostPackets = 0;
  /** Packets declared lost that were acknowledged afterwards (reordering, not loss). */
  spuriousLosses = 0;
  /** Current packet reordering threshold (starts at kPacketThreshold). */
  packetThreshold = PACKET_THRESHOLD;
  readonly #lostMemory = new RangeSet();
  /** The loss batch that started the current congestion event: its range and how many are not yet proven spurious. */
  #eventFirst = -1;
  #eventLast = -1;
  #eventUnproven = 0;

  #h: RecoveryHandler<F>;
  #slots: (SentPacket<F> | undefined)[] = [];
  #head = 0;
  #base = 0; // pn of slots[0]
  #next = 0; // next pn to be sent
  #holes: number[] = [];
  #ackElicitingInFlight = 0;
  #lastAckElicitingSent = 0;
  #lossTime = 0; // 0 = none

  constructor(opts: {
    handler: RecoveryHandler<F>;
    mds: number;
    maxAckDelay: number;
    initialRtt: number;
    maxPto: number;
  }) {
    this.#h = opts.handler;
    this.rtt = new RttEstimator(opts.initialRtt);
    this.cc = new NewReno(opts.mds);
    this.maxAckDelay = opts.maxAckDelay;
    this.maxPto = opts.maxPto;
  }

  get nextPn(): number {
    return this.#next;
  }
  get ackElicitingInFlight(): number {
    return this.#ackElicitingInFlight;
  }
  /** Packets tracked (outstanding). */
  get tracked(): number {
    let n = 0;
    for (let i = this.#head; i < this.#slots.length; i++) if (this.#slots[i]) n++;
    return n;
  }

  #get(pn: number): SentPacket<F> | undefined {
    const i = pn - this.#base;
    return i >= this.#head && i < this.#slots.length ? this.#slots[i] : undefined;
  }

  #remove(pn: number): void {
    this.#slots[pn - this.#base] = undefined;
    const s = this.#slots;
    while (this.#head < s.length && s[this.#head] === undefined) this.#head++;
    if (this.#head > 1024 && this.#head * 2 > s.length) {
      s.splice(0, this.#head);
      this.#base += this.#head;
      this.#head = 0;
    }
  }

  onSent(p: SentPacket<F>): void {
    if (p.pn !== this.#next)
      throw new Error(`packet numbers must be consecutive: ${p.pn} after ${this.#next - 1}`);
    this.#next++;
    this.#slots.push(p);
    if (p.inFlight) this.cc.onSent(p.size);
    if (p.ackEliciting) {
      this.#ackElicitingInFlight++;
      this.#lastAckElicitingSent = p.timeSent;
    }
  }

  #acked(p: SentPacket<F>): void {
    this.#remove(p.pn);
    if (p.ackEliciting) this.#ackElicitingInFlight--;
    if (p.inFlight) this.cc.onAcked(p.size, p.timeSent, this.cc.bytesInFlight);
    this.#h.onAcked(p);
  }

  /**
   * One ACK frame. Ranges highest first. Returns false when it acknowledges a packet never sent
   * (a protocol violation; nothing is changed).
   */
  onAck(ranges: AckRanges, ackDelayMs: number, now: number): boolean {
    const largest = ranges[0][1];
    if (largest >= this.#next) return false;
    const prevLargest = this.largestAcked;
    let newlyAckedEliciting = false;
    let largestNewlyAcked: SentPacket<F> | undefined;

    // 1. Holes (outstanding packets <= previous largest): acked if some range covers them.
    if (this.#holes.length) {
      const keep: number[] = [];
      for (const pn of this.#holes) {
        let covered = false;
        for (const [lo, hi] of ranges) {
          if (pn > hi) break;
          if (pn >= lo) {
            covered = true;
            break;
          }
        }
        const p = this.#get(pn);
        if (!p) continue;
        if (covered) {
          newlyAckedEliciting ||= p.ackEliciting;
          this.#acked(p);
        } else keep.push(pn);
      }
      this.#holes = keep;
    }

    // 2. The new part above the previous largest, ascending: acked or a new hole.
    if (largest > prevLargest) {
      let pn = prevLargest + 1;
      for (let r = ranges.length - 1; r >= 0; r--) {
        const [lo, hi] = ranges[r];
        if (hi < pn) continue;
        for (; pn < lo; pn++) if (this.#get(pn)) this.#holes.push(pn);
        for (; pn <= hi; pn++) {
          const p = this.#get(pn);
          if (!p) continue;
          newlyAckedEliciting ||= p.ackEliciting;
          if (pn === largest) largestNewlyAcked = p;
          this.#acked(p);
        }
      }
      this.largestAcked = largest;
    }

    // Spurious losses: packets declared lost that the peer did receive.
    if (!this.#lostMemory.empty) this.#checkSpurious(ranges);

    // 3. RTT sample (§5.1) when the largest acknowledged is newly acked and something was ack-eliciting.
    if (largestNewlyAcked && newlyAckedEliciting) {
      const delay = this.rtt.hasSample ? Math.min(ackDelayMs, this.maxAckDelay) : ackDelayMs;
      this.rtt.update(now - largestNewlyAcked.timeSent, delay, now);
      this.cc.onRttSample(this.rtt.latest, largest, this.#next - 1);
    }
    if (newlyAckedEliciting || largestNewlyAcked) this.ptoCount = 0;
    this.#detectLost(now);
    return true;
  }

  /** §6.1: packet and time thresholds over the holes. */
  #detectLost(now: number): void {
    this.#lossTime = 0;
    if (this.#holes.length === 0) return;
    const lossDelay = this.rtt.lossDelay();
    const lostBefore = now - lossDelay;
    const keep: number[] = [];
    const lost: SentPacket<F>[] = [];
    for (const pn of this.#holes) {
      const p = this.#get(pn);
      if (!p) continue;
      if (pn <= this.largestAcked - this.packetThreshold || p.timeSent <= lostBefore) lost.push(p);
      else {
        keep.push(pn);
        const t = p.timeSent + lossDelay;
        if (this.#lossTime === 0 || t < this.#lossTime) this.#lossTime = t;
      }
    }
    this.#holes = keep;
    if (lost.length) this.#onLost(lost, now);
  }

  #onLost(lost: SentPacket<F>[], now: number): void {
    let newestInFlight: SentPacket<F> | undefined;
    let firstEliciting: SentPacket<F> | undefined;
    let lastEliciting: SentPacket<F> | undefined;
    for (const p of lost) {
      this.#remove(p.pn);
      this.#lostMemory.add(p.pn);
      this.lostPackets++;
      if (p.ackEliciting) {
        this.#ackElicitingInFlight--;
        firstEliciting ??= p;
        lastEliciting = p;
      }
      if (p.inFlight) {
        this.cc.onLost(p.size);
        newestInFlight = p;
      }
      this.#h.onLost(p);
    }
    if (this.#lostMemory.length > LOST_MEMORY_RANGES) this.#lostMemory.keepHighest(LOST_MEMORY_RANGES);
    if (newestInFlight && this.cc.onCongestionEvent(newestInFlight.timeSent, now)) {
      this.#eventFirst = lost[0].pn;
      this.#eventLast = lost[lost.length - 1].pn;
      this.#eventUnproven = lost.length;
    }
    // §7.6: persistent congestion, when the lost ack-eliciting packets span a long enough period with
    // nothing acknowledged in between (consecutive numbers: all sent between them were lost too).
    if (
      firstEliciting &&
      lastEliciting &&
      this.rtt.hasSample &&
      firstEliciting.timeSent > this.rtt.firstSampleAt
    ) {
      const duration =
        (this.rtt.smoothed + Math.max(4 * this.rtt.variance, GRANULARITY_MS) + this.maxAckDelay) *
        PERSISTENT_CONGESTION_THRESHOLD;
      const contiguous = lastEliciting.pn - firstEliciting.pn + 1 <= lost.length;
      if (contiguous && lastEliciting.timeSent - firstEliciting.timeSent > duration)
        this.cc.onPersistentCongestion();
    }
  }

  /**
   * Acknowledged packets we had declared lost: the path reorders. Raise the packet threshold to the
   * observed reordering distance, and undo the congestion event those losses caused (RFC 9002 §7
   * leaves the reaction to spurious loss open; this is what TCP's Eifel/RACK-style undo does).
   */
  #checkSpurious(ranges: AckRanges): void {
    const mem = this.#lostMemory;
    for (const [lo, hi] of ranges) {
      if (hi < (mem.min() ?? Infinity)) break;
      for (let i = 0; i < mem.length; i++) {
        const a = Math.max(lo, mem.lo(i));
        const b = Math.min(hi, mem.hi(i));
        if (a > b) continue;
        this.spuriousLosses += b - a + 1;
        const distance = this.largestAcked - a + 1;
        if (distance > this.packetThreshold) this.packetThreshold = Math.min(MAX_PACKET_THRESHOLD, distance);
        const inEvent = Math.min(b, this.#eventLast) - Math.max(a, this.#eventFirst) + 1;
        if (this.#eventFirst >= 0 && inEvent > 0) this.#eventUnproven -= inEvent;
      }
      mem.remove(lo, hi);
    }
    if (this.#eventFirst >= 0 && this.#eventUnproven <= 0) {
      this.cc.undo();
      this.#eventFirst = -1;
    }
  }

  /** A new path: congestion window and RTT start over (RFC 9000 §9.4); outstanding packets stay tracked. */
  onPathChange(): void {
    this.cc.reset();
    this.rtt.reset();
    this.packetThreshold = PACKET_THRESHOLD;
    this.ptoCount = 0;
  }

  /** When the connection's loss/PTO timer should fire (ms), or 0 for never. */
  deadline(): number {
    if (this.#lossTime) return this.#lossTime;
    if (this.#ackElicitingInFlight === 0) return 0;
    return this.#lastAckElicitingSent + this.ptoPeriod();
  }

  /** The current PTO period with backoff (§6.2.1), capped at maxPto. */
  ptoPeriod(): number {
    return Math.min(this.rtt.pto(this.maxAckDelay) * 2 ** this.ptoCount, this.maxPto);
  }

  /** The timer fired. Returns true when a probe should be sent (PTO); losses go to the handler. */
  onTimeout(now: number): boolean {
    if (this.#lossTime && this.#lossTime <= now) {
      this.#detectLost(now);
      return false;
    }
    const d = this.deadline();
    if (d === 0 || d > now) return false;
    this.ptoCount++;
    this.#lastAckElicitingSent = now; // the next PTO counts from this probe even if it cannot be sent
    return true;
  }

  /** The oldest outstanding ack-eliciting packet (what a probe re-sends when there is nothing new). */
  oldestEliciting(): SentPacket<F> | undefined {
    for (let i = this.#head; i < this.#slots.length; i++) {
      const p = this.#slots[i];
      if (p && p.ackEliciting) return p;
    }
    return undefined;
  }

  /** Every outstanding packet, oldest first (for close()). */
  *outstanding(): IterableIterator<SentPacket<F>> {
    for (let i = this.#head; i < this.#slots.length; i++) {
      const p = this.#slots[i];
      if (p) yield p;
    }
  }
}
