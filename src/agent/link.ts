// One peer's stream link: the stream Connection that rides on the peer's WireGuard session, bound
// to an epoch (proto/link/) so that both sides agree which Connection a datagram belongs to.
//
//   NONE --openStream()--> MINE(e, unheard) --DATA(e)--> MINE(e, heard)
//        (the server side also sends WAKE(e) every second until heard: its Connection stays silent
//         until the client speaks; the client answers WAKE by adopting e)
//   NONE / any heard --DATA(e', OPEN), e' not retired--> THEIRS(e')   (old Connection closed)
//   MINE(e, unheard) --DATA(e', OPEN)--> the lower key's epoch wins (simultaneous open)
//   any --RESET(e) for the current epoch / Connection closed--> NONE
//        (after RESET, if fresh streams of ours were on e: --> MINE(e'') carrying them)
//   NONE or other epoch --DATA(e', no OPEN)--> RESET(e') sent (rate-limited)
//
// The opener sets OPEN on every datagram until it hears the peer on that epoch, so a lost first
// datagram does no harm. A side that restarted answers RESET: streams that already heard from the
// peer error; streams we opened that are still fresh (link-stream.ts: no byte from the peer, none
// of ours acknowledged) move to a new epoch at once, so a request made just after the peer
// restarted succeeds. The same happens when the peer starts a new link (WAKE / OPEN) over ours.
// Retired epochs are remembered (a few) so that a late OPEN datagram cannot tear down the link
// that replaced it.
import { Timer, type Clock } from '../clock/index.ts';
import { randomBytes } from '../crypto/index.ts';
import type { PeerSession } from '../session/index.ts';
import { Connection, type ConnectionOptions, type IncomingStreamRequest } from '../stream/index.ts';
import { LinkStream } from './link-stream.ts';
import { decodeLink, encodeLink, LINK_HEADER_LEN, T_DATA, T_RESET, T_WAKE } from '../proto/link/index.ts';

/** Least time between two RESETs to one peer, ms. */
const RESET_INTERVAL_MS = 200;
/** Retired epochs remembered. */
const RETIRED_KEEP = 16;
/** WAKE repeats (server side) until the client speaks. */
const WAKE_INTERVAL_MS = 1000;
const WAKE_TRIES = 30;

export interface LinkDeps {
  clock: Clock;
  session: PeerSession;
  /** This side has the lower node key: it is the stream client (even stream ids). */
  isClient: boolean;
  /** Largest session payload the peer's path carries now. */
  maxPayload: () => number;
  /** False while the path holds a backlog (a relay client's queue): new data waits for resume(). */
  pathReady?: () => boolean;
  onIncomingStream(req: IncomingStreamRequest): void;
  onEvent(ev: string, detail?: Record<string, unknown>): void;
  connection?: Partial<Omit<ConnectionOptions, 'clock' | 'isClient' | 'sendDatagram' | 'maxDatagramSize'>>;
}

export interface LinkStats {
  epoch: string | undefined;
  connections: number;
  resetsSent: number;
  resetsReceived: number;
  dropped: number;
  srttMs: number | undefined;
  streams: number;
  bytesSent: number;
  bytesReceived: number;
  /** Stream-layer packets declared lost, and stream bytes sent again, over every Connection. */
  packetsLost: number;
  bytesRetransmitted: number;
  /** Streams that moved to a new epoch because the peer had no state for theirs. */
  streamsMoved: number;
}

const newEpoch = (): bigint => {
  const b = randomBytes(8);
  return new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0) || 1n;
};

export class PeerLink {
  readonly #d: LinkDeps;
  #conn: Connection | undefined;
  #epoch = 0n;
  #mine = false;
  #heard = false;
  #lastReset = -Infinity;
  #stopped = false;
  readonly #retired: bigint[] = [];
  readonly #wake: Timer;
  #wakes = 0;
  /** Streams this side opened on the current Connection (until they close). */
  readonly #opened = new Set<LinkStream>();
  /** Totals over every Connection this link had. */
  #total = {
    connections: 0,
    resetsSent: 0,
    resetsReceived: 0,
    dropped: 0,
    bytesSent: 0,
    bytesReceived: 0,
    packetsLost: 0,
    bytesRetransmitted: 0,
    streamsMoved: 0,
  };

  constructor(d: LinkDeps) {
    this.#d = d;
    this.#wake = new Timer(d.clock, () => this.#sendWake());
  }

  get connection(): Connection | undefined {
    return this.#conn;
  }

  /** Opens a stream to the peer asking for `service`, starting a link if there is none. */
  openStream(service: string): LinkStream {
    if (this.#stopped) throw new Error('the link to this peer was stopped');
    if (!this.#conn) this.#startMine();
    const s = new LinkStream(service, this.#conn!.openStream(service));
    this.#opened.add(s);
    s.once('close', () => this.#opened.delete(s));
    return s;
  }

  /** A decrypted session payload from this peer. */
  receive(payload: Uint8Array): void {
    const h = decodeLink(payload);
    if (!h || this.#stopped) return void this.#total.dropped++;
    const current = this.#conn !== undefined && h.epoch === this.#epoch;
    if (h.type === T_RESET) {
      if (!current) return void this.#total.dropped++;
      this.#total.resetsReceived++;
      this.#d.onEvent('link-reset', { epoch: h.epoch.toString(16) });
      const moving = this.#end('peer reset the link', true);
      if (moving.length) {
        this.#startMine();
        this.#reopen(moving);
      }
      return;
    }
    if (h.type === T_WAKE) {
      if (current || this.#retired.includes(h.epoch) || !this.#d.isClient) return void this.#total.dropped++;
      if (this.#conn && this.#mine && !this.#heard) return void this.#total.dropped++;
      const moving = this.#end('peer started a new link', true);
      this.#start(h.epoch, false);
      this.#reopen(moving);
      return;
    }
    if (current) {
      if (!this.#heard) this.#wake.del();
      this.#heard = true;
      return this.#conn!.receiveDatagram(h.body);
    }
    if (h.open && !this.#retired.includes(h.epoch)) {
      if (this.#conn && this.#mine && !this.#heard && this.#d.isClient) return void this.#total.dropped++;
      const moving = this.#end('peer started a new link', true);
      this.#start(h.epoch, false);
      this.#heard = true;
      this.#conn!.receiveDatagram(h.body);
      return this.#reopen(moving);
    }
    const now = this.#d.clock.now();
    if (now - this.#lastReset >= RESET_INTERVAL_MS) {
      this.#lastReset = now;
      this.#total.resetsSent++;
      this.#d.session.send(encodeLink(T_RESET, false, h.epoch));
    } else this.#total.dropped++;
  }

  /** The path's datagram size changed. */
  /** The path drained its backlog: the Connection sends what waited. */
  resume(): void {
    this.#conn?.resume();
  }

  pathChanged(): void {
    this.#conn?.setMaxDatagramSize(this.#datagramSize());
  }

  stop(reason = 'peer removed'): void {
    this.#stopped = true;
    this.#end(reason);
  }

  stats(): LinkStats {
    const s = this.#conn?.stats();
    return {
      epoch: this.#conn ? this.#epoch.toString(16) : undefined,
      ...this.#total,
      bytesSent: this.#total.bytesSent + (s?.bytesSent ?? 0),
      bytesReceived: this.#total.bytesReceived + (s?.bytesReceived ?? 0),
      packetsLost: this.#total.packetsLost + (s?.packetsLost ?? 0),
      bytesRetransmitted: this.#total.bytesRetransmitted + (s?.bytesRetransmitted ?? 0),
      srttMs: s && s.srttMs > 0 ? s.srttMs : undefined,
      streams: s?.streams ?? 0,
    };
  }

  #sendWake(): void {
    if (!this.#conn || this.#heard || !this.#mine || this.#wakes >= WAKE_TRIES) return;
    this.#wakes++;
    this.#d.session.send(encodeLink(T_WAKE, false, this.#epoch));
    this.#wake.mod(WAKE_INTERVAL_MS);
  }

  #startMine(): void {
    this.#start(newEpoch(), true);
    if (!this.#d.isClient) {
      this.#wakes = 0;
      this.#sendWake();
    }
  }

  /** Streams that left an ended Connection continue on the current one. */
  #reopen(moving: LinkStream[]): void {
    const conn = this.#conn;
    if (!conn || moving.length === 0) return;
    for (const s of moving) {
      s.reattach(conn.openStream(s.service));
      this.#opened.add(s);
    }
    this.#total.streamsMoved += moving.length;
    this.#d.onEvent('link-streams-moved', { epoch: this.#epoch.toString(16), streams: moving.length });
  }

  #datagramSize(): number {
    return Math.max(256, Math.min(65_000, this.#d.maxPayload() - LINK_HEADER_LEN));
  }

  #start(epoch: bigint, mine: boolean): void {
    this.#epoch = epoch;
    this.#mine = mine;
    this.#heard = false;
    this.#total.connections++;
    const session = this.#d.session;
    const conn: Connection = new Connection({
      ...this.#d.connection,
      clock: this.#d.clock,
      isClient: this.#d.isClient,
      maxDatagramSize: this.#datagramSize(),
      sendDatagram: (d) => {
        if (this.#conn !== conn) return;
        session.send(encodeLink(T_DATA, this.#mine && !this.#heard, epoch, d));
      },
      onIncomingStream: (req) => this.#d.onIncomingStream(req),
      ...(this.#d.pathReady ? { pathReady: this.#d.pathReady } : {}),
      onClose: (err) => {
        if (this.#conn !== conn) return;
        this.#retire(conn);
        this.#d.onEvent('link-closed', { epoch: epoch.toString(16), reason: err?.message ?? 'closed' });
      },
    });
    this.#conn = conn;
    this.#d.onEvent('link-open', { epoch: epoch.toString(16), opener: mine ? 'us' : 'peer' });
  }

  #retire(conn: Connection): void {
    const s = conn.stats();
    this.#total.bytesSent += s.bytesSent;
    this.#total.bytesReceived += s.bytesReceived;
    this.#total.packetsLost += s.packetsLost;
    this.#total.bytesRetransmitted += s.bytesRetransmitted;
    this.#conn = undefined;
    this.#opened.clear();
    this.#retired.push(this.#epoch);
    if (this.#retired.length > RETIRED_KEEP) this.#retired.shift();
  }

  /**
   * Closes the current Connection. With `move` (the peer has no state for it), the fresh streams
   * we opened on it are detached instead of erroring, and returned for #reopen.
   */
  #end(reason: string, move = false): LinkStream[] {
    this.#wake.del();
    const conn = this.#conn;
    const moving = conn && move ? [...this.#opened].filter((s) => s.movable) : [];
    for (const s of moving) s.detach();
    if (!conn) return moving;
    this.#retire(conn);
    conn.close(0, reason);
    return moving;
  }
}
