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
  /**
   * A customer's person: the deployments of their customer (their whole scope). Only such a
   * person can hold the `customer` role, and only for those deployments; they never hold the
   * vendor's `approver` role. Undefined for the vendor's people, who never approve as the customer.
   */
  readonly customerOf?: readonly string[];
  /** That customer's name (set with `customerOf`). */
  readonly customer?: string;
}

/** The pseudo-group a customer's switch "require co-approval" names in a request's rules. */
export const customerGroup = (customer: string): string => `customer:${customer}`;

export type ApproverRole = 'approver' | 'customer';

export interface Approval {
  readonly by: string;
  readonly at: number;
  readonly roles: readonly ApproverRole[];
}

/**
 * Whether `approver` may approve a request of `request.requester` on `request.deployment` under
 * `rules`, and in which roles. The vendor's people are approvers by the approval group; the
 * customer role is held only by the deployment's customer's people, in the customer group (or any
 * of them, when the rule is the customer's own switch: group `customer:NAME`).
 */
export function canApprove(
  rules: ApprovalRules,
  request: { readonly requester: string; readonly deployment: string },
  approver: Actor,
): { readonly ok: true; readonly roles: readonly ApproverRole[] } | Refusal {
  if (approver.id === request.requester) {
    return refuse('SELF_APPROVAL', 'no one approves their own request');
  }
  const roles: ApproverRole[] = [];
  const customer = approver.customerOf !== undefined;
  if (!customer && approver.groups.includes(rules.approval.group)) roles.push('approver');
  if (
    customer &&
    rules.customer !== null &&
    approver.customerOf!.includes(request.deployment) &&
    (approver.groups.includes(rules.customer.group) || rules.customer.group.startsWith('customer:'))
  )
    roles.push('customer');
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
  request: { readonly requester: string; readonly deployment: string },
  approvals: readonly Approval[],
  actor: Actor,
  now: number,
): { readonly ok: true; readonly approvals: readonly Approval[]; readonly met: boolean } | Refusal {
  const requester = request.requester;
  const may = canApprove(rules, request, actor);
  if (!may.ok) return may;
  if (approvals.some((ap) => ap.by === actor.id)) {
    return refuse('DUPLICATE_APPROVAL', 'you have already approved this; one person counts once');
  }
  const next = [...approvals, { by: actor.id, at: now, roles: may.roles }];
  return { ok: true, approvals: next, met: quorum(rules, requester, next).met };
}

/** Whether `actor` may deny: the same people who may approve, never the requester. */
export function canDeny(
  rules: ApprovalRules,
  request: { readonly requester: string; readonly deployment: string },
  actor: Actor,
): Refusal | undefined {
  if (actor.id === request.requester) {
    return refuse('SELF_APPROVAL', 'the requester cannot decide on their own request; cancel it instead');
  }
  const may = canApprove(rules, request, actor);
  return may.ok ? undefined : may;
}
