import { SallyportError } from '../util/index.ts';

/**
 * Thrown for values that cannot enter the chain (writer side). Verification never throws: it
 * returns a `VerifyReport` naming the first bad line (verify.ts).
 *
 * Codes:
 * - NOT_CANONICAL: a value has no RFC 8785 form (NaN, Infinity, undefined, a function, a bigint,
 *   a non-plain object, a lone surrogate) or is too deep or too large.
 * - RECORD_INVALID: record fields of the wrong type or size, or a `prev` that is not a record.
 * - CHECKPOINT_INVALID: a checkpoint of the wrong shape.
 */
export type AuditErrorCode = 'NOT_CANONICAL' | 'RECORD_INVALID' | 'CHECKPOINT_INVALID';

export class AuditError extends SallyportError {
  declare readonly code: AuditErrorCode;
  constructor(code: AuditErrorCode, message: string, opts: { cause?: unknown } = {}) {
    super(code, message, opts);
  }
}
