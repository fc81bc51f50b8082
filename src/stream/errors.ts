import { SallyportError } from '../util/index.ts';

/**
 * Stream and connection errors. Codes:
 * - `STREAM_REFUSED`: the peer refused the stream's service (`refuseCode`, `reason`);
 * - `STREAM_RESET`: the peer reset the stream (RESET_STREAM, `peerCode`);
 * - `STREAM_STOPPED`: the peer stopped reading (STOP_SENDING, `peerCode`);
 * - `CONNECTION_CLOSED`: the connection was closed, locally or by the peer (CLOSE);
 * - `IDLE_TIMEOUT`: nothing arrived from the peer for the idle timeout;
 * - `PROTOCOL_VIOLATION`: the peer broke the protocol (flow control, stream ids); the connection closes;
 * - `STREAM_LIMIT`: too many streams are waiting to open.
 */
export class StreamError extends SallyportError {
  /** STREAM_REFUSED: the refusal code the peer gave. */
  readonly refuseCode?: number;
  /** Code carried by RESET_STREAM, STOP_SENDING or CLOSE. */
  readonly peerCode?: number;
  readonly reason?: string;

  constructor(
    code:
      | 'STREAM_REFUSED'
      | 'STREAM_RESET'
      | 'STREAM_STOPPED'
      | 'CONNECTION_CLOSED'
      | 'IDLE_TIMEOUT'
      | 'PROTOCOL_VIOLATION'
      | 'STREAM_LIMIT',
    message: string,
    extra: {
      refuseCode?: number;
      peerCode?: number;
      reason?: string;
      cause?: unknown;
      retryable?: boolean;
    } = {},
  ) {
    super(code, message, { cause: extra.cause, retryable: extra.retryable });
    if (extra.refuseCode !== undefined) this.refuseCode = extra.refuseCode;
    if (extra.peerCode !== undefined) this.peerCode = extra.peerCode;
    if (extra.reason !== undefined) this.reason = extra.reason;
  }
}

/** CLOSE / RESET codes on the wire (RFC 9000 §20.1 numbering where one exists). */
export const CLOSE_NO_ERROR = 0x0;
export const CLOSE_FLOW_CONTROL = 0x3;
export const CLOSE_STREAM_LIMIT = 0x4;
export const CLOSE_FINAL_SIZE = 0x6;
export const CLOSE_PROTOCOL_VIOLATION = 0xa;
/** RESET_STREAM / STOP_SENDING code when the Duplex is destroyed without an error / with one. */
export const RESET_CANCELLED = 0x0;
export const RESET_ERROR = 0x1;
