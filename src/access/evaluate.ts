// The one evaluator: which policy, if any, lets this person make this request.
//
// Policies are tried in document order; the first that covers the requester, the deployment, every
// requested service, the access level and the duration applies. When none does, the refusal names
// the closest miss: duration > access > service > deployment > eligibility.
import { matches } from './selector.ts';
import { refuse, type Refusal } from './refusal.ts';
import {
  ACCESS_LEVELS,
  type AccessLevel,
  type GrantRules,
  type Labelled,
  type Policy,
  type PolicySet,
} from './policy.ts';
import type { Actor } from './approvals.ts';

/** What someone asks for. */
export interface AccessRequestInput {
  readonly requester: Actor;
  readonly deployment: string;
  readonly services: readonly string[];
  readonly durationMs: number;
  /** Why (a ticket or incident reference); required. */
  readonly reason: string;
  /** A specific access level; when absent, the first fitting policy's level applies. */
  readonly access?: AccessLevel;
}

/** What the evaluator needs to know about the world; the coordinator reads it from the store. */
export interface EvaluationContext {
  readonly now: number;
  /** The requested deployment, or undefined when no deployment has that name. */
  readonly deployment: Labelled | undefined;
  /** Every service of that deployment. */
  readonly services: readonly Labelled[];
}

export interface Evaluation {
  readonly ok: true;
  readonly policy: Policy;
  readonly policyId: string;
  /** Requested services, deduplicated and sorted. */
  readonly services: readonly string[];
  readonly access: AccessLevel;
  readonly durationMs: number;
  /** The policy's limits and approval requirements, to snapshot into the request. */
  readonly rules: GrantRules;
  /** The longest duration this policy would have allowed for this request. */
  readonly maxDurationMs: number;
  /** The request expires unanswered at this instant (exclusive bound of the pending window). */
  readonly pendingUntil: number;
}

const MAX_REASON = 1000;
const MAX_SERVICES = 64;

/** Takes the snapshot of a policy that requests and grants carry. */
export const rulesOf = (p: Policy): GrantRules => ({
  approval: p.approval,
  customer: p.customer,
  maxDurationMs: p.maxDurationMs,
  maxTotalMs: p.maxTotalMs,
  pendingMs: p.pendingMs,
});

function checkInput(req: AccessRequestInput): Refusal | undefined {
  if (typeof req.reason !== 'string' || req.reason.trim().length === 0) {
    return refuse('REQUEST_INVALID', 'give a reason (a ticket or incident reference)');
  }
  if (req.reason.length > MAX_REASON)
    return refuse('REQUEST_INVALID', `the reason is longer than ${MAX_REASON} characters`);
  if (!Number.isSafeInteger(req.durationMs) || req.durationMs <= 0) {
    return refuse('REQUEST_INVALID', 'the duration must be a positive whole number of milliseconds');
  }
  if (!Array.isArray(req.services) || req.services.length === 0) {
    return refuse('REQUEST_INVALID', 'name at least one service');
  }
  if (req.services.length > MAX_SERVICES)
    return refuse('REQUEST_INVALID', `at most ${MAX_SERVICES} services per request`);
  if (req.access !== undefined && !(ACCESS_LEVELS as readonly string[]).includes(req.access)) {
    return refuse('REQUEST_INVALID', `access must be one of ${ACCESS_LEVELS.join(', ')}`);
  }
  return undefined;
}

const MISS_ORDER = [
  'NOT_ELIGIBLE',
  'DEPLOYMENT_NOT_COVERED',
  'SERVICE_NOT_COVERED',
  'ACCESS_NOT_COVERED',
  'DURATION_EXCEEDS_POLICY',
] as const;

/** Decides which policy applies to `request`, or refuses with a code and a reason. */
export function evaluateRequest(
  policies: PolicySet | readonly Policy[],
  request: AccessRequestInput,
  ctx: EvaluationContext,
): Evaluation | Refusal {
  const bad = checkInput(request);
  if (bad) return bad;
  const list = Array.isArray(policies) ? (policies as readonly Policy[]) : (policies as PolicySet).policies;
  const dep = ctx.deployment;
  if (dep === undefined || dep.name !== request.deployment) {
    return refuse('DEPLOYMENT_UNKNOWN', `no deployment named "${request.deployment}"`);
  }
  const names = [...new Set(request.services)].sort();
  const catalog = new Map(ctx.services.map((s) => [s.name, s]));
  const unknown = names.filter((n) => !catalog.has(n));
  if (unknown.length > 0) {
    return refuse(
      'SERVICE_UNKNOWN',
      `"${dep.name}" has no service ${unknown.map((n) => `"${n}"`).join(', ')}`,
      { services: unknown },
    );
  }
  const services = names.map((n) => catalog.get(n)!);

  let worst = -1;
  let longest = 0;
  for (const p of list) {
    let miss: (typeof MISS_ORDER)[number] | undefined;
    if (!p.requesters.some((g) => request.requester.groups.includes(g))) miss = 'NOT_ELIGIBLE';
    else if (!matches(p.deployments, dep)) miss = 'DEPLOYMENT_NOT_COVERED';
    else if (!services.every((s) => matches(p.services, s))) miss = 'SERVICE_NOT_COVERED';
    else if (request.access !== undefined && request.access !== p.access) miss = 'ACCESS_NOT_COVERED';
    else if (request.durationMs > p.maxDurationMs) miss = 'DURATION_EXCEEDS_POLICY';
    if (miss === undefined) {
      return {
        ok: true,
        policy: p,
        policyId: p.id,
        services: names,
        access: p.access,
        durationMs: request.durationMs,
        rules: rulesOf(p),
        maxDurationMs: p.maxDurationMs,
        pendingUntil: ctx.now + p.pendingMs,
      };
    }
    const rank = MISS_ORDER.indexOf(miss);
    worst = Math.max(worst, rank);
    if (miss === 'DURATION_EXCEEDS_POLICY') longest = Math.max(longest, p.maxDurationMs);
  }
  const code = worst < 0 ? 'NOT_ELIGIBLE' : MISS_ORDER[worst];
  switch (code) {
    case 'NOT_ELIGIBLE':
      return refuse(code, 'no policy lets you request access; ask to be added to a requester group');
    case 'DEPLOYMENT_NOT_COVERED':
      return refuse(code, `no policy of yours covers deployment "${dep.name}"`);
    case 'SERVICE_NOT_COVERED':
      return refuse(
        code,
        `no policy of yours covers all of ${names.join(', ')} on "${dep.name}"; request fewer services`,
      );
    case 'ACCESS_NOT_COVERED':
      return refuse(code, `no policy of yours grants ${request.access} access here`);
    case 'DURATION_EXCEEDS_POLICY':
      return refuse(code, `the longest access you may request here is ${longest} ms`, {
        maxDurationMs: longest,
      });
  }
}
