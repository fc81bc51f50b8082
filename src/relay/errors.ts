import { SallyportError } from '../util/index.ts';

/**
 * A relay server failure. Codes:
 * - `RELAY_INVALID_OPTIONS`: the options object was refused at construction.
 * - `RELAY_LISTEN_FAILED`: the TLS listener or the STUN socket could not bind.
 * - `RELAY_STATE`: start() twice, or start() after stop().
 * - `RELAY_ABORTED`: start()'s signal fired before the listeners were up.
 */
export class RelayServerError extends SallyportError {}
