import { SallyportError } from '../../util/index.ts';

/**
 * A relay byte stream that breaks the protocol (the connection must close), or a frame that
 * cannot be encoded. Codes:
 * - `RELAY_UNKNOWN_FRAME`: a frame type this version does not define.
 * - `RELAY_FRAME_TOO_LARGE`: a length over the frame's (or any frame's) maximum.
 * - `RELAY_BAD_FRAME`: a payload of the wrong length or content for its type.
 * - `RELAY_TRUNCATED`: the stream ended inside a frame.
 * - `RELAY_ABORTED`: a FrameDecoder whose frame handler threw; it decodes no more.
 * - `RELAY_INVALID_ARGUMENT`: encodeFrame() was given a field it cannot put on the wire.
 */
export class RelayFrameError extends SallyportError {}
