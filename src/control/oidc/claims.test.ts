import { test } from 'node:test';
import assert from 'node:assert/strict';
import { identityFromClaims, parseGroupMap } from './claims.ts';
import { safeReturn } from './routes.ts';

const mapping = {
  issuer: 'https://idp.example.com',
  usernameClaim: 'preferred_username',
  groupsClaim: 'groups',
  groupMap: new Map([
    ['eng-oncall', 'oncall'],
    ['sre', 'sre-leads'],
  ]),
  adminGroup: 'platform-admins',
};

test('claims → user, mapped groups only, admin by the admin group', () => {
  const id = identityFromClaims(
    { sub: 'u-1', preferred_username: 'Alice', groups: ['eng-oncall', 'marketing', 'platform-admins'] },
    mapping,
  );
  assert.deepEqual(id, {
    subject: 'https://idp.example.com#u-1',
    name: 'alice',
    groups: ['oncall'],
    admin: true,
  });
  // One group as a string; no admin group configured: nobody is an admin.
  const one = identityFromClaims(
    { sub: 'u-2', preferred_username: 'bob', groups: 'sre' },
    { ...mapping, adminGroup: undefined },
  );
  assert.deepEqual([one.groups, one.admin], [['sre-leads'], false]);
  // Without a map, the provider's names are the groups.
  assert.deepEqual(
    identityFromClaims(
      { sub: 'x', preferred_username: 'c', groups: ['a', 7, 'b'] },
      { ...mapping, groupMap: new Map() },
    ).groups,
    ['a', 'b'],
  );
});

test('claims that cannot name a user are refused with what to do', () => {
  assert.throws(() => identityFromClaims({ preferred_username: 'a' }, mapping), /no usable subject/);
  assert.throws(
    () => identityFromClaims({ sub: 'x' }, mapping),
    /no preferred_username claim.*--oidc-username-claim/,
  );
  assert.throws(
    () => identityFromClaims({ sub: 'x', preferred_username: 'has space' }, mapping),
    /is not a sallyport user name/,
  );
  assert.throws(
    () => identityFromClaims({ sub: 'x', preferred_username: 'a'.repeat(64) }, mapping),
    /not a sallyport user name/,
  );
});

test('--oidc-group pairs', () => {
  assert.deepEqual(
    [...(parseGroupMap(['a=b', 'c=d=e']) as Map<string, string>)],
    [
      ['a', 'b'],
      ['c=d', 'e'],
    ],
  );
  assert.match(parseGroupMap(['nope']) as string, /PROVIDER-GROUP=SALLYPORT-GROUP/);
  assert.match(parseGroupMap(['=x']) as string, /PROVIDER-GROUP=SALLYPORT-GROUP/);
});

test('after sign-in, only a console page: no open redirect', () => {
  assert.equal(safeReturn('/console/#approvals'), '/console/#approvals');
  assert.equal(safeReturn('/console/?open=request:abc#approvals'), '/console/?open=request:abc#approvals');
  for (const bad of [
    'https://evil.example/',
    '//evil.example/console/',
    '/console//evil',
    '/api/v1/whoami',
    'javascript:alert(1)',
    7,
    undefined,
  ])
    assert.equal(safeReturn(bad), '/console/', String(bad));
});
