import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { classify, decide } from './policy.ts';

const RO = { access: 'read-only' } as const;
const RW = { access: 'read-write' } as const;
const ADMIN = { access: 'admin' } as const;

test('table: what kubectl sends is allowed, secrets/exec/attach/portforward/proxy refused', () => {
  const rows: [string, string, string | undefined][] = [
    ['GET', '/version?timeout=5s', undefined],
    ['GET', '/api?timeout=32s', undefined],
    ['GET', '/apis', undefined],
    ['GET', '/api/v1', undefined],
    ['GET', '/apis/apps/v1', undefined],
    ['GET', '/openapi/v3/api/v1', undefined],
    ['GET', '/api/v1/namespaces/default/pods?limit=500', undefined],
    ['GET', '/api/v1/namespaces/default/pods/web-0/log?follow=true', undefined],
    ['GET', '/api/v1/pods?watch=true', undefined],
    ['GET', '/api/v1/watch/namespaces/default/pods', undefined],
    ['GET', '/apis/apps/v1/namespaces/default/deployments/web', undefined],
    ['GET', '/api/v1/namespaces/secrets', undefined], // the namespace named "secrets"
    ['GET', '/api/v1/namespaces/secrets/pods', undefined],
    ['POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', undefined],
    ['POST', '/apis/authentication.k8s.io/v1/selfsubjectreviews', undefined],
    ['GET', '/api/v1/secrets', 'secrets'],
    ['GET', '/api/v1/namespaces/default/secrets', 'secrets'],
    ['GET', '/api/v1/namespaces/default/secrets/db', 'secrets'],
    ['GET', '/api/v1/namespaces/default/secrets/', 'secrets'],
    ['GET', '/api/v1/watch/secrets', 'secrets'],
    ['GET', '/api/v1/namespaces/default/secrets?watch=1', 'secrets'],
    ['POST', '/api/v1/namespaces/default/pods/web-0/exec?command=sh', 'exec'],
    ['GET', '/api/v1/namespaces/default/pods/web-0/exec?command=sh', 'exec'],
    ['POST', '/api/v1/namespaces/default/pods/web-0/attach', 'attach'],
    ['POST', '/api/v1/namespaces/default/pods/web-0/portforward', 'portforward'],
    ['GET', '/api/v1/namespaces/default/pods/web-0/proxy/metrics', 'proxy'],
    ['GET', '/api/v1/namespaces/default/services/web:80/proxy/', 'proxy'],
    ['GET', '/api/v1/nodes/n1/proxy/stats', 'proxy'],
    ['GET', '/api/v1/proxy/namespaces/default/pods/web-0', 'malformed'],
    ['GET', '/api/v1/namespaces/default/%73ecrets', 'malformed'],
    ['GET', '/api/v1/namespaces/default/pods/../secrets', 'malformed'],
    ['GET', '/api/v1/namespaces/default/./secrets', 'malformed'],
    ['GET', '//api/v1/secrets', 'malformed'],
    ['GET', '/api/v1\\secrets', 'malformed'],
    ['GET', 'http://evil/api/v1/pods', 'malformed'],
    ['GET', '*', 'malformed'],
    ['GET', '', 'malformed'],
    ['DELETE', '/api/v1/namespaces/default/pods/web-0', 'write'],
    ['PATCH', '/apis/apps/v1/namespaces/default/deployments/web', 'write'],
    ['POST', '/api/v1/namespaces/default/serviceaccounts/default/token', 'token'],
    ['POST', '/apis/authorization.k8s.io/v1/namespaces/x/localsubjectaccessreviews', 'write'],
  ];
  for (const [m, t, want] of rows) assert.equal(decide(m, t, RO)?.reason, want, `${m} ${t}`);
  // read-write grants: writes go to RBAC, secrets and exec still refused here.
  assert.equal(decide('DELETE', '/api/v1/namespaces/default/pods/web-0', RW), undefined);
  assert.equal(decide('POST', '/api/v1/namespaces/default/pods/web-0/exec', RW)?.reason, 'exec');
  // Any upgrade is refused, even to an allowed path.
  assert.equal(decide('GET', '/api/v1/pods', RO, true)?.reason, 'upgrade');
  assert.equal(decide('GET', '/api/v1/namespaces/d/pods/p/exec', RO, true)?.reason, 'exec');
});

test('per access level: read-only reads; read-write writes namespaced resources; admin also cluster-scoped', () => {
  const rows: [string, string, string | undefined, string | undefined, string | undefined][] = [
    // method, target, read-only, read-write, admin
    ['GET', '/api/v1/namespaces/default/pods', undefined, undefined, undefined],
    ['GET', '/api/v1/nodes?watch=true', undefined, undefined, undefined],
    ['DELETE', '/api/v1/namespaces/default/pods/web-0', 'write', undefined, undefined],
    ['POST', '/api/v1/namespaces/default/pods', 'write', undefined, undefined],
    ['PUT', '/apis/apps/v1/namespaces/default/deployments/web/scale', 'write', undefined, undefined],
    ['PATCH', '/apis/apps/v1/namespaces/default/deployments/web', 'write', undefined, undefined],
    ['POST', '/api/v1/namespaces/default/pods/web-0/eviction', 'write', undefined, undefined],
    ['DELETE', '/api/v1/namespaces/default/configmaps', 'write', undefined, undefined],
    // cluster-scoped writes: admin only
    ['PATCH', '/api/v1/nodes/n1', 'write', 'cluster-write', undefined],
    ['POST', '/api/v1/namespaces', 'write', 'cluster-write', undefined],
    ['DELETE', '/api/v1/namespaces/team-a', 'write', 'cluster-write', undefined],
    ['DELETE', '/api/v1/persistentvolumes/pv-1', 'write', 'cluster-write', undefined],
    // RBAC, certificates, admission, CRDs: admin only, namespaced or not
    [
      'POST',
      '/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings',
      'write',
      'privileged-write',
      undefined,
    ],
    [
      'POST',
      '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings',
      'write',
      'privileged-write',
      undefined,
    ],
    [
      'PUT',
      '/apis/certificates.k8s.io/v1/certificatesigningrequests/x/approval',
      'write',
      'privileged-write',
      undefined,
    ],
    [
      'POST',
      '/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations',
      'write',
      'privileged-write',
      undefined,
    ],
    [
      'DELETE',
      '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/x',
      'write',
      'privileged-write',
      undefined,
    ],
    // refused at every level
    ['GET', '/api/v1/namespaces/default/secrets', 'secrets', 'secrets', 'secrets'],
    ['DELETE', '/api/v1/namespaces/default/secrets/db', 'secrets', 'secrets', 'secrets'],
    ['POST', '/api/v1/namespaces/default/secrets', 'secrets', 'secrets', 'secrets'],
    ['POST', '/api/v1/namespaces/default/pods/web-0/exec', 'exec', 'exec', 'exec'],
    ['POST', '/api/v1/namespaces/default/pods/web-0/attach', 'attach', 'attach', 'attach'],
    [
      'POST',
      '/api/v1/namespaces/default/pods/web-0/portforward',
      'portforward',
      'portforward',
      'portforward',
    ],
    ['GET', '/api/v1/namespaces/default/pods/web-0/proxy', 'proxy', 'proxy', 'proxy'],
    ['POST', '/api/v1/namespaces/default/serviceaccounts/default/token', 'token', 'token', 'token'],
    ['GET', '/api/v1/namespaces/default/pods#x', 'malformed', 'malformed', 'malformed'],
    ['DELETE', '/api/v1/namespaces/default/pods/web-0#', 'malformed', 'malformed', 'malformed'],
  ];
  for (const [m, t, ro, rw, admin] of rows) {
    assert.equal(decide(m, t, RO)?.reason, ro, `read-only ${m} ${t}`);
    assert.equal(decide(m, t, RW)?.reason, rw, `read-write ${m} ${t}`);
    assert.equal(decide(m, t, ADMIN)?.reason, admin, `admin ${m} ${t}`);
  }
  // Upgrades stay refused at every level.
  for (const o of [RO, RW, ADMIN]) assert.equal(decide('GET', '/api/v1/pods', o, true)?.reason, 'upgrade');
});

test('classify splits namespaced, cluster and group paths', () => {
  assert.deepEqual(classify('/apis/apps/v1/namespaces/prod/deployments/web/scale?x=1'), {
    kind: 'resource',
    path: '/apis/apps/v1/namespaces/prod/deployments/web/scale',
    r: {
      group: 'apps',
      version: 'v1',
      namespace: 'prod',
      resource: 'deployments',
      name: 'web',
      subresource: ['scale'],
      watch: false,
    },
  });
  assert.deepEqual(classify('/api/v1/watch/nodes'), {
    kind: 'resource',
    path: '/api/v1/watch/nodes',
    r: { group: '', version: 'v1', resource: 'nodes', subresource: [], watch: true },
  });
});

const segment = fc.oneof(
  fc.constantFrom(
    'api',
    'apis',
    'v1',
    'apps',
    'namespaces',
    'default',
    'pods',
    'secrets',
    'watch',
    'proxy',
    'exec',
    'attach',
    'portforward',
    'log',
    '..',
    '.',
    '',
    '%2F',
    '%73ecrets',
    'web-0',
    'x:80',
  ),
  fc.string({ maxLength: 12 }),
);
const target = fc
  .tuple(fc.array(segment, { maxLength: 9 }), fc.string({ maxLength: 20 }))
  .map(([segs, q]) => '/' + segs.join('/') + (q ? `?${q}` : ''));

test('property: never throws; any path reaching secrets or a forbidden subresource is refused', () => {
  fc.assert(
    fc.property(
      fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD'),
      target,
      fc.boolean(),
      (m, t, up) => {
        const r = decide(m, t, RO, up);
        if (r) assert.equal(r.status, 403);
        if (r === undefined) {
          // What is forwarded: a path with no encoding, no dot segments, no secrets anywhere a
          // resource could be named, and no forbidden subresource.
          const path = t.split(/[?#]/)[0];
          assert.ok(!path.includes('%') && !path.includes('\\'));
          const segs = path.split('/').slice(1);
          assert.ok(!segs.includes('..') && !segs.includes('.'));
          const c = classify(t);
          if (c.kind === 'resource') {
            assert.notEqual(c.r.resource, 'secrets');
            assert.ok(!['exec', 'attach', 'portforward', 'proxy'].includes(c.r.subresource[0] ?? ''));
          }
          assert.ok(['GET', 'HEAD', 'POST'].includes(m));
          assert.equal(up, false);
        }
      },
    ),
    { numRuns: 3000 },
  );
  fc.assert(
    fc.property(fc.string({ maxLength: 300 }), fc.string({ maxLength: 10 }), (t, m) => void decide(m, t, RO)),
  );
});

test('property: a secrets path stays refused under any namespace, group, name and query', () => {
  const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?$/);
  fc.assert(
    fc.property(
      fc.constantFrom('/api/v1', '/apis/g.example.com/v1', '/api/v1/watch'),
      fc.option(label),
      fc.option(label),
      fc.string({ maxLength: 20 }).filter((s) => !/[?#]/.test(s)),
      fc.boolean(),
      (prefix, ns, name, q, slash) => {
        const t = `${prefix}${ns ? `/namespaces/${ns}` : ''}/secrets${name ? `/${name}` : ''}${slash ? '/' : ''}?${q}`;
        assert.ok(decide('GET', t, RO) !== undefined, t);
      },
    ),
    { numRuns: 2000 },
  );
});
