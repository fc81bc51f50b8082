// Errors of the targets layer. Codes:
// - TARGET_CONFIG: a service's target options are missing or malformed (the connector refuses to start).
// - TARGET_REFUSED: a request the target's policy refuses (secrets, exec, admin paths, query text …).
// - TARGET_UPSTREAM: the target itself failed (connection refused, bad answer).
import { SallyportError } from '../util/index.ts';

export type TargetErrorCode = 'TARGET_CONFIG' | 'TARGET_REFUSED' | 'TARGET_UPSTREAM';

export class TargetError extends SallyportError {
  declare readonly code: TargetErrorCode;
  constructor(code: TargetErrorCode, message: string, opts?: { cause?: unknown }) {
    super(code, message, opts);
  }
}
