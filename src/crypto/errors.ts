import { SallyportError } from '../util/index.ts';

/** Codes: KEY_INVALID (wrong length or encoding). */
export class CryptoError extends SallyportError {}
