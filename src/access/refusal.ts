// Decisions are data: every transition returns either `Applied` (the new state and the effects the
// coordinator must carry out in the same transaction) or a `Refusal` with a stable code.
import type { Effect } from './effects.ts';

/**
 * Refusal codes, with the HTTP status the API should answer with:
 * - REQUEST_INVALID (400): a malformed request: empty reason, non-positive duration, no services.
 * - DEPLOYMENT_UNKNOWN, SERVICE_UNKNOWN (404): the deployment or a service does not exist.
 * - NOT_ELIGIBLE (403): no policy lets this person request at all.
 * - DEPLOYMENT_NOT_COVERED, SERVICE_NOT_COVERED, ACCESS_NOT_COVERED (403): the person may request,
 *   but no policy of theirs covers this deployment, these services, or this access level.
 * - DURATION_EXCEEDS_POLICY (400): longer than the covering policies allow (details.maxDurationMs).
 * - SELF_APPROVAL (403): the requester tried to approve (or deny) their own request.
 * - NOT_APPROVER (403): the actor is in neither the approver group nor the customer group.
 * - DUPLICATE_APPROVAL (409): this person has already approved; one person counts once.
 * - NOT_REQUESTER (403): only the requester (or an admin) may cancel or extend.
 * - NOT_ALLOWED (403): the actor may not revoke this grant.
 * - NOT_PENDING (409): the request or extension is already decided (terminal states stay terminal).
 * - REQUEST_EXPIRED (410): the request waited past its deadline; it is now expired-unanswered.
 * - GRANT_NOT_ACTIVE (409): the grant has expired or was revoked.
 * - GRANT_EXPIRED (410): the grant reached its end at or before this event; it is now expired.
 * - EXTENSION_EXCEEDS_MAXIMUM (400): the extension would take the grant past the policy's maxTotal.
 * - NOT_DUE (409): a tick before the deadline; nothing to do.
 */
export type RefusalCode =
  | 'REQUEST_INVALID'
  | 'DEPLOYMENT_UNKNOWN'
  | 'SERVICE_UNKNOWN'
  | 'NOT_ELIGIBLE'
  | 'DEPLOYMENT_NOT_COVERED'
  | 'SERVICE_NOT_COVERED'
  | 'ACCESS_NOT_COVERED'
  | 'DURATION_EXCEEDS_POLICY'
  | 'SELF_APPROVAL'
  | 'NOT_APPROVER'
  | 'DUPLICATE_APPROVAL'
  | 'NOT_REQUESTER'
  | 'NOT_ALLOWED'
  | 'NOT_PENDING'
  | 'REQUEST_EXPIRED'
  | 'GRANT_NOT_ACTIVE'
  | 'GRANT_EXPIRED'
  | 'EXTENSION_EXCEEDS_MAXIMUM'
  | 'NOT_DUE'
  | 'DEPLOYMENT_LOCKED';

export const REFUSAL_STATUS: Readonly<Record<RefusalCode, number>> = {
  REQUEST_INVALID: 400,
  DEPLOYMENT_UNKNOWN: 404,
  SERVICE_UNKNOWN: 404,
  NOT_ELIGIBLE: 403,
  DEPLOYMENT_NOT_COVERED: 403,
  SERVICE_NOT_COVERED: 403,
  ACCESS_NOT_COVERED: 403,
  DURATION_EXCEEDS_POLICY: 400,
  SELF_APPROVAL: 403,
  NOT_APPROVER: 403,
  DUPLICATE_APPROVAL: 409,
  NOT_REQUESTER: 403,
  NOT_ALLOWED: 403,
  NOT_PENDING: 409,
  REQUEST_EXPIRED: 410,
  GRANT_NOT_ACTIVE: 409,
  GRANT_EXPIRED: 410,
  EXTENSION_EXCEEDS_MAXIMUM: 400,
  NOT_DUE: 409,
  DEPLOYMENT_LOCKED: 403,
};

/** The outcome of a transition that changed something. */
export interface Applied<S> {
  readonly ok: true;
  readonly state: S;
  readonly effects: readonly Effect[];
}

/**
 * A refused event. When `lapse` is set, the event found its subject past a deadline: the event
 * itself is refused, but the subject has moved to its expired state, which the caller must persist
 * with the lapse's effects (in the same transaction as auditing the refusal).
 */
export interface Refusal<S = never> {
  readonly ok: false;
  readonly code: RefusalCode;
  readonly reason: string;
  readonly details?: Readonly<Record<string, unknown>>;
  readonly lapse?: Applied<S>;
}

export type Outcome<S> = Applied<S> | Refusal<S>;

export function refuse(code: RefusalCode, reason: string, details?: Record<string, unknown>): Refusal {
  return details === undefined ? { ok: false, code, reason } : { ok: false, code, reason, details };
}
