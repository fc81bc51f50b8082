/**
 * One Connection per peer session: reliable, flow-controlled, congestion-controlled streams over
 * an unreliable datagram path (QUIC-like: RFC 9000 frames, RFC 9002 recovery).
 *
 *   open --close() / CLOSE / idle timeout / protocol violation--> closed
 *        (every stream errors, timers stop, later datagrams are dropped and counted)
 *
 * Receive path (receiveDatagram): decode, apply each frame, record the packet number for ACKs.
 * Send path (flush, once per turn of the event loop via a microtask, or from the timer): build
 * packets while the congestion window and the pacer allow: ACK, then control frames, then stream
 * data in round-robin (sender.ts). Every packet remembers its frames; loss requeues those frames,
 * re-split to the datagram size of the moment. All timing is in timers.ts.
 *
 * Callbacks into application code (write/final callbacks, destroy, the incoming-stream handler,
 * path frames) are deferred to the end of the event being handled, so no state changes under us.
 */
import type { Clock } from '../clock/index.ts';
import {
  FrameError,
  Writer,
  ackLength,
  decodePacket,
  isAckEliciting,
  writeAckFrame,
  writeFrame,
  MAX_REASON_BYTES,
} from '../proto/frames/index.ts';
import type { Frame } from '../proto/frames/index.ts';
import { AckState, ackEveryFor } from './acks.ts';
import { Pacer } from './congestion.ts';
import { CLOSE_NO_ERROR, CLOSE_PROTOCOL_VIOLATION, StreamError } from './errors.ts';
import { MAX_DATAGRAM_SIZE, MIN_DATAGRAM_SIZE, resolveOptions } from './options.ts';
import type { ConnectionOptions, ResolvedOptions } from './options.ts';
import { Recovery } from './recovery.ts';
import type { SentPacket } from './recovery.ts';
import { K_ACK, K_CTRL, K_STREAM, SendQueue, SentFrame } from './sender.ts';
import { ConnectionStats } from './stats.ts';
import type { DropReason } from './stats.ts';
import type { Stream, StreamCore } from './stream.ts';
import { Streams, truncateUtf8 } from './streams.ts';
import { ConnectionTimers, earliest } from './timers.ts';

type Sent = SentPacket<SentFrame[]>;

/** At most this many ACK ranges go into one ACK frame. */
const ACK_RANGES_PER_FRAME = 32;
/** After this many ACK-only packets, one PING makes the peer acknowledge our ACKs (RFC 9000 §13.2.4). */
const ACK_ONLY_BEFORE_PING = 20;
/** Packets one flush builds before it lets the event loop run. */
const MAX_PACKETS_PER_FLUSH = 256;
/** Probe packets sent when the probe timeout fires (RFC 9002 §6.2.4). */
const PTO_PROBES = 2;
const PING = 0x01;

export class Connection {
  readonly #o: ResolvedOptions;
  readonly #clock: Clock;
  #mds: number;
  readonly #recovery: Recovery<SentFrame[]>;
  readonly #acks: AckState;
  readonly #pacer = new Pacer();
  readonly #timers: ConnectionTimers;
  readonly #stats = new ConnectionStats();
  readonly #out: SendQueue;
  readonly #streams: Streams;

  #closed = false;
  /** A server stays silent until it hears from the client (see ConnectionOptions.isClient). */
  #heard = false;
  #flushScheduled = false;
  #inFlush = false;
  #deferred: (() => void)[] = [];
  #lastReceived: number;
  #lastElicitingSent: number;
  #pacingAt = 0;
  #ackOnlyRun = 0;
  #pingPending = false;
  #probes = 0;
  readonly #scratch = new Uint8Array(MAX_DATAGRAM_SIZE);

  constructor(opts: ConnectionOptions) {
    this.#o = resolveOptions(opts);
    this.#clock = opts.clock;
    this.#mds = Math.min(this.#o.maxDatagramSize, MAX_DATAGRAM_SIZE);
    this.#recovery = new Recovery<SentFrame[]>({
      handler: { onAcked: (p) => this.#onPacketAcked(p), onLost: (p) => this.#onPacketLost(p) },
      mds: this.#mds,
      maxAckDelay: this.#o.maxAckDelayMs,
      initialRtt: this.#o.initialRttMs,
      maxPto: this.#o.maxPtoMs,
    });
    this.#acks = new AckState(this.#o.maxAckDelayMs, ackEveryFor(this.#o.maxDatagramSize, this.#o.ackEvery));
    this.#timers = new ConnectionTimers(this.#clock, () => this.#onTimer());
    this.#out = new SendQueue(this.#stats, {
      maxData: () => this.#streams.connRecv.advertised,
      maxStreams: () => this.#streams.table.peerMax,
      lookup: (id) => this.#streams.table.map.get(id),
    });
    this.#streams = new Streams(this.#o, {
      out: this.#out,
      stats: this.#stats,
      isClosed: () => this.#closed,
      now: () => this.#clock.now(),
      srtt: () => this.#recovery.rtt.smoothed,
      violation: (msg, code) => this.#violation(msg, code),
      drop: (reason) => this.#drop(reason),
      defer: (fn) => this.#defer(fn),
      later: (fn) => this.#later(fn),
      flushSoon: () => this.#scheduleFlush(),
    });
    const now = this.#clock.now();
    this.#lastReceived = now;
    this.#lastElicitingSent = now;
    this.#scheduleFlush();
    this.#armTimer(now);
  }

  // ---------------------------------------------------------------- public API

  get closed(): boolean {
    return this.#closed;
  }
  get maxDatagramSize(): number {
    return this.#mds;
  }

  /**
   * One datagram from the path. Never throws: malformed input is dropped and counted. Stream data is
   * kept as views into `datagram` (no copy), so the caller must not reuse its memory afterwards.
   */
  receiveDatagram(datagram: Uint8Array): void {
    if (this.#closed) return this.#drop('closed');
    let pkt;
    try {
      pkt = decodePacket(datagram);
    } catch (e) {
      return this.#drop(e instanceof FrameError ? 'malformed' : 'internal');
    }
    if (this.#acks.isDuplicate(pkt.pn)) return this.#drop('duplicate');
    this.#heard = true;
    const now = this.#clock.now();
    this.#lastReceived = now;
    this.#stats.packetsReceived++;
    this.#stats.bytesReceived += datagram.length;
    let eliciting = false;
    try {
      for (const f of pkt.frames) {
        if (this.#closed) break;
        if (!eliciting && isAckEliciting(f)) eliciting = true;
        this.#onFrame(f, now);
      }
    } catch (e) {
      // A bug of ours must not escape to the path: count it and close.
      this.#drop('internal');
      this.#violation(`internal error: ${String(e)}`, CLOSE_PROTOCOL_VIOLATION);
    }
    if (!this.#closed) this.#acks.onPacket(pkt.pn, eliciting, now);
    this.#runDeferred();
    this.#scheduleFlush();
  }

  /** The path's datagram size changed; new data and retransmissions use the new size at once. */
  setMaxDatagramSize(bytes: number): void {
    const mds = Math.max(MIN_DATAGRAM_SIZE, Math.min(MAX_DATAGRAM_SIZE, Math.floor(bytes)));
    if (mds === this.#mds) return;
    this.#mds = mds;
    this.#recovery.cc.setDatagramSize(mds);
    this.#acks.setAckEvery(ackEveryFor(mds, this.#o.ackEvery));
    this.#scheduleFlush();
  }

  /**
   * The session moved to another path (relay ↔ direct): congestion window and RTT estimate start
   * over (RFC 9000 §9.4), and the datagram size may change. Streams notice nothing.
   */
  pathChanged(maxDatagramSize = this.#mds): void {
    this.setMaxDatagramSize(maxDatagramSize);
    this.#recovery.onPathChange();
    this.#scheduleFlush();
  }

  /**
   * The path says it is congested without having lost anything (a relay's PEER_BUSY), handled as
   * an ECN congestion-experienced mark (RFC 9002 §7.3): one window reduction per round trip, no
   * retransmission.
   */
  congestionSignal(): void {
    if (this.#closed) return;
    const now = this.#clock.now();
    const rtt = this.#recovery.rtt;
    if (this.#recovery.cc.onCongestionEvent(now - (rtt.hasSample ? rtt.smoothed : 0), now))
      this.#stats.congestionSignals++;
  }

  /** The path below drained its backlog (ConnectionOptions.pathReady): send what waits. */
  resume(): void {
    this.#scheduleFlush();
  }

  /** Opens a stream asking for `service`; the Duplex errors with StreamError 'STREAM_REFUSED' if refused. */
  openStream(service: string): Stream {
    return this.#streams.open(service);
  }

  /** Closes the connection: sends CLOSE, errors every stream with CONNECTION_CLOSED, stops all timers. */
  close(code = CLOSE_NO_ERROR, reason = ''): void {
    if (this.#closed) return;
    this.#sendClose(code, reason);
    this.#terminate(undefined, code, reason);
  }

  /** A snapshot of the counters (metrics-ready). */
  stats(): ConnectionStats {
    const s = this.#stats;
    const r = this.#recovery;
    s.cwnd = r.cc.cwnd;
    s.ssthresh = r.cc.ssthresh;
    s.bytesInFlight = r.cc.bytesInFlight;
    s.srttMs = r.rtt.smoothed;
    s.minRttMs = r.rtt.min;
    s.rttVarMs = r.rtt.variance;
    s.ptoCount = r.ptoCount;
    s.packetsLost = r.lostPackets;
    s.spuriousLosses = r.spuriousLosses;
    s.reorderThreshold = r.packetThreshold;
    s.streams = this.#streams.size;
    s.maxDatagramSize = this.#mds;
    s.streamSendBuffered = this.#streams.sendBuffered();
    s.sendWindow = this.#out.connCredit;
    s.recvWindow = this.#streams.connRecv.window;
    return s.snapshot();
  }

  // ---------------------------------------------------------------- receive path

  #onFrame(f: Frame, now: number): void {
    switch (f.type) {
      case 'ack':
        if (!this.#recovery.onAck(f.ranges, f.delayUs / 1000, now))
          this.#violation('ACK for a packet never sent', CLOSE_PROTOCOL_VIOLATION);
        return;
      case 'stream':
        return this.#streams.onStream(f, now);
      case 'stream_open':
        return this.#streams.onStreamOpen(f.id, f.service);
      case 'stream_refused':
        return this.#streams.onStreamRefused(f.id, f.code, f.reason);
      case 'reset_stream':
        return this.#streams.onResetStream(f.id, f.code, f.finalSize, now);
      case 'stop_sending':
        return this.#streams.onStopSending(f.id, f.code);
      case 'max_data':
        return this.#out.onMaxData(f.max);
      case 'max_stream_data':
        return this.#streams.onMaxStreamData(f.id, f.max);
      case 'max_streams':
        return this.#streams.onMaxStreams(f.max);
      case 'data_blocked':
        return this.#streams.onDataBlocked(now);
      case 'stream_data_blocked':
        return this.#streams.onStreamDataBlocked(f.id, now);
      case 'streams_blocked':
      case 'ping':
        return;
      case 'close': {
        const msg = `peer closed the connection (code ${f.code})${f.reason ? `: ${f.reason}` : ''}`;
        this.#terminate(
          new StreamError('CONNECTION_CLOSED', msg, { peerCode: f.code, reason: f.reason }),
          f.code,
        );
        return;
      }
      case 'path_ping':
      case 'path_pong':
      case 'call_me_maybe':
        // The path layer's frames travel in datagrams of their own, never inside a stream packet.
        this.#drop('path_frame');
        return;
    }
  }

  // ---------------------------------------------------------------- acks and losses of our packets

  #onPacketAcked(p: Sent): void {
    for (const f of p.frames) {
      if (f.k === K_STREAM) this.#streams.onDataAcked(f.core!, f.off, f.len, f.fin);
      else if (f.k === K_CTRL && f.core && f.f!.type === 'reset_stream') this.#streams.onResetAcked(f.core);
      else if (f.k === K_ACK) this.#acks.onAckAcked(f.off);
    }
  }

  #onPacketLost(p: Sent): void {
    if (p.ackEliciting) this.#stats.elicitingLost++;
    this.#out.requeue(p.frames);
    this.#scheduleFlush();
  }

  // ---------------------------------------------------------------- send path

  #scheduleFlush(): void {
    if (this.#flushScheduled || this.#closed) return;
    this.#flushScheduled = true;
    queueMicrotask(() => this.#flush());
  }

  /** A long burst goes on after the event loop has run (incoming ACKs, I/O), not in a microtask chain. */
  #continueSoon(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    setImmediate(() => this.#flush());
  }

  #flush(): void {
    this.#flushScheduled = false;
    if (this.#closed || this.#inFlush) return;
    if (!this.#heard && !this.#o.isClient) return;
    this.#inFlush = true;
    const now = this.#clock.now();
    this.#pacingAt = 0;
    this.#streams.settleCredit();
    const cc = this.#recovery.cc;
    try {
      for (let n = 0; n < MAX_PACKETS_PER_FLUSH; n++) {
        const probe = this.#probes > 0;
        const ackDue = this.#acks.due(now);
        const work = probe || this.#pingPending || this.#out.hasWork();
        if (!work && !ackDue) break;
        if (work && !probe) {
          // The path's own backlog, the congestion window, then the pacer (RFC 9002 §7.7). ACKs
          // alone are never held back.
          let wait = cc.bytesInFlight >= cc.cwnd || this.#o.pathReady?.() === false ? -1 : 0;
          if (wait === 0) {
            const srtt = this.#recovery.rtt.hasSample ? this.#recovery.rtt.smoothed : 0;
            wait = this.#pacer.delay(this.#mds, now, cc.cwnd, srtt, this.#mds);
            if (wait > 0) this.#pacingAt = now + wait;
          }
          if (wait !== 0) {
            if (ackDue) this.#sendPacket(now, true, false);
            break;
          }
        }
        if (!this.#sendPacket(now, !work, probe)) break;
        if (probe) this.#probes--;
        if (n === MAX_PACKETS_PER_FLUSH - 1) this.#continueSoon();
      }
    } finally {
      this.#inFlush = false;
    }
    this.#runDeferred();
    this.#armTimer(now);
  }

  /** Builds and sends one packet. Returns false when there was nothing to put in it. */
  #sendPacket(now: number, ackOnly: boolean, probe: boolean): boolean {
    const w = new Writer(this.#scratch.subarray(0, this.#mds));
    const pn = this.#recovery.nextPn;
    w.varint(pn);
    const frames: SentFrame[] = [];
    let eliciting = false;
    if (this.#acks.pending) this.#writeAck(w, frames, now);
    if (!ackOnly) {
      const released: StreamCore[] = [];
      eliciting = this.#out.writeControl(w, frames);
      if (this.#out.writeStreams(w, frames, released)) eliciting = true;
      if (probe && !eliciting) {
        // Nothing new to send: the probe carries the oldest outstanding data again (RFC 9002 §6.2.4).
        const oldest = this.#recovery.oldestEliciting();
        if (oldest) {
          this.#out.requeue(oldest.frames);
          if (this.#out.writeControl(w, frames)) eliciting = true;
          if (this.#out.writeStreams(w, frames, released)) eliciting = true;
        }
      }
      for (const c of released) {
        const cb = c.writeCb;
        c.writeCb = undefined;
        if (cb) this.#defer(() => cb());
      }
      if ((probe || this.#pingPending) && !eliciting && w.remaining > 0) {
        w.u8(PING);
        eliciting = true;
      }
      this.#pingPending = false;
    }
    if (!eliciting && frames.length > 0 && ++this.#ackOnlyRun >= ACK_ONLY_BEFORE_PING && w.remaining > 0) {
      w.u8(PING);
      eliciting = true;
    }
    if (frames.length === 0 && !eliciting) return false;
    const size = w.pos;
    if (eliciting) {
      this.#ackOnlyRun = 0;
      this.#lastElicitingSent = now;
      this.#pacer.onSent(size);
    }
    this.#recovery.onSent({ pn, timeSent: now, size, ackEliciting: eliciting, inFlight: eliciting, frames });
    this.#stats.packetsSent++;
    this.#stats.bytesSent += size;
    this.#emit(w.buf.slice(0, size));
    return true;
  }

  #writeAck(w: Writer, frames: SentFrame[], now: number): void {
    const ranges = this.#acks.ranges(ACK_RANGES_PER_FRAME);
    if (ranges.length === 0) return;
    const delayUs = Math.max(0, Math.round((now - this.#acks.largestAt) * 1000));
    let count = ranges.length;
    while (count > 1 && ackLength(ranges, delayUs, count) > w.remaining / 2) count--;
    if (ackLength(ranges, delayUs, count) > w.remaining) return;
    writeAckFrame(w, ranges, delayUs, count);
    this.#acks.onAckSent();
    frames.push(new SentFrame(K_ACK, undefined, ranges[0][1], 0, false, undefined));
  }

  /** CLOSE goes once, outside congestion control and recovery (RFC 9000 §10.2). */
  #sendClose(code: number, reason: string): void {
    const w = new Writer(new Uint8Array(this.#mds));
    w.varint(this.#recovery.nextPn);
    writeFrame(w, {
      type: 'close',
      code,
      reason: truncateUtf8(reason, Math.min(MAX_REASON_BYTES, this.#mds - 32)),
    });
    this.#emit(w.buf.subarray(0, w.pos));
  }

  #emit(d: Uint8Array): void {
    try {
      this.#o.sendDatagram(d);
    } catch {
      this.#drop('send_failed');
    }
  }

  // ---------------------------------------------------------------- timers

  #armTimer(now: number): void {
    if (this.#closed) return;
    const o = this.#o;
    this.#timers.arm(
      earliest({
        ack: this.#acks.pending ? Math.max(now, this.#acks.deadline) : 0,
        loss: this.#recovery.deadline(),
        pacing: this.#pacingAt,
        idle: this.#lastReceived + o.idleTimeoutMs,
        keepAlive: o.keepAliveMs > 0 ? this.#lastElicitingSent + o.keepAliveMs : 0,
      }),
    );
  }

  #onTimer(): void {
    if (this.#closed) return;
    const now = this.#clock.now();
    const o = this.#o;
    if (now >= this.#lastReceived + o.idleTimeoutMs) {
      const msg = `nothing heard from the peer for ${o.idleTimeoutMs} ms`;
      this.#terminate(new StreamError('IDLE_TIMEOUT', msg, { retryable: true }), CLOSE_NO_ERROR);
      this.#runDeferred();
      return;
    }
    const lossAt = this.#recovery.deadline();
    if (lossAt > 0 && lossAt <= now && this.#recovery.onTimeout(now)) {
      this.#probes = PTO_PROBES;
      this.#stats.ptoFired++;
    }
    if (o.keepAliveMs > 0 && now >= this.#lastElicitingSent + o.keepAliveMs) {
      this.#pingPending = true;
      this.#lastElicitingSent = now;
    }
    this.#runDeferred();
    this.#flush();
  }

  // ---------------------------------------------------------------- closing, errors, helpers

  #violation(msg: string, code: number): void {
    this.#stats.protocolViolations++;
    if (this.#closed) return;
    this.#sendClose(code, msg);
    this.#terminate(new StreamError('PROTOCOL_VIOLATION', msg), code, msg);
  }

  #terminate(err: StreamError | undefined, code: number, reason = ''): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#timers.stop();
    const streamErr =
      err ??
      new StreamError(
        'CONNECTION_CLOSED',
        `connection closed locally (code ${code})${reason ? `: ${reason}` : ''}`,
        {
          peerCode: code,
          reason,
        },
      );
    this.#streams.closeAll(streamErr);
    this.#out.clear();
    const onClose = this.#o.onClose;
    if (onClose) this.#defer(() => onClose(err));
    this.#runDeferredSoon();
  }

  #drop(reason: DropReason): void {
    this.#stats.drops[reason]++;
  }

  #defer(fn: () => void): void {
    this.#deferred.push(fn);
  }

  /** Deferred work outside any event of ours (called from application code). */
  #later(fn: () => void): void {
    this.#defer(fn);
    this.#runDeferredSoon();
  }

  #runDeferredSoon(): void {
    queueMicrotask(() => this.#runDeferred());
  }

  #runDeferred(): void {
    while (this.#deferred.length) {
      const list = this.#deferred;
      this.#deferred = [];
      for (const fn of list) fn();
    }
  }
}
