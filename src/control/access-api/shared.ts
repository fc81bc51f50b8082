// What the access API's routes share: their dependencies, refusals as answers, who may see what,
// and durations read from a body.
import type { FastifyReply } from 'fastify';
import {
  readDuration,
  REFUSAL_STATUS,
  type Actor,
  type ApprovalRules,
  type RefusalCode,
} from '../../access/index.ts';
import type { Clock } from '../../clock/index.ts';
import type { AccessResult, Store } from '../../store/index.ts';
import type { AccessService } from '../access.ts';
import type { SessionAuth } from '../bearer.ts';
import { ControlError } from '../errors.ts';
import type { CoordinatorPki } from '../pki.ts';

export interface AccessApiDeps {
  auth: SessionAuth;
  store: Store;
  access: AccessService;
  pki: CoordinatorPki;
  clock: Clock;
  /** Called after a new policy document is stored (standing grants follow it). */
  policyChanged?(): void;
}

/** Sends a refusal (status from REFUSAL_STATUS) or returns the state. */
export function answer<S>(reply: FastifyReply, r: AccessResult<S>, okStatus = 200): S | FastifyReply {
  if (r.ok) {
    reply.code(okStatus);
    return r.state;
  }
  return reply.code(REFUSAL_STATUS[r.code as RefusalCode] ?? 400).send({
    error: { code: r.code, message: r.reason, ...(r.details ? { details: r.details } : {}) },
  });
}

/**
 * Whether `a` may see something on `deployment` decided under `rules` and asked for by `owner`:
 * a customer's person sees everything on its deployments and nothing else; the vendor's people
 * see their own, what their groups decide, and administrators everything.
 */
export const mayView = (a: Actor, owner: string, rules: ApprovalRules, deployment: string): boolean =>
  a.customerOf !== undefined
    ? a.customerOf.includes(deployment)
    : a.admin === true || a.id === owner || a.groups.includes(rules.approval.group);

/** Milliseconds of a duration such as 30m, 2h, 1h30m; BAD_REQUEST for anything else. */
export function durationOf(s: string): number {
  const ms = readDuration(s);
  if (ms === undefined || ms <= 0)
    throw new ControlError('BAD_REQUEST', `not a duration: ${JSON.stringify(s)} (write e.g. 30m, 2h, 1h30m)`);
  return ms;
}

/**
 * The guard of every access route: signed-in people, customers' people too (every route here
 * scopes what it answers with mayView, or refuses them).
 */
export const signedIn = (d: AccessApiDeps) => ({ preHandler: d.auth.preHandler(false, true) });
