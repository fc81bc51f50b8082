import { SallyportError } from '../util/index.ts';
import type { PolicyIssue } from './validate.ts';

/**
 * Thrown only for programming and configuration errors; decisions on requests are never thrown,
 * they come back as a `Refusal` (refusal.ts).
 *
 * Codes:
 * - POLICY_INVALID: a policy document failed validation; `issues` lists every problem found.
 * - DURATION_INVALID: a duration string that `parseDuration` cannot read.
 * - ID_INVALID: an id handed to a constructor that is not 1–128 of [A-Za-z0-9._-].
 */
export type AccessErrorCode = 'POLICY_INVALID' | 'DURATION_INVALID' | 'ID_INVALID';

export class AccessError extends SallyportError {
  declare readonly code: AccessErrorCode;
  readonly issues: readonly PolicyIssue[];
  constructor(
    code: AccessErrorCode,
    message: string,
    opts: { cause?: unknown; issues?: readonly PolicyIssue[] } = {},
  ) {
    super(code, message, opts);
    this.issues = opts.issues ?? [];
  }
}
