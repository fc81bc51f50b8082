import { SallyportError } from '../util/index.ts';

/**
 * Codes: PEER_EXISTS (addPeer with a key already added), PEER_SELF (our own key as a peer),
 * OPTION_INVALID (a bad option value), STOPPED (the host was stopped).
 * The per-packet paths never throw: they count drops in SessionHost.drops instead.
 */
export class SessionError extends SallyportError {}
