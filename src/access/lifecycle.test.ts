// The lifecycles and the races of issue 6 as sequential interleavings: each scenario is a list of
// events at given times; every step's result and the end state are checked.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Actor } from './approvals.ts';
import type { AccessRequestInput } from './evaluate.ts';
import type { GrantStatus } from './grant.ts';
import type { RequestStatus } from './request.ts';
import { HOUR, MIN, P, T0, World } from './testkit.ts';

type Step =
  | [at: number, 'approve' | 'cancel', Actor, string]
  | [at: number, 'deny', Actor, string]
  | [at: number, 'tick', null, string]
  | [at: number, 'revoke' | 'grant-tick', Actor | null, string]
  | [at: number, `open-ext:${string}`, Actor, string, addMs: number]
  | [at: number, `ext-${'approve' | 'deny' | 'cancel' | 'tick'}:${string}`, Actor | null, string];

interface Scenario {
  name: string;
  request?: Partial<AccessRequestInput>;
  steps: Step[];
  status: RequestStatus;
  grants: number;
  grant?: { status: GrantStatus; window?: number; endedAt?: number };
  ended?: number;
}

const OBS = {}; // oncall-obs: 1 lead, no customer, pending 30m, max 4h, total 8h; asks for 2h
const DB: Partial<AccessRequestInput> = { services: ['clickhouse'], durationMs: HOUR }; // 2 leads + 1 customer, pending 1h, max 2h, total 3h
const G = T0 + 2 * HOUR; // the end of a grant approved at T0 for 2h

const scenarios: Scenario[] = [
  {
    name: 'one lead approves',
    request: OBS,
    steps: [[T0, 'approve', P.carol, 'ok']],
    status: 'approved',
    grants: 1,
    grant: { status: 'active', window: 2 * HOUR },
  },
  {
    name: 'approval one ms before the pending deadline',
    steps: [[T0 + 30 * MIN - 1, 'approve', P.carol, 'ok']],
    status: 'approved',
    grants: 1,
  },
  {
    name: 'approval after the request expired',
    steps: [[T0 + 30 * MIN, 'approve', P.carol, 'REQUEST_EXPIRED']],
    status: 'expired-unanswered',
    grants: 0,
  },
  {
    name: 'approval after the expiry tick',
    steps: [
      [T0 + 30 * MIN, 'tick', null, 'ok'],
      [T0 + 31 * MIN, 'approve', P.carol, 'NOT_PENDING'],
    ],
    status: 'expired-unanswered',
    grants: 0,
  },
  {
    name: 'tick before the deadline',
    steps: [[T0 + 29 * MIN, 'tick', null, 'NOT_DUE']],
    status: 'pending',
    grants: 0,
  },
  {
    name: 'two approvals at once, threshold 1: one grant',
    steps: [
      [T0 + MIN, 'approve', P.carol, 'ok'],
      [T0 + MIN, 'approve', P.dave, 'NOT_PENDING'],
    ],
    status: 'approved',
    grants: 1,
  },
  {
    name: 'threshold 2, the same approver twice counts once',
    request: DB,
    steps: [
      [T0, 'approve', P.carol, 'ok'],
      [T0, 'approve', P.carol, 'DUPLICATE_APPROVAL'],
      [T0 + 1, 'approve', P.erin, 'ok'],
    ],
    status: 'pending',
    grants: 0,
  },
  {
    name: 'threshold 2 + customer: met exactly once',
    request: DB,
    steps: [
      [T0, 'approve', P.carol, 'ok'],
      [T0 + 1, 'approve', P.erin, 'ok'],
      [T0 + 2, 'approve', P.dave, 'ok'],
      [T0 + 2, 'approve', P.bob, 'NOT_PENDING'],
    ],
    status: 'approved',
    grants: 1,
    grant: { status: 'active', window: HOUR },
  },
  {
    name: 'customer approval missing: vendor threshold met, then it expires',
    request: DB,
    steps: [
      [T0, 'approve', P.carol, 'ok'],
      [T0 + 1, 'approve', P.bob, 'ok'],
      [T0 + HOUR, 'tick', null, 'ok'],
    ],
    status: 'expired-unanswered',
    grants: 0,
  },
  {
    name: 'one person in both groups counts once',
    request: DB,
    steps: [
      [T0, 'approve', P.carol, 'ok'],
      [T0 + 1, 'approve', P.dave, 'ok'],
    ],
    status: 'pending',
    grants: 0,
  },
  {
    name: 'the requester approves their own request',
    request: { requester: P.bob },
    steps: [
      [T0, 'approve', P.bob, 'SELF_APPROVAL'],
      [T0, 'deny', P.bob, 'SELF_APPROVAL'],
    ],
    status: 'pending',
    grants: 0,
  },
  {
    name: 'an outsider approves',
    steps: [[T0, 'approve', P.mallory, 'NOT_APPROVER']],
    status: 'pending',
    grants: 0,
  },
  {
    name: 'a customer approves where no customer is asked',
    steps: [[T0, 'approve', P.erin, 'NOT_APPROVER']],
    status: 'pending',
    grants: 0,
  },
  {
    name: 'revocation during an approval: the grant is revoked at its first instant',
    request: DB,
    steps: [
      [T0, 'approve', P.carol, 'ok'],
      [T0, 'revoke', P.root, 'GRANT_NOT_ACTIVE'],
      [T0 + 1, 'approve', P.erin, 'ok'],
      [T0 + 2, 'approve', P.dave, 'ok'],
      [T0 + 2, 'revoke', P.erin, 'ok'],
      [T0 + 2, 'approve', P.bob, 'NOT_PENDING'],
      [T0 + 3, 'revoke', P.carol, 'GRANT_NOT_ACTIVE'],
    ],
    status: 'approved',
    grants: 1,
    grant: { status: 'revoked', endedAt: T0 + 2 },
    ended: 1,
  },
  {
    name: 'a customer deny lands before the last approval',
    request: DB,
    steps: [
      [T0, 'approve', P.carol, 'ok'],
      [T0 + 1, 'approve', P.dave, 'ok'],
      [T0 + 2, 'deny', P.erin, 'ok'],
      [T0 + 2, 'approve', P.bob, 'NOT_PENDING'],
    ],
    status: 'denied',
    grants: 0,
  },
  {
    name: 'deny by an outsider, then by a lead',
    steps: [
      [T0, 'deny', P.mallory, 'NOT_APPROVER'],
      [T0, 'deny', P.carol, 'ok'],
      [T0 + 1, 'approve', P.dave, 'NOT_PENDING'],
    ],
    status: 'denied',
    grants: 0,
  },
  {
    name: 'cancel after approval is refused; the grant stays',
    steps: [
      [T0, 'approve', P.carol, 'ok'],
      [T0 + 1, 'cancel', P.alice, 'NOT_PENDING'],
    ],
    status: 'approved',
    grants: 1,
    grant: { status: 'active' },
  },
  {
    name: 'cancel by someone else, then by the requester',
    steps: [
      [T0, 'cancel', P.carol, 'NOT_REQUESTER'],
      [T0, 'cancel', P.alice, 'ok'],
      [T0 + 1, 'approve', P.carol, 'NOT_PENDING'],
    ],
    status: 'cancelled',
    grants: 0,
  },
  { name: 'an administrator cancels', steps: [[T0, 'cancel', P.root, 'ok']], status: 'cancelled', grants: 0 },
  {
    name: 'expiry exactly at the boundary: end is exclusive',
    steps: [
      [T0, 'approve', P.carol, 'ok'],
      [G - 1, 'grant-tick', null, 'NOT_DUE'],
      [G, 'grant-tick', null, 'ok'],
      [G + 1, 'grant-tick', null, 'GRANT_NOT_ACTIVE'],
    ],
    status: 'approved',
    grants: 1,
    grant: { status: 'expired', endedAt: G },
    ended: 1,
  },
  {
    name: 'a revocation at the end finds the grant expired',
    steps: [
      [T0, 'approve', P.carol, 'ok'],
      [G, 'revoke', P.carol, 'GRANT_EXPIRED'],
    ],
    status: 'approved',
    grants: 1,
    grant: { status: 'expired', endedAt: G },
    ended: 1,
  },
  {
    name: 'the holder, a lead or an admin may revoke; an outsider may not',
    steps: [
      [T0, 'approve', P.carol, 'ok'],
      [T0 + 1, 'revoke', P.mallory, 'NOT_ALLOWED'],
      [T0 + 2, 'revoke', P.alice, 'ok'],
    ],
    status: 'approved',
    grants: 1,
    grant: { status: 'revoked', endedAt: T0 + 2 },
    ended: 1,
  },
  {
    name: 'extension within the maximum total',
    steps: [
      [T0, 'approve', P.carol, 'ok'],
      [T0 + HOUR, 'open-ext:x1', P.alice, 'ok', 6 * HOUR],
      [T0 + HOUR, 'ext-approve:x1', P.alice, 'SELF_APPROVAL'],
      [T0 + HOUR + 1, 'ext-approve:x1', P.carol, 'ok'],
      [G, 'grant-tick', null, 'NOT_DUE'],
      [T0 + 8 * HOUR, 'grant-tick', null, 'ok'],
    ],
    status: 'approved',
    grants: 1,
    grant: { status: 'expired', window: 8 * HOUR, endedAt: T0 + 8 * HOUR },
    ended: 1,
  },
  {
    name: 'extension beyond the maximum total',
    steps: [
      [T0, 'approve', P.carol, 'ok'],
      [T0 + HOUR, 'open-ext:x1', P.alice, 'EXTENSION_EXCEEDS_MAXIMUM', 6 * HOUR + 1],
      [T0 + HOUR, 'open-ext:x2', P.carol, 'NOT_REQUESTER', HOUR],
    ],
    status: 'approved',
    grants: 1,
    grant: { status: 'active', window: 2 * HOUR },
  },
  {
    name: 'two extensions that each fit but not together',
    steps: [
      [T0, 'approve', P.carol, 'ok'],
      [T0 + 1, 'open-ext:x1', P.alice, 'ok', 4 * HOUR],
      [T0 + 2, 'open-ext:x2', P.alice, 'ok', 4 * HOUR],
      [T0 + 3, 'ext-approve:x1', P.carol, 'ok'],
      [T0 + 4, 'ext-approve:x2', P.dave, 'EXTENSION_EXCEEDS_MAXIMUM'],
      [T0 + 30 * MIN + 2, 'ext-tick:x2', null, 'ok'],
    ],
    status: 'approved',
    grants: 1,
    grant: { status: 'active', window: 6 * HOUR },
  },
  {
    name: 'extension approved after the grant was revoked',
    steps: [
      [T0, 'approve', P.carol, 'ok'],
      [T0 + 1, 'open-ext:x1', P.alice, 'ok', HOUR],
      [T0 + 2, 'revoke', P.root, 'ok'],
      [T0 + 3, 'ext-approve:x1', P.carol, 'GRANT_NOT_ACTIVE'],
      [T0 + 4, 'ext-approve:x1', P.dave, 'NOT_PENDING'],
    ],
    status: 'approved',
    grants: 1,
    grant: { status: 'revoked', window: 2 * HOUR, endedAt: T0 + 2 },
    ended: 1,
  },
  {
    name: 'extension approved at the grant end: the grant expires instead',
    steps: [
      [T0, 'approve', P.carol, 'ok'],
      [T0 + HOUR + 45 * MIN, 'open-ext:x1', P.alice, 'ok', HOUR],
      [G, 'ext-approve:x1', P.carol, 'GRANT_NOT_ACTIVE'],
      [G, 'open-ext:x2', P.alice, 'GRANT_NOT_ACTIVE', HOUR],
    ],
    status: 'approved',
    grants: 1,
    grant: { status: 'expired', window: 2 * HOUR, endedAt: G },
    ended: 1,
  },
  {
    name: 'extension denied and cancelled',
    steps: [
      [T0, 'approve', P.carol, 'ok'],
      [T0 + 1, 'open-ext:x1', P.alice, 'ok', HOUR],
      [T0 + 2, 'ext-deny:x1', P.alice, 'SELF_APPROVAL'],
      [T0 + 2, 'ext-deny:x1', P.carol, 'ok'],
      [T0 + 3, 'open-ext:x2', P.alice, 'ok', HOUR],
      [T0 + 4, 'ext-cancel:x2', P.carol, 'NOT_REQUESTER'],
      [T0 + 4, 'ext-cancel:x2', P.alice, 'ok'],
      [T0 + 5, 'ext-approve:x2', P.carol, 'NOT_PENDING'],
    ],
    status: 'approved',
    grants: 1,
    grant: { status: 'active', window: 2 * HOUR },
  },
  {
    name: 'terminal request stays terminal',
    steps: [
      [T0, 'deny', P.carol, 'ok'],
      [T0 + 1, 'tick', null, 'NOT_PENDING'],
      [T0 + HOUR, 'tick', null, 'NOT_PENDING'],
      [T0 + HOUR, 'cancel', P.alice, 'NOT_PENDING'],
    ],
    status: 'denied',
    grants: 0,
  },
];

function run(w: World, step: Step) {
  const [at, what, actor] = step;
  const a = actor as Actor;
  if (what === 'approve' || what === 'cancel') return w.onRequest({ type: what, actor: a }, at);
  if (what === 'deny') return w.onRequest({ type: 'deny', actor: a, reason: 'no' }, at);
  if (what === 'tick') return w.onRequest({ type: 'tick' }, at);
  if (what === 'revoke') return w.onGrant({ type: 'revoke', actor: a, reason: 'done' }, at);
  if (what === 'grant-tick') return w.onGrant({ type: 'tick' }, at);
  const [verb, id] = what.split(':');
  if (verb === 'open-ext') return w.openExtension(id, a, step[4] as number, at);
  const type = verb.slice(4) as 'approve' | 'deny' | 'cancel' | 'tick';
  if (type === 'tick') return w.onExtension(id, { type }, at);
  if (type === 'deny') return w.onExtension(id, { type, actor: a, reason: 'no' }, at);
  return w.onExtension(id, { type, actor: a }, at);
}

describe('request, grant and extension lifecycles', () => {
  for (const sc of scenarios) {
    test(sc.name, () => {
      const w = World.open(sc.request ?? OBS);
      for (const [i, step] of sc.steps.entries()) {
        const o = run(w, step);
        const got = o.ok ? 'ok' : o.code;
        assert.equal(got, step[3], `step ${i} (${step[1]} at +${step[0] - T0}): ${o.ok ? '' : o.reason}`);
      }
      assert.equal(w.request.status, sc.status);
      assert.equal(w.count('grant-created'), sc.grants);
      assert.equal(w.grant === undefined ? 0 : 1, sc.grants);
      assert.equal(w.count('grant-ended'), sc.ended ?? 0);
      if (sc.grant) {
        const g = w.grant!;
        assert.equal(g.status, sc.grant.status);
        if (sc.grant.window !== undefined) assert.equal(g.end - g.start, sc.grant.window);
        if (sc.grant.endedAt !== undefined) assert.equal(g.endedAt, sc.grant.endedAt);
        assert.ok(g.end - g.start <= g.rules.maxTotalMs);
      }
      // Every state change left an audit record.
      assert.ok(w.effects.filter((e) => e.kind === 'audit').length >= 1);
    });
  }
});
