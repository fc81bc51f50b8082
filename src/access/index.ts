// Just-in-time access, pure: policies as data, one evaluator, and the request, grant and extension
// lifecycles as state machines returning effects. No I/O, no timers, no clock: times come in as
// epoch ms; the store persists the states and the coordinator carries out the effects.
export { AccessError } from './errors.ts';
export type { AccessErrorCode } from './errors.ts';
export { parseDuration, readDuration, formatDuration } from './duration.ts';
export { ACCESS_LEVELS, LIMITS } from './policy.ts';
export type {
  AccessLevel,
  Selector,
  SelectorSpec,
  ApproverQuorum,
  ApprovalRules,
  GrantRules,
  Policy,
  StandingPolicy,
  PolicySet,
  Labelled,
} from './policy.ts';
export { validatePolicyDocument, parsePolicyDocument } from './validate.ts';
export type { PolicyIssue, PolicyIssueCode, PolicyValidation } from './validate.ts';
export { matches } from './selector.ts';
export { REFUSAL_STATUS, refuse } from './refusal.ts';
export type { RefusalCode, Refusal, Applied, Outcome } from './refusal.ts';
export { audit, notify, auditRefusal, SYSTEM_ACTOR_ID } from './effects.ts';
export type { Effect, AccessAuditAction, NotifyTopic, StandingGrant } from './effects.ts';
export { canApprove, canDeny, quorum, addApproval } from './approvals.ts';
export type { Actor, Approval, ApproverRole, QuorumCount } from './approvals.ts';
export { evaluateRequest, rulesOf } from './evaluate.ts';
export type { AccessRequestInput, EvaluationContext, Evaluation } from './evaluate.ts';
export { ACCESS_ID, checkId } from './ids.ts';
export { openRequest, requestTransition, requestDeadline } from './request.ts';
export type { CustomerControls, RequestState, RequestStatus, RequestEvent } from './request.ts';
export { newGrant, grantTransition, grantDeadline, grantCovers, grantLive, expireGrant } from './grant.ts';
export type { GrantState, GrantStatus, GrantEvent } from './grant.ts';
export { openExtension, extensionTransition, extensionDeadline } from './extension.ts';
export type { ExtensionState, ExtensionPair, ExtensionEvent } from './extension.ts';
export { standingGrantsFor, standingCovers, reconcileStanding } from './standing.ts';
export { describeHours, hoursProblem, withinHours, type AccessHours } from './hours.ts';
export { inForce, type GrantWindow } from './in-force.ts';
