// Who may approve, and when enough distinct people have (I6).
//
// Each approval records the roles its author held when approving: `approver` (vendor group) and/or
// `customer` (customer group). A person in both groups still counts once: the quorum is met when the
// distinct approvers can be assigned, one role each, to fill the vendor threshold T and the customer
// threshold C. With a = approvers only, c = customers only, b = both, that is (Hall's condition):
//   a + b >= T  and  c + b >= C  and  a + b + c >= T + C.
import type { ApprovalRules } from './policy.ts';
import { refuse, type Refusal } from './refusal.ts';

/** Whoever causes an event: a user id with the groups they are in at that moment. */
export interface Actor {
  readonly id: string;
  readonly groups: readonly string[];
  /** Administrators may cancel requests and revoke grants; they never count as approvers. */
  readonly admin?: boolean;
}

export type ApproverRole = 'approver' | 'customer';

export interface Approval {
  readonly by: string;
  readonly at: number;
  readonly roles: readonly ApproverRole[];
}

/** Whether `approver` may approve a request of `request.requester` under `rules`, and in which roles. */
export function canApprove(
  rules: ApprovalRules,
  request: { readonly requester: string },
  approver: Actor,
): { readonly ok: true; readonly roles: readonly ApproverRole[] } | Refusal {
  if (approver.id === request.requester) {
    return refuse('SELF_APPROVAL', 'no one approves their own request');
  }
  const roles: ApproverRole[] = [];
  if (approver.groups.includes(rules.approval.group)) roles.push('approver');
  if (rules.customer !== null && approver.groups.includes(rules.customer.group)) roles.push('customer');
  if (roles.length === 0) {
    const groups = [rules.approval.group, ...(rules.customer ? [rules.customer.group] : [])];
    return refuse('NOT_APPROVER', `approvers must be in ${groups.map((g) => `"${g}"`).join(' or ')}`, {
      groups,
    });
  }
  return { ok: true, roles };
}

export interface QuorumCount {
  readonly met: boolean;
  /** Distinct approvers counted (the requester and repeats never count). */
  readonly distinct: number;
  readonly vendorNeeded: number;
  readonly customerNeeded: number;
}

/** Whether `approvals` meet the rules' thresholds with distinct non-requester people. */
export function quorum(rules: ApprovalRules, requester: string, approvals: readonly Approval[]): QuorumCount {
  const seen = new Set<string>();
  let a = 0;
  let b = 0;
  let c = 0;
  for (const ap of approvals) {
    if (ap.by === requester || seen.has(ap.by)) continue;
    seen.add(ap.by);
    const v = ap.roles.includes('approver');
    const k = rules.customer !== null && ap.roles.includes('customer');
    if (v && k) b++;
    else if (v) a++;
    else if (k) c++;
  }
  const T = rules.approval.threshold;
  const C = rules.customer?.threshold ?? 0;
  const met = a + b >= T && c + b >= C && a + b + c >= T + C;
  return { met, distinct: seen.size, vendorNeeded: T, customerNeeded: C };
}

/**
 * Adds `actor`'s approval to `approvals`, or refuses (self-approval, outside the groups, or a
 * second approval by the same person).
 */
export function addApproval(
  rules: ApprovalRules,
  requester: string,
  approvals: readonly Approval[],
  actor: Actor,
  now: number,
): { readonly ok: true; readonly approvals: readonly Approval[]; readonly met: boolean } | Refusal {
  const may = canApprove(rules, { requester }, actor);
  if (!may.ok) return may;
  if (approvals.some((ap) => ap.by === actor.id)) {
    return refuse('DUPLICATE_APPROVAL', 'you have already approved this; one person counts once');
  }
  const next = [...approvals, { by: actor.id, at: now, roles: may.roles }];
  return { ok: true, approvals: next, met: quorum(rules, requester, next).met };
}

/** Whether `actor` may deny: the same people who may approve, never the requester. */
export function canDeny(rules: ApprovalRules, requester: string, actor: Actor): Refusal | undefined {
  if (actor.id === requester) {
    return refuse('SELF_APPROVAL', 'the requester cannot decide on their own request; cancel it instead');
  }
  const may = canApprove(rules, { requester }, actor);
  return may.ok ? undefined : may;
}
