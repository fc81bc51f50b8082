import { SallyportError } from '../util/index.ts';

/**
 * Store errors. Codes: NOT_FOUND, CONFLICT (unique name or key taken), INVALID (a reference or value
 * the store refuses), AUTH (bad password, token or key), EXPIRED, EXHAUSTED (single-use key used),
 * REVOKED, DISABLED, BUSY (a bounded table is full: retry later), MISSING_DRIVER (better-sqlite3 or pg is not
 * installed: the message names the npm install), UNAVAILABLE (a dedicated PostgreSQL session
 * could not be opened; retryable), ABORTED (its signal fired), INTERNAL.
 */
export class StoreError extends SallyportError {}
