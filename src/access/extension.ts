// Extension requests: the holder of an active grant asks for more time; the extension is approved
// like a request (same approver rules, distinct people, no self-approval) and never takes the grant
// past start + maxTotal. Transitions take the extension and its grant together, so one outcome
// changes both consistently (one transaction for the coordinator).
//
//   open (grant active, holder, within maxTotal)
//     │
//     ▼          approve (quorum met, still within maxTotal) ──► approved  (grant.end += addMs)
//  ┌─────────┐   deny (an approver)                        ──► denied
//  │ pending │   cancel (the holder or an admin)           ──► cancelled
//  └─────────┘   any event at now >= pendingUntil, or once the grant is no longer active
//     │                                                    ──► expired-unanswered
//     └─ approve (quorum not met): stays pending
//
// pendingUntil = min(open + pendingMs, grant end at open): an extension cannot outlive its grant.
import { addApproval, canDeny, type Actor, type Approval } from './approvals.ts';
import { formatDuration, iso } from './duration.ts';
import { audit, MAX_REASON_CHARS, notify, SYSTEM_ACTOR_ID, type Effect } from './effects.ts';
import { expireGrant, grantLive, type GrantState } from './grant.ts';
import { checkId } from './ids.ts';
import type { ApprovalRules } from './policy.ts';
import { refuse, type Applied, type Outcome, type Refusal } from './refusal.ts';
import type { RequestEvent, RequestStatus } from './request.ts';
import { truncatedField } from '../util/index.ts';

export interface ExtensionState {
  readonly id: string;
  readonly grantId: string;
  readonly requester: string;
  readonly addMs: number;
  readonly reason: string;
  readonly rules: ApprovalRules;
  readonly createdAt: number;
  /** Exclusive deadline for a decision. */
  readonly pendingUntil: number;
  readonly status: RequestStatus;
  readonly approvals: readonly Approval[];
  readonly decidedAt: number | null;
  readonly decidedBy: string | null;
  readonly note: string | null;
}

export interface ExtensionPair {
  readonly extension: ExtensionState;
  readonly grant: GrantState;
}

export type ExtensionEvent = RequestEvent;

const subj = (x: { id: string }): string => `extension:${x.id}`;

/** Opens an extension request for `grant` by `actor` (who must hold it). */
export function openExtension(
  grant: GrantState,
  input: { readonly id: string; readonly actor: Actor; readonly addMs: number; readonly reason: string },
  now: number,
): Outcome<ExtensionState> {
  checkId(input.id, 'extension');
  if (!grantLive(grant, now)) return refuse('GRANT_NOT_ACTIVE', `grant ${grant.id} is no longer active`);
  if (input.actor.id !== grant.subject)
    return refuse('NOT_REQUESTER', 'only the holder of a grant may ask to extend it');
  if (
    typeof input.reason !== 'string' ||
    input.reason.trim() === '' ||
    [...input.reason].length > MAX_REASON_CHARS
  ) {
    return refuse('REQUEST_INVALID', 'give a reason (up to 1000 characters)');
  }
  if (!Number.isSafeInteger(input.addMs) || input.addMs <= 0) {
    return refuse('REQUEST_INVALID', 'the extension must be a positive whole number of milliseconds');
  }
  const maxAddMs = grant.maxEnd - grant.end;
  if (input.addMs > maxAddMs) {
    return refuse('EXTENSION_EXCEEDS_MAXIMUM', `this grant can be extended by at most ${maxAddMs} ms`, {
      maxAddMs,
    });
  }
  const state: ExtensionState = {
    id: input.id,
    grantId: grant.id,
    requester: grant.subject,
    addMs: input.addMs,
    reason: input.reason,
    rules: { approval: grant.rules.approval, customer: grant.rules.customer },
    createdAt: now,
    pendingUntil: Math.min(now + grant.rules.pendingMs, grant.end),
    status: 'pending',
    approvals: [],
    decidedAt: null,
    decidedBy: null,
    note: null,
  };
  return {
    ok: true,
    state,
    effects: [
      audit('extension.create', input.actor.id, subj(state), now, {
        grant: grant.id,
        addMs: input.addMs,
        reason: input.reason,
      }),
      notify(
        'request',
        subj(state),
        now,
        `${grant.subject} asks to extend grant ${grant.id} by ${formatDuration(input.addMs)}: ${input.reason}`,
      ),
    ],
  };
}

/** The instant the coordinator should send `tick`, or null when nothing is pending. */
export const extensionDeadline = (x: ExtensionState): number | null =>
  x.status === 'pending' ? x.pendingUntil : null;

function lapse(p: ExtensionPair, now: number): Applied<ExtensionPair> {
  const x = p.extension;
  const cause =
    now >= x.pendingUntil
      ? 'unanswered'
      : `grant ${p.grant.status === 'active' ? 'expired' : p.grant.status}`;
  const effects: Effect[] = [
    audit('extension.expire', SYSTEM_ACTOR_ID, subj(x), now, { cause }),
    notify('decision', subj(x), now, `extension ${x.id} of grant ${x.grantId} lapsed (${cause})`),
  ];
  let grant = p.grant;
  if (grant.status === 'active' && now >= grant.end) {
    const g = expireGrant(grant, now);
    grant = g.state;
    effects.push(...g.effects);
  }
  const extension: ExtensionState = {
    ...x,
    status: 'expired-unanswered',
    decidedAt: now,
    decidedBy: SYSTEM_ACTOR_ID,
  };
  return { ok: true, state: { extension, grant }, effects };
}

/** Applies one event to an extension (and, when it is approved, to its grant) at time `now`. */
export function extensionTransition(
  p: ExtensionPair,
  e: ExtensionEvent,
  now: number,
): Outcome<ExtensionPair> {
  const x = p.extension;
  if (x.grantId !== p.grant.id)
    throw new RangeError(`extension ${x.id} belongs to grant ${x.grantId}, not ${p.grant.id}`);
  if (x.status !== 'pending')
    return refuse('NOT_PENDING', `extension ${x.id} is already ${x.status}`, { status: x.status });
  if (now >= x.pendingUntil || !grantLive(p.grant, now)) {
    const l = lapse(p, now);
    if (e.type === 'tick') return l;
    const code = grantLive(p.grant, now) ? 'REQUEST_EXPIRED' : 'GRANT_NOT_ACTIVE';
    const r: Refusal<ExtensionPair> = { ...refuse(code, `extension ${x.id} lapsed`), lapse: l };
    return r;
  }
  const at = subj(x);
  switch (e.type) {
    case 'tick':
      return refuse('NOT_DUE', `extension ${x.id} is pending until ${x.pendingUntil}`);
    case 'approve': {
      const r = addApproval(
        x.rules,
        { requester: x.requester, deployment: p.grant.deployment },
        x.approvals,
        e.actor,
        now,
      );
      if (!r.ok) return r;
      const roles = r.approvals[r.approvals.length - 1].roles;
      const effects: Effect[] = [audit('extension.approval', e.actor.id, at, now, { roles })];
      if (!r.met) return { ok: true, state: { ...p, extension: { ...x, approvals: r.approvals } }, effects };
      const end = p.grant.end + x.addMs;
      if (end > p.grant.maxEnd) {
        return refuse('EXTENSION_EXCEEDS_MAXIMUM', `grant ${p.grant.id} may not run past ${p.grant.maxEnd}`, {
          maxAddMs: p.grant.maxEnd - p.grant.end,
        });
      }
      const extension: ExtensionState = {
        ...x,
        approvals: r.approvals,
        status: 'approved',
        decidedAt: now,
        decidedBy: e.actor.id,
      };
      const grant: GrantState = { ...p.grant, end, extensions: [...p.grant.extensions, x.id] };
      effects.push(
        audit('extension.approve', e.actor.id, at, now, { approvers: r.approvals.map((a) => a.by) }),
        { kind: 'grant-extended', grantId: grant.id, extensionId: x.id, end },
        audit('grant.extend', e.actor.id, `grant:${grant.id}`, now, {
          extension: x.id,
          from: p.grant.end,
          end,
        }),
        notify('decision', at, now, `grant ${grant.id} of ${grant.subject} extended to ${iso(end)}`),
      );
      return { ok: true, state: { extension, grant }, effects };
    }
    case 'deny': {
      const no = canDeny(x.rules, { requester: x.requester, deployment: p.grant.deployment }, e.actor);
      if (no) return no;
      // Cut on code points (never inside a surrogate pair) and say so in the record.
      const cut = truncatedField('reason', typeof e.reason === 'string' ? e.reason : '', MAX_REASON_CHARS);
      const reason = cut.reason as string;
      return {
        ok: true,
        state: {
          ...p,
          extension: { ...x, status: 'denied', decidedAt: now, decidedBy: e.actor.id, note: reason },
        },
        effects: [
          audit('extension.deny', e.actor.id, at, now, cut),
          notify(
            'decision',
            at,
            now,
            `extension ${x.id} of grant ${x.grantId} denied by ${e.actor.id}: ${reason}`,
          ),
        ],
      };
    }
    case 'cancel': {
      if (e.actor.id !== x.requester && e.actor.admin !== true) {
        return refuse('NOT_REQUESTER', 'only the holder or an administrator may cancel an extension request');
      }
      return {
        ok: true,
        state: { ...p, extension: { ...x, status: 'cancelled', decidedAt: now, decidedBy: e.actor.id } },
        effects: [
          audit('extension.cancel', e.actor.id, at, now),
          notify('decision', at, now, `extension ${x.id} cancelled`),
        ],
      };
    }
  }
}
