import { SallyportError } from '../util/index.ts';

/**
 * A paths-layer failure. Codes: `PATHS_OPTION_INVALID` (an options object failed validation),
 * `PATHS_STOPPED` (the component was stopped or its signal aborted), `PATHS_STUN_TIMEOUT` (no
 * Binding response after every retransmission), `PATHS_STUN_ERROR` (an error response),
 * `PATHS_BIND` (the UDP socket could not be bound).
 */
export class PathsError extends SallyportError {}
