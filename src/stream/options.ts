import type { Clock } from '../clock/index.ts';
import type { StreamError } from './errors.ts';
import type { Stream } from './stream.ts';

/**
 * Protocol defaults both ends assume before any MAX_* frame (there is no handshake at this layer;
 * larger configured windows are announced with MAX_DATA / MAX_STREAM_DATA / MAX_STREAMS at once).
 */
export const INITIAL_MAX_DATA = 1 << 20;
export const INITIAL_MAX_STREAM_DATA = 256 << 10;
export const INITIAL_MAX_STREAMS = 100;
/** Smallest datagram the layer works with; setMaxDatagramSize clamps to it. */
export const MIN_DATAGRAM_SIZE = 256;
/** Largest datagram size accepted (bytes). */
export const MAX_DATAGRAM_SIZE = 65_000;

/** A stream the peer opened: call accept() to get the Duplex, or refuse(code, reason). */
export interface IncomingStreamRequest {
  readonly id: number;
  readonly service: string;
  accept(): Stream;
  refuse(code: number, reason: string): void;
}

export interface ConnectionOptions {
  clock: Clock;
  /**
   * Decides stream-id parity (client even, server odd), and who speaks first: a server sends nothing
   * until the first datagram from the client has arrived, so the two sessions below never start
   * handshakes at the same moment (two crossing WireGuard initiations cost a 5 s retry). The client
   * announces its windows at construction. Pick the roles by comparing node keys.
   */
  isClient: boolean;
  /** Hands one stream-layer datagram (packet number + frames) to the path. Must not throw. */
  sendDatagram(datagram: Uint8Array): void;
  /** Largest stream-layer datagram the current path carries (bytes); at least 256. */
  maxDatagramSize: number;
  /** A stream the peer opened. Without a handler every incoming stream is refused (code 0). */
  onIncomingStream?(req: IncomingStreamRequest): void;
  /**
   * False while the path below holds a backlog of our datagrams (a relay client's queue): new data
   * waits — ACKs and probes still go — until `resume()`. Default: always ready.
   */
  pathReady?(): boolean;
  /** Called once when the connection ends (undefined: closed locally without error). */
  onClose?(err: StreamError | undefined): void;
  /** Per-stream receive window, bytes; default 1 MiB, grows (auto-tuning) up to maxStreamWindow. */
  streamWindow?: number;
  /** Default 16 MiB. */
  maxStreamWindow?: number;
  /** Connection receive window, bytes; default 4 MiB, grows up to maxConnectionWindow. */
  connectionWindow?: number;
  /** Default 32 MiB. */
  maxConnectionWindow?: number;
  /** Streams the peer may have open at once; default 1024. */
  maxIncomingStreams?: number;
  /** Local streams waiting for the peer's stream credit before openStream() fails; default 4096. */
  maxPendingOpens?: number;
  /** A stream's write() returns false once this many bytes wait unsent; default 256 KiB. */
  streamSendBuffer?: number;
  /** Readable high-water mark of each stream, bytes; default 64 KiB. */
  streamReadBuffer?: number;
  /** Our max_ack_delay, ms (RFC 9000 §18.2); default 25. Also assumed for the peer. */
  maxAckDelayMs?: number;
  /**
   * Acknowledge at once after this many ack-eliciting packets; default 2 (RFC 9000 §13.2.2). On a
   * relay path (datagrams above a UDP path's size) at least RELAY_ACK_EVERY (acks.ts).
   */
  ackEvery?: number;
  /** RTT assumed before the first sample, ms; default 333 (RFC 9002 §6.2.2). */
  initialRttMs?: number;
  /** Cap of one probe-timeout period after backoff, ms; default 2000. */
  maxPtoMs?: number;
  /** Close after this long without a datagram from the peer, ms; default 30000. */
  idleTimeoutMs?: number;
  /** Send a PING after this long without sending anything ack-eliciting, ms; default 10000, 0 = never. */
  keepAliveMs?: number;
}

export type ResolvedOptions = Required<
  Omit<ConnectionOptions, 'onIncomingStream' | 'onClose' | 'pathReady'>
> &
  Pick<ConnectionOptions, 'onIncomingStream' | 'onClose' | 'pathReady'>;

function positive(name: string, v: number, min = 1): number {
  if (!Number.isFinite(v) || v < min) throw new RangeError(`${name} must be a number >= ${min} (got ${v})`);
  return v;
}

export function resolveOptions(o: ConnectionOptions): ResolvedOptions {
  const r: ResolvedOptions = {
    streamWindow: 1 << 20,
    maxStreamWindow: 16 << 20,
    connectionWindow: 4 << 20,
    maxConnectionWindow: 32 << 20,
    maxIncomingStreams: 1024,
    maxPendingOpens: 4096,
    streamSendBuffer: 256 << 10,
    streamReadBuffer: 64 << 10,
    maxAckDelayMs: 25,
    ackEvery: 2,
    initialRttMs: 333,
    maxPtoMs: 2000,
    idleTimeoutMs: 30_000,
    keepAliveMs: 10_000,
    ...o,
  };
  positive('streamWindow', r.streamWindow, INITIAL_MAX_STREAM_DATA);
  positive('maxStreamWindow', r.maxStreamWindow, r.streamWindow);
  positive('connectionWindow', r.connectionWindow, INITIAL_MAX_DATA);
  positive('maxConnectionWindow', r.maxConnectionWindow, r.connectionWindow);
  positive('maxIncomingStreams', r.maxIncomingStreams, INITIAL_MAX_STREAMS);
  positive('maxPendingOpens', r.maxPendingOpens, 0);
  positive('streamSendBuffer', r.streamSendBuffer);
  positive('streamReadBuffer', r.streamReadBuffer);
  positive('maxAckDelayMs', r.maxAckDelayMs, 0);
  positive('ackEvery', r.ackEvery);
  positive('initialRttMs', r.initialRttMs);
  positive('maxPtoMs', r.maxPtoMs);
  positive('idleTimeoutMs', r.idleTimeoutMs);
  positive('keepAliveMs', r.keepAliveMs, 0);
  positive('maxDatagramSize', r.maxDatagramSize, MIN_DATAGRAM_SIZE);
  if (typeof r.sendDatagram !== 'function') throw new TypeError('sendDatagram must be a function');
  return r;
}
