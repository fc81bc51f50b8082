// The access request lifecycle, a pure state machine. Times are epoch ms passed in by the caller.
//
//                  approve (quorum not yet met): stays pending, approval recorded
//                 ┌────┐
//                 ▼    │
//   open ──► ┌─────────┐ approve (quorum met) ──► approved ──► effect grant-created (exactly once)
//            │ pending │ deny (an approver)   ──► denied
//            └─────────┘ cancel (requester)   ──► cancelled
//                 │      any event at now >= pendingUntil
//                 └────────────────────────────► expired-unanswered
//
// approved, denied, cancelled and expired-unanswered are terminal: every event on them is refused
// (NOT_PENDING) and changes nothing. An event that finds the request past its deadline is refused
// (REQUEST_EXPIRED) and carries the lapse to expired-unanswered; a `tick` is the deadline itself.
import { addApproval, canDeny, customerGroup, type Actor, type Approval } from './approvals.ts';
import { describeHours, withinHours, type AccessHours } from './hours.ts';
import { audit, MAX_REASON_CHARS, notify, SYSTEM_ACTOR_ID, type Effect } from './effects.ts';
import { formatDuration, iso } from './duration.ts';
import { evaluateRequest, type AccessRequestInput, type EvaluationContext } from './evaluate.ts';
import { newGrant } from './grant.ts';
import { checkId } from './ids.ts';
import type { AccessLevel, GrantRules, Policy, PolicySet } from './policy.ts';
import { refuse, type Applied, type Outcome, type Refusal } from './refusal.ts';
import { truncatedField } from '../util/index.ts';

export type RequestStatus = 'pending' | 'approved' | 'denied' | 'cancelled' | 'expired-unanswered';

export interface RequestState {
  readonly id: string;
  /** The id the grant will carry if the request is approved: one request, at most one grant. */
  readonly grantId: string;
  readonly requester: string;
  readonly deployment: string;
  readonly services: readonly string[];
  readonly access: AccessLevel;
  readonly reason: string;
  readonly durationMs: number;
  readonly policyId: string;
  /** Snapshot of the policy's rules when the request was made. */
  readonly rules: GrantRules;
  readonly createdAt: number;
  /** Exclusive: at now >= pendingUntil the request is expired-unanswered. */
  readonly pendingUntil: number;
  readonly status: RequestStatus;
  readonly approvals: readonly Approval[];
  readonly decidedAt: number | null;
  readonly decidedBy: string | null;
  /** The deny reason, or null. */
  readonly note: string | null;
}

export type RequestEvent =
  | { readonly type: 'approve'; readonly actor: Actor }
  | { readonly type: 'deny'; readonly actor: Actor; readonly reason: string }
  | { readonly type: 'cancel'; readonly actor: Actor }
  /** The pending deadline, driven by the coordinator's timer (see `requestDeadline`). */
  | { readonly type: 'tick' };

const subj = (s: { id: string }): string => `request:${s.id}`;

/** Evaluates `input` and, if a policy applies, opens a pending request. */
/**
 * What the deployment's customer has switched (customer portal): `noAccess` refuses every request;
 * `coApproval` names the customer whose approval every request then needs (at least one of its
 * people), on top of what the policy asks.
 */
export interface CustomerControls {
  readonly noAccess: boolean;
  readonly coApproval: string | null;
  /** Requests only inside these hours (UTC); null: any time. */
  readonly hours?: AccessHours | null;
}

export function openRequest(
  policies: PolicySet | readonly Policy[],
  input: AccessRequestInput,
  ctx: EvaluationContext & {
    readonly id: string;
    readonly grantId: string;
    readonly controls?: CustomerControls;
  },
): Outcome<RequestState> {
  checkId(ctx.id, 'request');
  checkId(ctx.grantId, 'grant');
  if (input.requester.customerOf !== undefined)
    return refuse('NOT_ELIGIBLE', "a customer's people decide on access; they do not request it");
  if (ctx.controls?.noAccess)
    return refuse(
      'DEPLOYMENT_LOCKED',
      `the customer has switched off all vendor access to ${input.deployment}: ask them to switch it on`,
    );
  const hours = ctx.controls?.hours;
  if (hours && !withinHours(hours, ctx.now))
    return refuse(
      'DEPLOYMENT_LOCKED',
      `the customer allows vendor access to ${input.deployment} only ${describeHours(hours)}: ask again then, or ask the customer`,
    );
  const evaluated = evaluateRequest(policies, input, ctx);
  if (!evaluated.ok) return evaluated;
  const co = ctx.controls?.coApproval;
  const ev =
    co && evaluated.rules.customer === null
      ? { ...evaluated, rules: { ...evaluated.rules, customer: { group: customerGroup(co), threshold: 1 } } }
      : evaluated;
  const state: RequestState = {
    id: ctx.id,
    grantId: ctx.grantId,
    requester: input.requester.id,
    deployment: input.deployment,
    services: ev.services,
    access: ev.access,
    reason: input.reason,
    durationMs: ev.durationMs,
    policyId: ev.policyId,
    rules: ev.rules,
    createdAt: ctx.now,
    pendingUntil: ev.pendingUntil,
    status: 'pending',
    approvals: [],
    decidedAt: null,
    decidedBy: null,
    note: null,
  };
  const s = subj(state);
  return {
    ok: true,
    state,
    effects: [
      audit('request.create', state.requester, s, ctx.now, {
        deployment: state.deployment,
        services: state.services,
        access: state.access,
        durationMs: state.durationMs,
        reason: state.reason,
        policy: state.policyId,
        pendingUntil: state.pendingUntil,
      }),
      notify(
        'request',
        s,
        ctx.now,
        `${state.requester} requests ${state.access} access to ${state.services.join(', ')} on ${state.deployment} for ${formatDuration(state.durationMs)}: ${state.reason}`,
      ),
    ],
  };
}

/** The instant the coordinator should send `tick`, or null when nothing is pending. */
export const requestDeadline = (s: RequestState): number | null =>
  s.status === 'pending' ? s.pendingUntil : null;

function lapse(s: RequestState, now: number): Applied<RequestState> {
  const state: RequestState = {
    ...s,
    status: 'expired-unanswered',
    decidedAt: now,
    decidedBy: SYSTEM_ACTOR_ID,
  };
  return {
    ok: true,
    state,
    effects: [
      audit('request.expire', SYSTEM_ACTOR_ID, subj(s), now, {
        pendingUntil: s.pendingUntil,
        approvals: s.approvals.length,
      }),
      notify('decision', subj(s), now, `request ${s.id} by ${s.requester} expired unanswered`),
    ],
  };
}

/** Applies one event to a request at time `now`. */
export function requestTransition(s: RequestState, e: RequestEvent, now: number): Outcome<RequestState> {
  if (s.status !== 'pending')
    return refuse('NOT_PENDING', `request ${s.id} is already ${s.status}`, { status: s.status });
  if (now >= s.pendingUntil) {
    const l = lapse(s, now);
    if (e.type === 'tick') return l;
    const r: Refusal<RequestState> = {
      ...refuse('REQUEST_EXPIRED', `request ${s.id} expired unanswered`),
      lapse: l,
    };
    return r;
  }
  const at = subj(s);
  switch (e.type) {
    case 'tick':
      return refuse('NOT_DUE', `request ${s.id} is pending until ${s.pendingUntil}`);
    case 'approve': {
      const r = addApproval(s.rules, s, s.approvals, e.actor, now);
      if (!r.ok) return r;
      const roles = r.approvals[r.approvals.length - 1].roles;
      const effects: Effect[] = [audit('request.approval', e.actor.id, at, now, { roles })];
      if (!r.met) return { ok: true, state: { ...s, approvals: r.approvals }, effects };
      const grant = newGrant(s, now);
      const state: RequestState = {
        ...s,
        approvals: r.approvals,
        status: 'approved',
        decidedAt: now,
        decidedBy: e.actor.id,
      };
      effects.push(
        audit('request.approve', e.actor.id, at, now, {
          approvers: r.approvals.map((a) => a.by),
          grant: grant.id,
        }),
        { kind: 'grant-created', grant },
        audit('grant.create', e.actor.id, `grant:${grant.id}`, now, {
          request: s.id,
          subject: grant.subject,
          deployment: grant.deployment,
          services: grant.services,
          access: grant.access,
          start: grant.start,
          end: grant.end,
        }),
        notify(
          'decision',
          at,
          now,
          `request ${s.id} by ${s.requester} approved by ${r.approvals.map((a) => a.by).join(', ')}`,
        ),
        notify(
          'grant-start',
          `grant:${grant.id}`,
          now,
          `${grant.subject} has ${grant.access} access to ${grant.services.join(', ')} on ${grant.deployment} until ${iso(grant.end)}`,
        ),
      );
      return { ok: true, state, effects };
    }
    case 'deny': {
      const no = canDeny(s.rules, s, e.actor);
      if (no) return no;
      // Cut on code points (never inside a surrogate pair) and say so in the record.
      const cut = truncatedField('reason', typeof e.reason === 'string' ? e.reason : '', MAX_REASON_CHARS);
      const reason = cut.reason as string;
      return {
        ok: true,
        state: { ...s, status: 'denied', decidedAt: now, decidedBy: e.actor.id, note: reason },
        effects: [
          audit('request.deny', e.actor.id, at, now, cut),
          notify('decision', at, now, `request ${s.id} by ${s.requester} denied by ${e.actor.id}: ${reason}`),
        ],
      };
    }
    case 'cancel': {
      if (e.actor.id !== s.requester && e.actor.admin !== true) {
        return refuse('NOT_REQUESTER', 'only the requester or an administrator may cancel a request');
      }
      return {
        ok: true,
        state: { ...s, status: 'cancelled', decidedAt: now, decidedBy: e.actor.id },
        effects: [
          audit('request.cancel', e.actor.id, at, now),
          notify('decision', at, now, `request ${s.id} by ${s.requester} cancelled by ${e.actor.id}`),
        ],
      };
    }
  }
}
