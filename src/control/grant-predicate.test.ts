// The grant predicate, and its four callers: each former copy of "is this grant in force now"
// now asks inForce, with its own record's fields.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { inForce } from '../access/index.ts';
import { coveringGrant } from '../agent/grants.ts';
import { isActiveGrant } from './netmap.ts';

test('in force: started, not ended (end exclusive), not revoked', () => {
  const w = { notBefore: 100, end: 200 };
  assert.equal(inForce(w, 99), false);
  assert.equal(inForce(w, 100), true);
  assert.equal(inForce(w, 199), true);
  assert.equal(inForce(w, 200), false);
  assert.equal(inForce({ end: null }, 1e15), true);
  assert.equal(inForce({ notBefore: 100, end: null, revokedAt: 150 }, 120), false);
  assert.equal(inForce({ end: 200, revokedAt: null }, 150), true);
});

test('the netmap and the agent agree with it at the edges', () => {
  const record = {
    id: 'g1',
    subjectType: 'user' as const,
    subjectId: 'u1',
    deploymentId: 'd1',
    services: ['web'],
    notBefore: 100,
    expiresAt: 200,
    revokedAt: null,
    createdAt: 100,
    createdBy: 'user:bob',
    access: 'read-only' as const,
  };
  const nm = {
    grants: [{ id: 'g1', peerKey: 'K', services: ['web'], notBefore: 100, notAfter: 200 }],
  } as unknown as Parameters<typeof coveringGrant>[0];
  for (const now of [99, 100, 199, 200]) {
    const want = inForce({ notBefore: 100, end: 200 }, now);
    assert.equal(isActiveGrant(record, now), want, `netmap at ${now}`);
    assert.equal(coveringGrant(nm, 'K', 'web', now) !== undefined, want, `agent at ${now}`);
  }
  assert.equal(isActiveGrant({ ...record, revokedAt: 150 }, 120), false);
});

test('no copy of the predicate is left at the four former call sites', () => {
  for (const f of ['../agent/grants.ts', '../agent/router.ts', './netmap.ts', './standing.ts']) {
    const text = readFileSync(new URL(f, import.meta.url), 'utf8');
    assert.match(text, /inForce\(/, f);
    assert.doesNotMatch(text, /g\.notBefore <= |g\.expiresAt > now|< g\.notAfter/, f);
  }
});
