import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { canApprove, quorum, type Approval, type ApproverRole } from './approvals.ts';
import { evaluateRequest } from './evaluate.ts';
import type { ApprovalRules } from './policy.ts';
import { REFUSAL_STATUS } from './refusal.ts';
import { matches } from './selector.ts';
import { DEV, HOUR, P, POLICIES, T0, ctx, req } from './testkit.ts';

describe('evaluateRequest', () => {
  const cases: [string, Parameters<typeof req>[0], string, ReturnType<typeof ctx>?][] = [
    ['observability by label on prod', {}, 'oncall-obs'],
    ['two obs services', { services: ['prometheus', 'grafana', 'grafana'] }, 'oncall-obs'],
    [
      'clickhouse by name, grafana by label: the second policy',
      { services: ['clickhouse', 'grafana'] },
      'oncall-db',
    ],
    ['obs over 2h fits only the first policy', { services: ['grafana'], durationMs: 4 * HOUR }, 'oncall-obs'],
    [
      'clickhouse on dev: deployments "*"',
      { deployment: 'acme-dev', services: ['clickhouse'] },
      'oncall-db',
      ctx(T0, DEV),
    ],
    ['a lead may break glass', { requester: P.carol, services: ['k8s'], durationMs: HOUR }, 'break-glass'],
    [
      'explicit access level picks its policy',
      { requester: P.bob, services: ['grafana'], durationMs: HOUR, access: 'admin' },
      'break-glass',
    ],
    ['empty reason', { reason: '  ' }, 'REQUEST_INVALID'],
    ['zero duration', { durationMs: 0 }, 'REQUEST_INVALID'],
    ['fractional duration', { durationMs: 1.5 }, 'REQUEST_INVALID'],
    ['no services', { services: [] }, 'REQUEST_INVALID'],
    ['unknown access level', { access: 'root' as never }, 'REQUEST_INVALID'],
    ['unknown deployment', { deployment: 'nope' }, 'DEPLOYMENT_UNKNOWN', ctx(T0, undefined)],
    ['deployment mismatch with context', { deployment: 'other' }, 'DEPLOYMENT_UNKNOWN'],
    ['unknown service', { services: ['grafana', 'nosuch'] }, 'SERVICE_UNKNOWN'],
    ['outsider', { requester: P.mallory }, 'NOT_ELIGIBLE'],
    [
      'break glass on dev is not covered',
      { requester: P.carol, deployment: 'acme-dev', durationMs: HOUR },
      'DEPLOYMENT_NOT_COVERED',
      ctx(T0, DEV),
    ],
    ['grafana on dev falls to the second policy', { deployment: 'acme-dev' }, 'oncall-db', ctx(T0, DEV)],
    ['k8s is not covered for on-call', { services: ['k8s'] }, 'SERVICE_NOT_COVERED'],
    ['one uncovered service spoils the request', { services: ['grafana', 'k8s'] }, 'SERVICE_NOT_COVERED'],
    ['admin on-call is not covered', { access: 'admin' }, 'ACCESS_NOT_COVERED'],
    ['above every covering maximum', { durationMs: 4 * HOUR + 1 }, 'DURATION_EXCEEDS_POLICY'],
    [
      'clickhouse above 2h',
      { services: ['clickhouse'], durationMs: 2 * HOUR + 1 },
      'DURATION_EXCEEDS_POLICY',
    ],
  ];
  for (const [name, over, want, c] of cases) {
    test(`${name} → ${want}`, () => {
      const r = evaluateRequest(POLICIES, req(over), c ?? ctx());
      if (want === want.toUpperCase()) {
        assert.equal(r.ok, false, `expected ${want}`);
        if (!r.ok) {
          assert.equal(r.code, want, r.reason);
          assert.ok(REFUSAL_STATUS[r.code] >= 400 && REFUSAL_STATUS[r.code] < 500);
          assert.ok(r.reason.length > 0);
        }
      } else {
        assert.ok(r.ok, r.ok ? '' : `${r.code}: ${r.reason}`);
        assert.equal(r.policyId, want);
        assert.equal(r.pendingUntil, T0 + r.policy.pendingMs);
        assert.ok(r.durationMs <= r.maxDurationMs);
      }
    });
  }

  test('the duration refusal names the longest allowed', () => {
    const r = evaluateRequest(POLICIES, req({ durationMs: 9 * HOUR }), ctx());
    assert.ok(!r.ok);
    assert.equal(r.details?.maxDurationMs, 4 * HOUR);
  });

  test('services come out deduplicated and sorted, rules snapshotted', () => {
    const r = evaluateRequest(POLICIES, req({ services: ['prometheus', 'grafana', 'prometheus'] }), ctx());
    assert.ok(r.ok);
    assert.deepEqual(r.services, ['grafana', 'prometheus']);
    assert.deepEqual(r.rules, {
      approval: { group: 'sre-leads', threshold: 1 },
      customer: null,
      maxDurationMs: 4 * HOUR,
      maxTotalMs: 8 * HOUR,
      pendingMs: 30 * 60_000,
    });
  });

  test('accepts a bare list of policies', () => {
    const r = evaluateRequest(POLICIES.policies, req(), ctx());
    assert.ok(r.ok);
  });
});

describe('selectors', () => {
  const item = { name: 'grafana', labels: { tier: 'obs', kind: 'http' } };
  const cases: [string, Parameters<typeof matches>[0], boolean][] = [
    ['all', '*', true],
    ['by name', { names: ['grafana'] }, true],
    ['other name', { names: ['k8s'] }, false],
    ['one label', { labels: { tier: 'obs' } }, true],
    ['all labels', { labels: { tier: 'obs', kind: 'http' } }, true],
    ['one label wrong', { labels: { tier: 'obs', kind: 'tcp' } }, false],
    ['missing label', { labels: { team: 'x' } }, false],
    ['name or labels: by labels', { names: ['k8s'], labels: { tier: 'obs' } }, true],
    ['inherited property is not a label', { labels: { toString: 'x' } }, false],
    ['__proto__ from JSON is a plain label', JSON.parse('{"labels":{"__proto__":"x"}}'), false],
  ];
  for (const [name, sel, want] of cases)
    test(`${name} → ${want}`, () => assert.equal(matches(sel, item), want));
});

describe('canApprove', () => {
  const vendorOnly: ApprovalRules = { approval: { group: 'sre-leads', threshold: 1 }, customer: null };
  const both: ApprovalRules = {
    approval: { group: 'sre-leads', threshold: 1 },
    customer: { group: 'acme-admins', threshold: 1 },
  };
  const cases: [string, ApprovalRules, string, keyof typeof P, string | ApproverRole[]][] = [
    ['a lead', vendorOnly, 'alice', 'carol', ['approver']],
    ['the requester, though a lead', vendorOnly, 'bob', 'bob', 'SELF_APPROVAL'],
    ['the requester as customer approver', both, 'erin', 'erin', 'SELF_APPROVAL'],
    ['the requester in both groups', both, 'dave', 'dave', 'SELF_APPROVAL'],
    ['outsider', vendorOnly, 'alice', 'mallory', 'NOT_APPROVER'],
    ['customer when the policy has no customer', vendorOnly, 'alice', 'erin', 'NOT_APPROVER'],
    ['customer', both, 'alice', 'erin', ['customer']],
    ['a vendor in the customer group is only a vendor approver', both, 'alice', 'dave', ['approver']],
    ["another deployment's customer", both, 'alice', 'yuri', 'NOT_APPROVER'],
    ['a customer is never a vendor approver', vendorOnly, 'alice', 'erin', 'NOT_APPROVER'],
    ['an admin is not an approver', vendorOnly, 'alice', 'root', 'NOT_APPROVER'],
  ];
  for (const [name, rules, requester, who, want] of cases) {
    test(`${name} → ${Array.isArray(want) ? want.join('+') : want}`, () => {
      const r = canApprove(rules, { requester, deployment: 'acme-prod' }, P[who]);
      if (Array.isArray(want)) {
        assert.ok(r.ok);
        assert.deepEqual(r.roles, want);
      } else {
        assert.ok(!r.ok);
        assert.equal(r.code, want);
      }
    });
  }
});

describe('quorum', () => {
  const rules = (T: number, C: number): ApprovalRules => ({
    approval: { group: 'v', threshold: T },
    customer: C === 0 ? null : { group: 'c', threshold: C },
  });
  const ap = (by: string, ...roles: ApproverRole[]): Approval => ({ by, at: T0, roles });
  const cases: [string, ApprovalRules, Approval[], boolean][] = [
    ['nobody', rules(1, 0), [], false],
    ['one vendor', rules(1, 0), [ap('a', 'approver')], true],
    ['same person twice counts once', rules(2, 0), [ap('a', 'approver'), ap('a', 'approver')], false],
    ['two people', rules(2, 0), [ap('a', 'approver'), ap('b', 'approver')], true],
    ['the requester never counts', rules(1, 0), [ap('req', 'approver')], false],
    ['customer missing', rules(1, 1), [ap('a', 'approver'), ap('b', 'approver')], false],
    ['vendor and customer', rules(1, 1), [ap('a', 'approver'), ap('c', 'customer')], true],
    ['one person in both groups fills one slot only', rules(1, 1), [ap('d', 'approver', 'customer')], false],
    ['both-person plus a vendor', rules(1, 1), [ap('d', 'approver', 'customer'), ap('a', 'approver')], true],
    [
      'both-person plus a customer',
      rules(1, 1),
      [ap('d', 'approver', 'customer'), ap('c', 'customer')],
      true,
    ],
    [
      'two both-persons',
      rules(1, 1),
      [ap('d', 'approver', 'customer'), ap('e', 'approver', 'customer')],
      true,
    ],
    [
      'threshold 2 + customer: two customers are not vendors',
      rules(2, 1),
      [ap('a', 'approver'), ap('c', 'customer'), ap('c2', 'customer')],
      false,
    ],
    [
      'threshold 2 + customer: met',
      rules(2, 1),
      [ap('a', 'approver'), ap('d', 'approver', 'customer'), ap('c', 'customer')],
      true,
    ],
    ['customer roles ignored without customer rule', rules(1, 0), [ap('c', 'customer')], false],
  ];
  for (const [name, r, approvals, want] of cases) {
    test(`${name} → ${want}`, () => assert.equal(quorum(r, 'req', approvals).met, want));
  }
});
