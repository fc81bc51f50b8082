import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { auditRefusal, type Effect } from './effects.ts';
import { grantCovers, grantDeadline } from './grant.ts';
import { openRequest, requestDeadline, requestTransition } from './request.ts';
import { AccessError } from './errors.ts';
import { isCanonicalizable } from '../audit/index.ts';
import { HOUR, MIN, P, POLICIES, T0, World, actions, applied, ctx, kinds, refused, req } from './testkit.ts';

describe('effects', () => {
  test('opening a request audits and notifies; a refusal opens nothing', () => {
    const o = applied(openRequest(POLICIES, req(), { ...ctx(), id: 'r1', grantId: 'g1' }));
    assert.deepEqual(kinds(o), ['audit', 'notify']);
    assert.deepEqual(actions(o), ['request.create']);
    const a = o.effects[0] as Extract<Effect, { kind: 'audit' }>;
    assert.equal(a.actor, 'alice');
    assert.equal(a.subject, 'request:r1');
    assert.equal(a.details.reason, 'INC-42');
    assert.equal(requestDeadline(o.state), T0 + 30 * MIN);
    refused(
      openRequest(POLICIES, req({ durationMs: 5 * HOUR }), { ...ctx(), id: 'r1', grantId: 'g1' }),
      'DURATION_EXCEEDS_POLICY',
    );
  });

  test('ids must fit a grant URI', () => {
    assert.throws(
      () => openRequest(POLICIES, req(), { ...ctx(), id: 'r 1', grantId: 'g1' }),
      (e: unknown) => e instanceof AccessError && e.code === 'ID_INVALID',
    );
    assert.throws(() => openRequest(POLICIES, req(), { ...ctx(), id: 'r1', grantId: 'g/1' }), AccessError);
  });

  test('the approval that meets the quorum creates exactly one grant, audited', () => {
    const w = World.open();
    const o = applied(w.onRequest({ type: 'approve', actor: P.carol }, T0 + MIN));
    assert.deepEqual(kinds(o), ['audit', 'audit', 'grant-created', 'audit', 'notify', 'notify']);
    assert.deepEqual(actions(o), ['request.approval', 'request.approve', 'grant.create']);
    const g = w.grant!;
    assert.deepEqual(
      {
        id: g.id,
        requestId: g.requestId,
        subject: g.subject,
        services: g.services,
        start: g.start,
        end: g.end,
      },
      {
        id: 'g1',
        requestId: 'r1',
        subject: 'alice',
        services: ['grafana'],
        start: T0 + MIN,
        end: T0 + MIN + 2 * HOUR,
      },
    );
    assert.equal(g.maxEnd, T0 + MIN + 8 * HOUR);
    assert.equal(requestDeadline(w.request), null);
    assert.equal(grantDeadline(g), g.end);
    const topics = o.effects.flatMap((e) => (e.kind === 'notify' ? [e.topic] : []));
    assert.deepEqual(topics, ['decision', 'grant-start']);
  });

  test('a late event is refused but carries the lapse to persist', () => {
    const w = World.open();
    const o = refused(
      requestTransition(w.request, { type: 'approve', actor: P.carol }, T0 + HOUR),
      'REQUEST_EXPIRED',
    );
    assert.ok(o.lapse);
    assert.equal(o.lapse.state.status, 'expired-unanswered');
    assert.deepEqual(actions(o.lapse), ['request.expire']);
    assert.ok(!o.lapse.effects.some((e) => e.kind === 'grant-created'));
  });

  test('expiry ends the grant at its end, even when noticed late', () => {
    const w = World.open();
    applied(w.onRequest({ type: 'approve', actor: P.carol }, T0));
    const o = applied(w.onGrant({ type: 'tick' }, T0 + 3 * HOUR));
    assert.deepEqual(kinds(o), ['audit', 'grant-ended', 'notify']);
    const ended = o.effects[1] as Extract<Effect, { kind: 'grant-ended' }>;
    assert.deepEqual(ended, { kind: 'grant-ended', grantId: 'g1', cause: 'expired', at: T0 + 2 * HOUR });
    assert.equal(grantDeadline(o.state), null);
  });

  test('grantCovers: subject, service and [start, end)', () => {
    const w = World.open({ services: ['grafana', 'prometheus'] });
    applied(w.onRequest({ type: 'approve', actor: P.carol }, T0));
    const g = w.grant!;
    const cases: [string, string, number, boolean][] = [
      ['alice', 'grafana', T0, true],
      ['alice', 'prometheus', T0 + 2 * HOUR - 1, true],
      ['alice', 'grafana', T0 + 2 * HOUR, false],
      ['alice', 'grafana', T0 - 1, false],
      ['alice', 'k8s', T0, false],
      ['bob', 'grafana', T0, false],
    ];
    for (const [who, svc, at, want] of cases)
      assert.equal(grantCovers(g, who, svc, at), want, `${who} ${svc} ${at - T0}`);
    const r = applied(w.onGrant({ type: 'revoke', actor: P.carol, reason: 'done' }, T0 + 1));
    assert.equal(grantCovers(r.state, 'alice', 'grafana', T0 + 2), false);
  });

  test('a reason cut at its limit keeps surrogate pairs whole and says it was cut', () => {
    // 999 ASCII characters and an emoji (2 UTF-16 units) straddling the 1000th unit: the API
    // admits it (1000 code points), and its audit record must still be well-formed Unicode.
    const reason = 'a'.repeat(999) + '\u{1F600}' + 'b'.repeat(5);
    const deny = applied(World.open().onRequest({ type: 'deny', actor: P.carol, reason }, T0 + 1));
    const w = World.open();
    applied(w.onRequest({ type: 'approve', actor: P.carol }, T0));
    const revoke = applied(w.onGrant({ type: 'revoke', actor: P.carol, reason }, T0 + 1));
    for (const o of [deny, revoke]) {
      const a = o.effects.find((e) => e.kind === 'audit') as Extract<Effect, { kind: 'audit' }>;
      assert.ok(isCanonicalizable(a.details), `${a.action}: details are well-formed`);
      assert.equal(a.details.reason, 'a'.repeat(999) + '\u{1F600}');
      assert.equal(a.details.reasonTruncated, true);
      assert.equal(a.details.reasonLength, 1005);
    }
    const short = applied(World.open().onRequest({ type: 'deny', actor: P.carol, reason: 'no' }, T0 + 1));
    const a = short.effects[0] as Extract<Effect, { kind: 'audit' }>;
    assert.deepEqual(a.details, { reason: 'no' });
  });

  test('refusals become audit records', () => {
    const w = World.open();
    const o = refused(w.onRequest({ type: 'approve', actor: P.alice }, T0), 'SELF_APPROVAL');
    const e = auditRefusal('alice', 'request:r1', 'approve', o, T0);
    assert.equal(e.kind, 'audit');
    if (e.kind === 'audit') {
      assert.equal(e.action, 'access.refuse');
      assert.equal(e.details.code, 'SELF_APPROVAL');
      assert.equal(e.details.attempted, 'approve');
    }
  });

  test('transitions never mutate their input', () => {
    const w = World.open();
    const before = structuredClone(w.request);
    const frozen = Object.freeze({ ...w.request });
    requestTransition(frozen, { type: 'approve', actor: P.carol }, T0);
    requestTransition(frozen, { type: 'tick' }, T0 + HOUR);
    assert.deepEqual(w.request, before);
  });
});
