import type { Endpoint } from './addr.ts';

/** ACK range, both ends inclusive. */
export type AckRange = readonly [lo: number, hi: number];

export interface PingFrame {
  readonly type: 'ping';
}
export interface AckFrame {
  readonly type: 'ack';
  /** Ranges of acknowledged packet numbers, highest first, disjoint and not adjacent. */
  readonly ranges: readonly AckRange[];
  /** Time between receiving the largest acknowledged packet and sending this ACK, microseconds. */
  readonly delayUs: number;
}
export interface ResetStreamFrame {
  readonly type: 'reset_stream';
  readonly id: number;
  readonly code: number;
  readonly finalSize: number;
}
export interface StopSendingFrame {
  readonly type: 'stop_sending';
  readonly id: number;
  readonly code: number;
}
export interface StreamFrame {
  readonly type: 'stream';
  readonly id: number;
  readonly offset: number;
  readonly fin: boolean;
  /** On decode, a view into the datagram (no copy). */
  readonly data: Uint8Array;
}
export interface MaxDataFrame {
  readonly type: 'max_data';
  readonly max: number;
}
export interface MaxStreamDataFrame {
  readonly type: 'max_stream_data';
  readonly id: number;
  readonly max: number;
}
export interface MaxStreamsFrame {
  readonly type: 'max_streams';
  readonly max: number;
}
export interface DataBlockedFrame {
  readonly type: 'data_blocked';
  readonly limit: number;
}
export interface StreamDataBlockedFrame {
  readonly type: 'stream_data_blocked';
  readonly id: number;
  readonly limit: number;
}
export interface StreamsBlockedFrame {
  readonly type: 'streams_blocked';
  readonly limit: number;
}
export interface CloseFrame {
  readonly type: 'close';
  readonly code: number;
  readonly reason: string;
}
export interface StreamOpenFrame {
  readonly type: 'stream_open';
  readonly id: number;
  readonly service: string;
}
export interface StreamRefusedFrame {
  readonly type: 'stream_refused';
  readonly id: number;
  readonly code: number;
  readonly reason: string;
}
export interface PathPingFrame {
  readonly type: 'path_ping';
  /** 8 bytes. */
  readonly txid: Uint8Array;
}
export interface PathPongFrame {
  readonly type: 'path_pong';
  readonly txid: Uint8Array;
  /** The source address the PING was seen from. */
  readonly observed: Endpoint;
}
export interface CallMeMaybeFrame {
  readonly type: 'call_me_maybe';
  readonly candidates: readonly Endpoint[];
}

/** Frames for the path layer (NAT traversal); the stream layer only carries them. */
export type PathFrame = PathPingFrame | PathPongFrame | CallMeMaybeFrame;

export type Frame =
  | PingFrame
  | AckFrame
  | ResetStreamFrame
  | StopSendingFrame
  | StreamFrame
  | MaxDataFrame
  | MaxStreamDataFrame
  | MaxStreamsFrame
  | DataBlockedFrame
  | StreamDataBlockedFrame
  | StreamsBlockedFrame
  | CloseFrame
  | StreamOpenFrame
  | StreamRefusedFrame
  | PathFrame;

export interface Packet {
  readonly pn: number;
  readonly frames: Frame[];
}
