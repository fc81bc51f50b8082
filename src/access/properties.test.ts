// Property tests: random policies, random people, random sequences of events by random actors at
// random (and exactly-on-the-boundary) times. After every step the invariants of I6 and the
// lifecycle hold, checked against a brute-force reference of the quorum rule.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { quorum, type Actor } from './approvals.ts';
import type { Effect } from './effects.ts';
import type { GrantState } from './grant.ts';
import type { ExtensionState } from './extension.ts';
import type { RequestState } from './request.ts';
import { openRequest } from './request.ts';
import { parsePolicyDocument } from './validate.ts';
import { MIN, SERVICES, PROD, T0, World } from './testkit.ts';
import { fullRun } from '../testing/require.ts';

/** Brute force: can distinct people, each used once in one role they hold, fill T vendor and C customer slots? */
function referenceQuorum(people: readonly Actor[], T: number, C: number): boolean {
  const n = people.length;
  const choose = (i: number, v: number, c: number): boolean => {
    if (v >= T && c >= C) return true;
    if (i === n) return false;
    const g = people[i].groups;
    return (
      (g.includes('vendor') && choose(i + 1, v + 1, c)) ||
      (C > 0 && g.includes('customer') && choose(i + 1, v, c + 1)) ||
      choose(i + 1, v, c)
    );
  };
  return choose(0, 0, 0);
}

const inGroup = (g: string) => fc.boolean().map((b) => (b ? [g] : []));
const personArb = fc.record({
  groups: fc
    .tuple(
      inGroup('req'),
      fc.oneof(inGroup('vendor'), fc.constant(['vendor'])),
      fc.oneof(inGroup('customer'), fc.constant(['customer'])),
    )
    .map((parts) => parts.flat()),
  admin: fc.integer({ min: 0, max: 9 }).map((n) => n === 0),
});

const w = <T>(weight: number, arbitrary: fc.Arbitrary<T>) => ({ weight, arbitrary });
const kindArb = fc.oneof(
  w(12, fc.constant('approve')),
  w(1, fc.constant('deny')),
  w(1, fc.constant('cancel')),
  w(1, fc.constant('tick')),
  w(2, fc.constant('revoke')),
  w(2, fc.constant('grant-tick')),
  w(4, fc.constant('open-ext')),
  w(8, fc.constant('ext-approve')),
  w(1, fc.constant('ext-deny')),
  w(1, fc.constant('ext-cancel')),
  w(2, fc.constant('ext-tick')),
);
const timeArb = fc.oneof(
  w(3, fc.constant<'same'>('same')),
  w(8, fc.integer({ min: 1, max: 2 * MIN })),
  w(1, fc.constant<'deadline'>('deadline')),
  w(1, fc.constant<'before-deadline'>('before-deadline')),
  w(1, fc.integer({ min: 1, max: 40 * MIN })),
);
const eventArb = fc.record({
  kind: kindArb,
  actor: fc.nat(7),
  ext: fc.nat(2),
  addMin: fc.oneof(fc.integer({ min: 1, max: 30 }), fc.integer({ min: 1, max: 300 })),
  time: timeArb,
});

const scenarioArb = fc.record({
  people: fc.array(personArb, { minLength: 8, maxLength: 8 }),
  requester: fc.nat(7),
  T: fc.integer({ min: 1, max: 3 }),
  C: fc.integer({ min: 0, max: 2 }).map((c) => (c === 2 ? 1 : c)),
  maxMin: fc.integer({ min: 1, max: 240 }),
  extraMin: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 240 })),
  pendingMin: fc.integer({ min: 5, max: 90 }),
  durFrac: fc.double({ min: 0.01, max: 1, noNaN: true }),
  events: fc.array(eventArb, { minLength: 1, maxLength: 60 }),
});

type Scenario = typeof scenarioArb extends fc.Arbitrary<infer S> ? S : never;

function check(sc: Scenario): void {
  const people: Actor[] = sc.people.map((p, i) => ({ id: `p${i}`, groups: p.groups, admin: p.admin }));
  const requester: Actor = {
    ...people[sc.requester],
    groups: [...new Set(['req', ...people[sc.requester].groups])],
  };
  people[sc.requester] = requester;
  const set = parsePolicyDocument({
    version: 1,
    policies: [
      {
        id: 'p',
        requesters: ['req'],
        deployments: '*',
        services: '*',
        access: 'read-only',
        maxDuration: sc.maxMin * MIN,
        maxTotal: (sc.maxMin + sc.extraMin) * MIN,
        pendingFor: sc.pendingMin * MIN,
        approval: { group: 'vendor', threshold: sc.T },
        ...(sc.C > 0 && { customer: { group: 'customer', threshold: sc.C } }),
      },
    ],
  });
  const policy = set.policies[0];
  const durationMs = Math.max(1, Math.floor(sc.durFrac * policy.maxDurationMs));
  const opened = openRequest(
    set,
    { requester, deployment: PROD.name, services: ['k8s'], durationMs, reason: 'prop' },
    { now: T0, deployment: PROD, services: SERVICES, id: 'r1', grantId: 'g1' },
  );
  assert.ok(opened.ok);
  const w = new World(opened.state);
  let now = T0;

  // Independent record of who successfully approved what, in order.
  const approvedBy = new Map<string, Actor[]>(); // 'request' or extension id → actors
  const ok = (key: string, a: Actor) => approvedBy.set(key, [...(approvedBy.get(key) ?? []), a]);
  let terminalRequest: RequestState | undefined;
  let terminalGrant: GrantState | undefined;
  const terminalExt = new Map<string, ExtensionState>();
  let firstGrant: GrantState | undefined;

  for (const raw of sc.events) {
    // Steer part of the events to where they can matter: extension events become approvals while
    // there is no grant, approvals become extension approvals once there is one.
    let kind: string = raw.kind;
    if (w.grant === undefined && kind.includes('ext') && raw.addMin % 2 === 1) kind = 'approve';
    else if (w.grant !== undefined && raw.ext < 2 && (kind === 'approve' || kind === 'ext-approve')) {
      const pendingExt = [...w.extensions.values()].some((x) => x.status === 'pending');
      kind = pendingExt ? 'ext-approve' : 'open-ext';
    }
    const ev = { ...raw, kind };
    const actor = people[ev.actor];
    // Open under a fresh id; decide mostly on the latest one opened, sometimes on the first.
    const latest = [...w.extensions.keys()].at(-1);
    const xid =
      ev.kind === 'open-ext' ? `x${w.extensions.size}` : ev.ext === 2 || latest === undefined ? 'x0' : latest;
    const deadlines = [
      w.request.status === 'pending' ? w.request.pendingUntil : undefined,
      w.grant?.status === 'active' ? w.grant.end : undefined,
      ...[...w.extensions.values()].map((x) => (x.status === 'pending' ? x.pendingUntil : undefined)),
    ].filter((d): d is number => d !== undefined && d > now);
    if (ev.time === 'deadline' && deadlines.length > 0) now = Math.min(...deadlines);
    else if (ev.time === 'before-deadline' && deadlines.length > 0) now = Math.min(...deadlines) - 1;
    else if (typeof ev.time === 'number') now += ev.time;

    const before = w.effects.length;
    const endBefore = w.grant?.end;
    let o: { ok: boolean; lapse?: unknown };
    switch (ev.kind) {
      case 'approve':
        o = w.onRequest({ type: 'approve', actor }, now);
        if (o.ok) ok('request', actor);
        break;
      case 'deny':
        o = w.onRequest({ type: 'deny', actor, reason: 'x' }, now);
        break;
      case 'cancel':
        o = w.onRequest({ type: 'cancel', actor }, now);
        break;
      case 'tick':
        o = w.onRequest({ type: 'tick' }, now);
        break;
      case 'revoke':
        o = w.onGrant({ type: 'revoke', actor, reason: 'x' }, now);
        break;
      case 'grant-tick':
        o = w.onGrant({ type: 'tick' }, now);
        break;
      case 'open-ext':
        o = w.openExtension(xid, ev.actor < 6 ? requester : actor, ev.addMin * MIN, now);
        break;
      case 'ext-approve':
        o = w.onExtension(xid, { type: 'approve', actor }, now);
        if (o.ok) ok(xid, actor);
        break;
      case 'ext-deny':
        o = w.onExtension(xid, { type: 'deny', actor, reason: 'x' }, now);
        break;
      case 'ext-cancel':
        o = w.onExtension(xid, { type: 'cancel', actor }, now);
        break;
      case 'ext-tick':
        o = w.onExtension(xid, { type: 'tick' }, now);
        break;
      default:
        throw new Error(`unknown event ${ev.kind}`);
    }
    const fresh: Effect[] = w.effects.slice(before);

    // Every applied change (and every lapse) is audited.
    if (o.ok || o.lapse)
      assert.ok(
        fresh.some((e) => e.kind === 'audit'),
        `${ev.kind} changed state without audit`,
      );
    else assert.equal(fresh.length, 0, 'a plain refusal has no effects');

    // No self-approval; nobody approves the same thing twice.
    for (const [key, list] of approvedBy) {
      assert.ok(!list.some((a) => a.id === requester.id), `${key}: requester approved`);
      assert.equal(new Set(list.map((a) => a.id)).size, list.length, `${key}: someone counted twice`);
    }

    // At most one grant per request, created only with a reference quorum, inside the pending window.
    assert.ok(w.count('grant-created') <= 1);
    if (w.grant !== undefined) {
      firstGrant ??= w.grant;
      assert.equal(w.request.status, 'approved');
      assert.ok(referenceQuorum(approvedBy.get('request') ?? [], sc.T, sc.C), 'grant without quorum');
      assert.ok(firstGrant.start < w.request.pendingUntil, 'grant created after the request expired');
      assert.ok(firstGrant.end - firstGrant.start <= policy.maxDurationMs);
      assert.ok(w.grant.end - w.grant.start <= policy.maxTotalMs, 'window beyond the maximum total');
      assert.equal(w.grant.start, firstGrant.start);
      assert.equal(w.grant.subject, requester.id);
    } else {
      assert.notEqual(w.request.status, 'approved');
    }

    // A grant's end moves only through an approved extension with its own reference quorum.
    if (w.grant !== undefined && endBefore !== undefined && w.grant.end !== endBefore) {
      const ext = fresh.find((e) => e.kind === 'grant-extended');
      assert.ok(ext && ext.kind === 'grant-extended');
      const x = w.extensions.get(ext.extensionId)!;
      assert.equal(x.status, 'approved');
      assert.equal(w.grant.end, endBefore + x.addMs);
      assert.ok(referenceQuorum(approvedBy.get(x.id) ?? [], sc.T, sc.C), 'extension without quorum');
    }

    // An expired grant ended at its end, however late the event that noticed it.
    if (w.grant?.status === 'expired') assert.equal(w.grant.endedAt, w.grant.end);

    // Terminal states stay terminal.
    if (terminalRequest) assert.deepEqual(w.request, terminalRequest);
    else if (w.request.status !== 'pending') terminalRequest = w.request;
    if (terminalGrant) assert.deepEqual(w.grant, terminalGrant);
    else if (w.grant && w.grant.status !== 'active') terminalGrant = w.grant;
    for (const [id, x] of w.extensions) {
      const t = terminalExt.get(id);
      if (t) assert.deepEqual(x, t);
      else if (x.status !== 'pending') terminalExt.set(id, x);
    }
  }
  seen.runs++;
  if (w.grant) seen.granted++;
  if (w.request.status === 'expired-unanswered') seen.requestExpired++;
  if (w.request.status === 'denied' || w.request.status === 'cancelled') seen.deniedOrCancelled++;
  if (w.grant?.status === 'revoked') seen.revoked++;
  if (w.grant?.status === 'expired') seen.grantExpired++;
  if ((w.grant?.extensions.length ?? 0) > 0) seen.extended++;
  if ([...w.extensions.values()].some((x) => x.status === 'expired-unanswered')) seen.extensionLapsed++;
}

/** How often each interesting outcome occurred, so the property cannot pass by never reaching it. */
const seen = {
  runs: 0,
  granted: 0,
  requestExpired: 0,
  deniedOrCancelled: 0,
  revoked: 0,
  grantExpired: 0,
  extended: 0,
  extensionLapsed: 0,
};

test('random event sequences keep the access invariants', (t) => {
  fc.assert(fc.property(scenarioArb, check), { numRuns: fullRun ? 30_000 : 3000 });
  t.diagnostic(JSON.stringify(seen));
  for (const [k, v] of Object.entries(seen))
    assert.ok(v >= seen.runs / 200, `only ${v} of ${seen.runs} runs reached ${k}`);
});

test('the reference quorum agrees with quorum() on random approver sets', () => {
  fc.assert(
    fc.property(
      fc.array(fc.subarray(['vendor', 'customer'] as const), { maxLength: 6 }),
      fc.integer({ min: 1, max: 4 }),
      fc.integer({ min: 0, max: 3 }),
      (sets, T, C) => {
        const people = sets.map((groups, i) => ({ id: `p${i}`, groups }));
        const rules = {
          approval: { group: 'vendor', threshold: T },
          customer: C === 0 ? null : { group: 'customer', threshold: C },
        };
        const approvals = people.map((p) => ({
          by: p.id,
          at: 0,
          roles: p.groups.map((g) => (g === 'vendor' ? 'approver' : 'customer')) as (
            'approver' | 'customer'
          )[],
        }));
        assert.equal(quorum(rules, 'nobody', approvals).met, referenceQuorum(people, T, C));
      },
    ),
    { numRuns: 3000 },
  );
});
