import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { reconcileStanding, standingCovers, standingGrantsFor, type StandingGrant } from './standing.ts';
import { parsePolicyDocument } from './validate.ts';
import { DEV, DOC, POLICIES, PROD, SERVICES, T0 } from './testkit.ts';

describe('standing grants', () => {
  test('expanded per deployment, machine and policy', () => {
    const prod = standingGrantsFor(POLICIES, PROD, SERVICES);
    assert.deepEqual(
      prod.map((g) => [g.policyId, g.machine, g.services.join(','), g.access]),
      [
        ['metrics', 'metrics-puller', 'prometheus', 'read-only'],
        ['mgmt', 'mgmt-a', 'k8s', 'read-write'],
        ['mgmt', 'mgmt-b', 'k8s', 'read-write'],
      ],
    );
    const dev = standingGrantsFor(POLICIES, DEV, SERVICES);
    assert.deepEqual(
      dev.map((g) => g.machine),
      ['metrics-puller'],
    );
    assert.equal(standingGrantsFor(POLICIES, PROD, [{ name: 'grafana' }]).length, 0);
  });

  const cases: [string, string, string, boolean][] = [
    ['metrics-puller', 'acme-prod', 'prometheus', true],
    ['metrics-puller', 'acme-prod', 'k8s', false],
    ['mgmt-a', 'acme-prod', 'k8s', true],
    ['mgmt-a', 'acme-dev', 'k8s', false],
    ['alice', 'acme-prod', 'prometheus', false],
  ];
  const all = [...standingGrantsFor(POLICIES, PROD, SERVICES), ...standingGrantsFor(POLICIES, DEV, SERVICES)];
  for (const [m, d, s, want] of cases) {
    test(`${m} on ${d}/${s} → ${want}`, () => assert.equal(standingCovers(all, m, d, s), want));
  }

  test('reconcile: nothing to do, then removals before creations, each audited', () => {
    const now = standingGrantsFor(POLICIES, PROD, SERVICES);
    assert.deepEqual(reconcileStanding(now, now, 'policy-admin', T0), []);
    const doc = structuredClone(DOC);
    doc.standing[1].machines = ['mgmt-a', 'mgmt-c'];
    doc.standing[0].access = 'read-write';
    const next = standingGrantsFor(parsePolicyDocument(doc), PROD, SERVICES);
    const fx = reconcileStanding(now, next, 'policy-admin', T0);
    const summary = fx.map((e) =>
      e.kind === 'audit'
        ? `${e.action} ${e.subject}`
        : `${e.kind} ${(e as { grant: StandingGrant }).grant.machine}`,
    );
    assert.deepEqual(summary, [
      'standing-removed metrics-puller',
      'standing.remove standing:metrics/metrics-puller/acme-prod',
      'standing-removed mgmt-b',
      'standing.remove standing:mgmt/mgmt-b/acme-prod',
      'standing-created metrics-puller',
      'standing.create standing:metrics/metrics-puller/acme-prod',
      'standing-created mgmt-c',
      'standing.create standing:mgmt/mgmt-c/acme-prod',
    ]);
  });

  test('reconcile: a second grant held for one policy, machine and deployment is removed; ids are kept', () => {
    const want = standingGrantsFor(POLICIES, PROD, SERVICES);
    const held = want.map((g, i) => ({ ...g, id: `g${i}` }));
    const twice = [...held, { ...held[0], id: 'dup' }];
    const fx = reconcileStanding(twice, want, 'system', T0);
    assert.deepEqual(
      fx.map((e) =>
        e.kind === 'audit'
          ? `${e.action} ${String(e.details.why)}`
          : `${e.kind} ${(e as { grant: StandingGrant }).grant.id}`,
      ),
      ['standing-removed dup', 'standing.remove duplicate'],
    );
    // a grant held for a machine no policy names (or a subject that is no user: machine '') goes
    const stray = { ...held[0], machine: '', id: 'stray' };
    assert.deepEqual(
      reconcileStanding([...held, stray], want, 'system', T0).filter((e) => e.kind === 'standing-removed')
        .length,
      1,
    );
  });
});
