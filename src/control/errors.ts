import { SallyportError } from '../util/index.ts';

/**
 * Coordinator errors. Codes: BAD_REQUEST (input the API refuses), UNAUTHORIZED, FORBIDDEN,
 * NOT_FOUND, CONFLICT, CONFIG (bad options or files at start), INTERNAL.
 */
export class ControlError extends SallyportError {}
