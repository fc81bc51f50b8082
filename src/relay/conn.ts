// One relay connection after the HTTP upgrade: its state, its bounded outgoing queue, and the
// writes to its socket. The server decides what to send; this file decides when bytes go out.
//
//   ADMITTING --(CLIENT_INFO accepted: SERVER_INFO)--> ADMITTED --(close)--> CLOSING --> CLOSED
//       \------------(refused: HEALTH, end)------------------------------------^
//
// Writes: frames wait in `queue` (bounded, drops the oldest) and go out in batches of up to
// BATCH_BYTES per socket.write(); once write() reports the socket's buffer full, nothing more is
// written until 'drain'. So the socket never holds more than its high-water mark plus one batch,
// and everything beyond that is the queue's bounded backlog.
import type { Socket } from 'node:net';
import { FrameDecoder } from '../proto/relay/index.ts';
import { FrameQueue, frameSize, type QueuedFrame } from './queue.ts';
import type { DisconnectReason } from './metrics.ts';

export const ADMITTING = 0;
export const ADMITTED = 1;
export const CLOSING = 2;
export const CLOSED = 3;
export type ConnState = typeof ADMITTING | typeof ADMITTED | typeof CLOSING | typeof CLOSED;

/** Largest single socket.write() of queued frames. */
export const BATCH_BYTES = 64 * 1024;
/** Senders remembered per client for PEER_GONE (beyond this they learn NOT_HERE on their next send). */
export const MAX_SENDERS = 64;

/** Bytes queued across all connections of a relay (shared by them), against a ceiling. */
export interface Budget {
  used: number;
  readonly max: number;
}

export class RelayConn {
  state: ConnState = ADMITTING;
  readonly socket: Socket;
  readonly decoder = new FrameDecoder();
  /** The SERVER_KEY challenge, until admission. */
  challenge: Uint8Array | null;
  /** Node key as standard base64 (the table key) and raw, once admitted. */
  key = '';
  keyBytes: Uint8Array | null = null;
  /** Monotonic ms: upgrade time (then closing time), last frame received, last bytes written. */
  since: number;
  lastRecv: number;
  lastSend: number;
  /** Wall ms after which the token no longer holds (expiry + skew). */
  expiresAtMs = Infinity;
  queue: FrameQueue | null = null;
  /** write() said the socket buffer is full: wait for 'drain'. */
  blocked = false;
  /** In the server's list of connections to flush after the current chunk. */
  touched = false;
  /** Node keys that sent to this client recently (told PEER_GONE when it leaves). */
  senders: Set<string> | null = null;
  /** CLIENT_INFO's version: 2 understands PEER_BUSY. */
  version = 0;
  /** Senders told PEER_BUSY (busy) about this client, to be told when its queue drains. */
  busyTold: Set<RelayConn> | null = null;
  /** Last key this client was told NOT_HERE about, and when (one notice per key per second). */
  lastGoneKey = '';
  lastGoneAt = 0;
  closeReason: DisconnectReason | undefined;

  readonly budget: Budget;

  constructor(socket: Socket, challenge: Uint8Array, now: number, budget: Budget) {
    this.socket = socket;
    this.budget = budget;
    this.challenge = challenge;
    this.since = this.lastRecv = this.lastSend = now;
  }

  /** Node key fingerprint for logs (the first 8 base64 characters, as PublicKey.fingerprint()). */
  get fp(): string {
    return this.key.slice(0, 8);
  }

  /** The queue holds half its bounds or more: senders to this client are told PEER_BUSY. */
  busy(maxPackets: number, maxBytes: number): boolean {
    const q = this.queue;
    return q !== null && (2 * q.bytes >= maxBytes || 2 * q.length >= maxPackets);
  }

  /** The queue is down to a quarter of its bounds (or gone): PEER_BUSY may be lifted. */
  drained(maxPackets: number, maxBytes: number): boolean {
    const q = this.queue;
    return q === null || (4 * q.bytes <= maxBytes && 4 * q.length <= maxPackets);
  }

  /** Queues a frame; returns how many older frames were dropped to fit it. */
  enqueue(frame: QueuedFrame, maxPackets: number, maxBytes: number): number {
    if (this.state >= CLOSING) return 1;
    const q = (this.queue ??= new FrameQueue(maxPackets, maxBytes));
    const before = q.bytes;
    const dropped = q.push(frame);
    this.budget.used += q.bytes - before;
    return dropped;
  }

  /** Takes over the frames still queued on `old` (the same node's previous connection). */
  adopt(old: RelayConn, maxPackets: number, maxBytes: number): number {
    let dropped = 0;
    for (let f = old.queue?.shift(); f; f = old.queue?.shift()) {
      old.budget.used -= frameSize(f);
      dropped += this.enqueue(f, maxPackets, maxBytes);
    }
    return dropped;
  }

  /** Writes queued frames until the queue is empty or the socket asks to wait. */
  flush(now: number): void {
    const q = this.queue;
    if (this.state >= CLOSING || this.blocked || !q) return;
    while (q.length > 0) {
      const before = q.bytes;
      const frames = q.take(BATCH_BYTES);
      this.budget.used -= before - q.bytes;
      const parts: Uint8Array[] = [];
      for (const f of frames) {
        if (f instanceof Uint8Array) parts.push(f);
        else parts.push(f[0], f[1]);
      }
      this.lastSend = now;
      let ok = true;
      if (parts.length === 1) ok = this.socket.write(parts[0]);
      else {
        this.socket.cork();
        for (const p of parts) ok = this.socket.write(p);
        this.socket.uncork();
      }
      if (!ok) {
        this.blocked = true;
        return;
      }
    }
    // Idle clients hold no queue: it is made again for the next frame.
    this.queue = null;
  }

  /** Ends the connection after writing `last` (a HEALTH frame saying why); queued frames are discarded. */
  end(now: number, last?: Uint8Array): number {
    if (this.state >= CLOSING) return 0;
    this.state = CLOSING;
    this.since = now;
    this.challenge = null;
    this.budget.used -= this.queue?.bytes ?? 0;
    const dropped = this.queue?.clear() ?? 0;
    // Our last bytes go out, then the socket is destroyed: a peer that never closes its side
    // cannot keep a half-open connection here.
    if (last && !this.socket.destroyed) this.socket.write(last);
    this.socket.destroySoon();
    return dropped;
  }
}
