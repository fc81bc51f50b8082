export { FrameError } from './errors.ts';
export type { Endpoint } from './addr.ts';
export { parseAddress, formatAddress } from './addr.ts';
export type * from './types.ts';
export { Reader, Writer, varintLength, VARINT_MAX } from './wire.ts';
export {
  T as FRAME_TYPE,
  MAX_ACK_RANGES,
  MAX_CANDIDATES,
  MAX_SERVICE_BYTES,
  MAX_REASON_BYTES,
  TXID_BYTES,
  ackLength,
  decodePacket,
  encodePacket,
  frameLength,
  isAckEliciting,
  isPathFrame,
  streamHeaderLength,
  writeAckFrame,
  writeFrame,
  writeStreamHeader,
} from './codec.ts';
