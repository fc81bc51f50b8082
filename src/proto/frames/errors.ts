import { SallyportError } from '../../util/index.ts';

/**
 * The only error the frame codec throws. Codes:
 * - `FRAME_TRUNCATED`: the datagram ends inside a field;
 * - `FRAME_MALFORMED`: a field holds an impossible value (negative ACK range, bad address family...);
 * - `FRAME_UNKNOWN_TYPE`: a frame type this codec does not know;
 * - `FRAME_LIMIT`: a length or count beyond this codec's bounds (absurd lengths, too many ranges).
 */
export class FrameError extends SallyportError {
  constructor(
    code: 'FRAME_TRUNCATED' | 'FRAME_MALFORMED' | 'FRAME_UNKNOWN_TYPE' | 'FRAME_LIMIT',
    message: string,
  ) {
    super(code, message);
  }
}
