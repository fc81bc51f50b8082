// The grant lifecycle, a pure state machine. The window is [start, end): at now = end it is over.
//
//   approval ──► ┌────────┐ extension approved (extension.ts): end moves later, never past maxEnd
//                │ active │◄───┐
//                └────────┘────┘
//                  │    │ revoke (subject, an approver, a customer approver, an admin) ──► revoked
//                  │    └──────────────────────────────────────────────────────────────► (effect grant-ended)
//                  │ any event at now >= end
//                  └──────────────────────────────► expired (effect grant-ended)
//
// expired and revoked are terminal. The `grant-ended` effect is the coordinator's cue to cut live
// streams, drop the peer from the netmap and remove target configuration (I5).
import type { Actor } from './approvals.ts';
import { audit, MAX_REASON_CHARS, notify, SYSTEM_ACTOR_ID, type Effect } from './effects.ts';
import type { AccessLevel, GrantRules } from './policy.ts';
import { refuse, type Applied, type Outcome, type Refusal } from './refusal.ts';
import { truncatedField } from '../util/index.ts';

export type GrantStatus = 'active' | 'expired' | 'revoked';

export interface GrantState {
  readonly id: string;
  readonly requestId: string;
  /** The user the grant is for (the requester). */
  readonly subject: string;
  readonly deployment: string;
  readonly services: readonly string[];
  readonly access: AccessLevel;
  readonly policyId: string;
  readonly rules: GrantRules;
  readonly start: number;
  /** Exclusive end: the grant covers start <= t < end. The certificate's notAfter. */
  readonly end: number;
  /** The latest end extensions may reach: start + rules.maxTotalMs. */
  readonly maxEnd: number;
  readonly status: GrantStatus;
  /** When it ended (end for expiry, the revocation time for revocation), or null. */
  readonly endedAt: number | null;
  readonly endedBy: string | null;
  readonly note: string | null;
  /** Ids of the extensions applied, in order. */
  readonly extensions: readonly string[];
}

export type GrantEvent =
  | { readonly type: 'revoke'; readonly actor: Actor; readonly reason: string }
  /** The end of the window, driven by the coordinator's timer (see `grantDeadline`). */
  | { readonly type: 'tick' };

/** The grant a request's approval creates at `now`. */
export function newGrant(
  r: {
    readonly id: string;
    readonly grantId: string;
    readonly requester: string;
    readonly deployment: string;
    readonly services: readonly string[];
    readonly access: AccessLevel;
    readonly policyId: string;
    readonly rules: GrantRules;
    readonly durationMs: number;
  },
  now: number,
): GrantState {
  return {
    id: r.grantId,
    requestId: r.id,
    subject: r.requester,
    deployment: r.deployment,
    services: r.services,
    access: r.access,
    policyId: r.policyId,
    rules: r.rules,
    start: now,
    end: now + Math.min(r.durationMs, r.rules.maxDurationMs),
    maxEnd: now + r.rules.maxTotalMs,
    status: 'active',
    endedAt: null,
    endedBy: null,
    note: null,
    extensions: [],
  };
}

/** Whether the grant lets `subject` reach `service` at `now` (I4's grant half). */
export function grantCovers(g: GrantState, subject: string, service: string, now: number): boolean {
  return (
    g.status === 'active' &&
    g.subject === subject &&
    g.start <= now &&
    now < g.end &&
    g.services.includes(service)
  );
}

/** The instant the coordinator should send `tick`, or null once the grant has ended. */
export const grantDeadline = (g: GrantState): number | null => (g.status === 'active' ? g.end : null);

/** Whether the grant is still active at `now`. */
export const grantLive = (g: GrantState, now: number): boolean => g.status === 'active' && now < g.end;

const subj = (g: GrantState): string => `grant:${g.id}`;

/** Expires an active grant whose end has come (at `now` >= end). */
export function expireGrant(g: GrantState, now: number): Applied<GrantState> {
  const state: GrantState = { ...g, status: 'expired', endedAt: g.end, endedBy: SYSTEM_ACTOR_ID };
  const effects: Effect[] = [
    audit('grant.expire', SYSTEM_ACTOR_ID, subj(g), now, { end: g.end }),
    { kind: 'grant-ended', grantId: g.id, cause: 'expired', at: g.end },
    notify(
      'grant-end',
      subj(g),
      now,
      `${g.subject}'s access to ${g.services.join(', ')} on ${g.deployment} expired`,
    ),
  ];
  return { ok: true, state, effects };
}

/** Whether `actor` may revoke: the holder, an approver of its policy, the deployment's customer, an admin. */
function mayRevoke(g: GrantState, actor: Actor): boolean {
  if (actor.id === g.subject || actor.admin === true) return true;
  // The deployment's customer may always end access to it ("revoke now"); no other customer may.
  if (actor.customerOf !== undefined) return actor.customerOf.includes(g.deployment);
  return actor.groups.includes(g.rules.approval.group);
}

/** Applies one event to a grant at time `now`. */
export function grantTransition(g: GrantState, e: GrantEvent, now: number): Outcome<GrantState> {
  if (g.status !== 'active')
    return refuse('GRANT_NOT_ACTIVE', `grant ${g.id} is ${g.status}`, { status: g.status });
  if (now >= g.end) {
    const l = expireGrant(g, now);
    if (e.type === 'tick') return l;
    const r: Refusal<GrantState> = {
      ...refuse('GRANT_EXPIRED', `grant ${g.id} ended at ${g.end}`),
      lapse: l,
    };
    return r;
  }
  switch (e.type) {
    case 'tick':
      return refuse('NOT_DUE', `grant ${g.id} runs until ${g.end}`);
    case 'revoke': {
      if (!mayRevoke(g, e.actor)) {
        return refuse(
          'NOT_ALLOWED',
          'only the holder, an approver of its policy or an administrator may revoke a grant',
        );
      }
      // Cut on code points (never inside a surrogate pair) and say so in the record.
      const cut = truncatedField('reason', typeof e.reason === 'string' ? e.reason : '', MAX_REASON_CHARS);
      const reason = cut.reason as string;
      const state: GrantState = { ...g, status: 'revoked', endedAt: now, endedBy: e.actor.id, note: reason };
      return {
        ok: true,
        state,
        effects: [
          audit('grant.revoke', e.actor.id, subj(g), now, { ...cut, end: g.end }),
          { kind: 'grant-ended', grantId: g.id, cause: 'revoked', at: now },
          notify(
            'grant-end',
            subj(g),
            now,
            `${g.subject}'s access to ${g.services.join(', ')} on ${g.deployment} revoked by ${e.actor.id}: ${reason}`,
          ),
        ],
      };
    }
  }
}
