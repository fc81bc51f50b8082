/** Counters of one connection, ready to be exported as metrics (`Connection.stats()` returns a copy). */
export const dropReasons = [
  'closed',
  'malformed',
  'duplicate',
  'closed_stream_frame',
  /** A path frame inside a stream packet: paths travel in datagrams of their own (agent/paths). */
  'path_frame',
  'send_failed',
  'internal',
] as const;
export type DropReason = (typeof dropReasons)[number];

export class ConnectionStats {
  packetsSent = 0;
  packetsReceived = 0;
  /** Packets declared lost (RFC 9002 §6.1), ACK-only ones included. */
  packetsLost = 0;
  /** Packets declared lost and acknowledged afterwards (the path reordered them). */
  spuriousLosses = 0;
  /** Packet reordering threshold in use (3, grows when losses prove spurious). */
  reorderThreshold = 3;
  /** Ack-eliciting packets declared lost. */
  elicitingLost = 0;
  bytesSent = 0;
  bytesReceived = 0;
  /** Stream bytes sent again after a loss or as a probe. */
  bytesRetransmitted = 0;
  ptoFired = 0;
  /** Congestion signals from the path without a loss (a relay's PEER_BUSY) that cut the window. */
  congestionSignals = 0;
  ptoCount = 0;
  streamsRefused = 0;
  protocolViolations = 0;
  drops: Record<DropReason, number> = Object.fromEntries(dropReasons.map((r) => [r, 0])) as Record<
    DropReason,
    number
  >;
  cwnd = 0;
  ssthresh = Infinity;
  bytesInFlight = 0;
  srttMs = 0;
  minRttMs = 0;
  rttVarMs = 0;
  streams = 0;
  /** Bytes held by all streams' send buffers (unacknowledged plus unsent). */
  streamSendBuffered = 0;
  /** Connection credit left to send new stream bytes. */
  sendWindow = 0;
  /** Current connection receive window (after auto-tuning). */
  recvWindow = 0;
  maxDatagramSize = 0;

  snapshot(): ConnectionStats {
    const c = Object.assign(new ConnectionStats(), this);
    c.drops = { ...this.drops };
    return c;
  }
}
