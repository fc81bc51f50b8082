export { Connection } from './connection.ts';
export { Stream } from './stream.ts';
export type { StreamFlowState } from './stream.ts';
export { StreamError } from './errors.ts';
export type { ConnectionOptions, IncomingStreamRequest } from './options.ts';
export {
  INITIAL_MAX_DATA,
  INITIAL_MAX_STREAM_DATA,
  INITIAL_MAX_STREAMS,
  MIN_DATAGRAM_SIZE,
} from './options.ts';
export { ConnectionStats, dropReasons } from './stats.ts';
export type { DropReason } from './stats.ts';
export type { PathFrame, Endpoint } from '../proto/frames/index.ts';
