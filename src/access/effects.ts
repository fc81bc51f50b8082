// Effects are data the coordinator carries out, in order, in the same transaction as persisting
// the new state (I7): audit records, notifications (webhooks), grant creation and ending.
import type { GrantState } from './grant.ts';
import type { AccessLevel } from './policy.ts';
import type { Refusal } from './refusal.ts';

/** Audit actions written by access; the subject is `request:<id>`, `grant:<id>` or `extension:<id>`. */
export type AccessAuditAction =
  | 'request.create'
  | 'request.approval'
  | 'request.approve'
  | 'request.deny'
  | 'request.cancel'
  | 'request.expire'
  | 'grant.create'
  | 'grant.extend'
  | 'grant.expire'
  | 'grant.revoke'
  | 'extension.create'
  | 'extension.approval'
  | 'extension.approve'
  | 'extension.deny'
  | 'extension.cancel'
  | 'extension.expire'
  | 'standing.create'
  | 'standing.remove'
  | 'access.refuse';

/** Notification topics (the webhooks: on request, decision, grant start and grant end). */
export type NotifyTopic = 'request' | 'decision' | 'grant-start' | 'grant-end';

/** A standing grant of a machine identity (standing.ts). */
export interface StandingGrant {
  readonly policyId: string;
  readonly machine: string;
  readonly deployment: string;
  readonly services: readonly string[];
  readonly access: AccessLevel;
  /** The stored grant's id, for one the coordinator holds (absent for one a policy wants). */
  readonly id?: string;
}

export type Effect =
  | {
      readonly kind: 'audit';
      readonly action: AccessAuditAction;
      readonly actor: string;
      readonly subject: string;
      readonly at: number;
      readonly details: Readonly<Record<string, unknown>>;
    }
  | {
      readonly kind: 'notify';
      readonly topic: NotifyTopic;
      readonly subject: string;
      readonly at: number;
      readonly text: string;
    }
  | { readonly kind: 'grant-created'; readonly grant: GrantState }
  | {
      readonly kind: 'grant-extended';
      readonly grantId: string;
      readonly extensionId: string;
      readonly end: number;
    }
  /** Cut live streams, drop the peer from the netmap, remove target configuration (I5). */
  | {
      readonly kind: 'grant-ended';
      readonly grantId: string;
      readonly cause: 'expired' | 'revoked';
      readonly at: number;
    }
  | { readonly kind: 'standing-created'; readonly grant: StandingGrant }
  | { readonly kind: 'standing-removed'; readonly grant: StandingGrant };

/** The actor recorded for transitions driven by time. */
export const SYSTEM_ACTOR_ID = 'system';
/**
 * Longest reason kept (deny, revoke), in code points, as the API's schemas count them; a longer
 * one is cut and its audit record says reasonTruncated: true, reasonLength: N.
 */
export const MAX_REASON_CHARS = 1000;

export const audit = (
  action: AccessAuditAction,
  actor: string,
  subject: string,
  at: number,
  details: Record<string, unknown> = {},
): Effect => ({ kind: 'audit', action, actor, subject, at, details });

export const notify = (topic: NotifyTopic, subject: string, at: number, text: string): Effect => ({
  kind: 'notify',
  topic,
  subject,
  at,
  text,
});

/** The audit record of a refusal (the issue: "nothing granted, and the refusal itself audited"). */
export function auditRefusal(
  actor: string,
  subject: string,
  attempted: string,
  refusal: Pick<Refusal, 'code' | 'reason' | 'details'>,
  at: number,
): Effect {
  return audit('access.refuse', actor, subject, at, {
    attempted,
    code: refusal.code,
    reason: refusal.reason,
    ...(refusal.details && { details: refusal.details }),
  });
}
