// Standing grants for machine identities (issue 6, access/ "Standing grants"): the policy's
// `standing` entries become grants with no end and no approval — for every deployment and service
// the selectors match, for machines that have a user account — and follow the policy: a change
// revokes what it no longer gives and creates what it newly gives, each audited; grants made by
// people are never touched.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { startFixture, type Fixture } from './fixture.ts';
import { routes } from '../../src/control/index.ts';

let f: Fixture;
before(async () => {
  f = await startFixture();
});
after(async () => f?.stop());

interface GrantView {
  id: string;
  subject: { type: string; name: string };
  deployment: string;
  services: string[];
  expiresAt: number | null;
  revokedAt: number | null;
  createdBy: string;
}
const standing = async () =>
  (await f.admin.route(routes.grantsList)).filter(
    (g) => g.createdBy.startsWith('policy:') && g.revokedAt === null,
  );
const doc = (services: unknown) => ({
  version: 1,
  policies: [],
  standing: [
    {
      id: 'metrics',
      description: 'the vendor metrics puller',
      machines: ['metrics-puller', 'no-such-machine'],
      deployments: '*',
      services,
      access: 'read-only',
    },
  ],
});

test('standing policies become grants, follow policy changes, and leave people’s grants alone', async () => {
  const a = f.admin;
  for (const d of ['acme-prod', 'acme-dev'])
    await a.route(routes.deploymentsCreate, { body: { name: d, region: 'us-east-1', cloud: 'aws' } });
  for (const d of ['acme-prod', 'acme-dev']) {
    await a.route(routes.servicesPut, {
      params: { deployment: d, name: 'prometheus' },
      body: {
        kind: 'prometheus',
        address: '10.0.0.9:9090',
        labels: { kind: 'prometheus' },
      },
    });
    await a.route(routes.servicesPut, {
      params: { deployment: d, name: 'k8s' },
      body: {
        kind: 'kubernetes',
        address: '10.0.0.1:443',
      },
    });
  }
  await a.route(routes.usersCreate, { body: { name: 'metrics-puller', password: 'machine-password-123' } });
  await a.route(routes.usersCreate, { body: { name: 'alice', password: 'alice-password-123' } });
  const manual = await a.route(routes.grantsCreate, {
    body: {
      subject: { type: 'user', name: 'alice' },
      deployment: 'acme-prod',
      services: ['k8s'],
    },
  });

  await a.route(routes.policyPut, { body: doc({ labels: { kind: 'prometheus' } }) });
  await f.coord.standing.reconcile();
  const g1 = await standing();
  assert.deepEqual(
    g1.map((g) => [g.subject.name, g.deployment, g.services.join(','), g.expiresAt, g.createdBy]).sort(),
    [
      ['metrics-puller', 'acme-dev', 'prometheus', null, 'policy:metrics'],
      ['metrics-puller', 'acme-prod', 'prometheus', null, 'policy:metrics'],
    ],
  );
  // Idempotent.
  assert.deepEqual(await f.coord.standing.reconcile(), {
    created: 0,
    revoked: 0,
    skipped: ['no-such-machine'],
  });

  // A new deployment gets its standing grant on the next pass.
  await a.route(routes.deploymentsCreate, { body: { name: 'beta-prod', region: 'eu-west-1', cloud: 'gcp' } });
  await a.route(routes.servicesPut, {
    params: { deployment: 'beta-prod', name: 'prometheus' },
    body: {
      kind: 'prometheus',
      address: '10.1.0.9:9090',
      labels: { kind: 'prometheus' },
    },
  });
  // Registering the service is enough: the hub's change triggers a pass (the backstop timer is
  // 60 s away on the fake clock, which does not move here).
  for (let i = 0; !(await standing()).some((g) => g.deployment === 'beta-prod'); i++) {
    assert.ok(i < 100, 'beta-prod gets its standing grant from the services change');
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.deepEqual(
    (await standing()).filter((g) => g.deployment === 'beta-prod').map((g) => g.services.join(',')),
    ['prometheus'],
  );

  // The policy changes: prometheus and k8s by name → the old grants go, new ones come.
  await a.route(routes.policyPut, { body: doc({ names: ['prometheus', 'k8s'] }) });
  const r = await f.coord.standing.reconcile();
  const g2 = await standing();
  assert.equal(g2.length, 3);
  assert.ok(g2.every((g) => g.services.length >= 1 && g.subject.name === 'metrics-puller'));
  assert.ok(
    g2.filter((g) => g.deployment !== 'beta-prod').every((g) => g.services.join(',') === 'k8s,prometheus'),
  );
  assert.ok(!g2.some((g) => g1.some((o) => o.id === g.id)), 'changed grants are replaced');
  assert.ok(r.created + (await standing()).length > 0);

  // The standing entry removed: every standing grant is revoked; alice's grant stays.
  await a.route(routes.policyPut, { body: { version: 1, policies: [], standing: [] } });
  await f.coord.standing.reconcile();
  assert.equal((await standing()).length, 0);
  const all = await a.route(routes.grantsList);
  assert.equal(all.find((g) => g.id === manual.id)?.revokedAt, null);

  const audit = await a.route(routes.auditList, { query: { limit: 10000 } });
  assert.ok(audit.some((x) => x.action === 'grant.create' && x.actor === 'policy:metrics'));
  assert.ok(audit.some((x) => x.action === 'grant.revoke' && x.actor === 'system'));
  // The reasons come from the pure reconciler (access/standing.ts reconcileStanding), which the
  // coordinator applies as is: one record per change, after the change it explains.
  assert.ok(audit.some((x) => x.action === 'standing.create' && x.subject.startsWith('standing:metrics/')));
  assert.ok(audit.some((x) => x.action === 'standing.remove' && x.details.why === 'not-wanted'));
});

test('a standing grant carries its policy entry’s access level; a changed level replaces the grant', async () => {
  const a = f.admin;
  await a.route(routes.deploymentsCreate, { body: { name: 'lvl-prod', region: 'us-east-1', cloud: 'aws' } });
  await a.route(routes.servicesPut, {
    params: { deployment: 'lvl-prod', name: 'prometheus' },
    body: {
      kind: 'prometheus',
      address: '10.2.0.9:9090',
    },
  });
  const level = (access: string) => ({
    version: 1,
    policies: [],
    standing: [
      {
        id: 'ops',
        machines: ['metrics-puller'],
        deployments: { names: ['lvl-prod'] },
        services: '*',
        access,
      },
    ],
  });
  const held = async () =>
    (await standing()).filter((g) => g.deployment === 'lvl-prod') as (GrantView & { access: string })[];
  await a.route(routes.policyPut, { body: level('read-write') });
  await f.coord.standing.reconcile();
  const [g1] = await held();
  assert.equal(g1?.access, 'read-write');
  await a.route(routes.policyPut, { body: level('admin') });
  await f.coord.standing.reconcile();
  const now = await held();
  assert.deepEqual(
    now.map((g) => g.access),
    ['admin'],
  );
  assert.notEqual(now[0].id, g1.id, 'a changed level replaces the grant');
  const audit = await a.route(routes.auditList, { query: { limit: 10000 } });
  assert.equal(
    audit.find((x) => x.action === 'grant.create' && x.subject === `grant:${now[0].id}`)?.details.access,
    'admin',
  );
  await a.route(routes.policyPut, { body: { version: 1, policies: [], standing: [] } });
  await f.coord.standing.reconcile();
});

test('a service’s kind and a deployment’s region and cloud are labels to standing selectors', async () => {
  // As to the request evaluator (store/access.ts): a connector registers its services without
  // labels, and the documented entry `services: { labels: { kind: 'prometheus' } }` must pick them.
  const a = f.admin;
  await a.route(routes.deploymentsCreate, {
    body: { name: 'kind-prod', region: 'ap-south-1', cloud: 'gcp' },
  });
  await a.route(routes.servicesPut, {
    params: { deployment: 'kind-prod', name: 'prometheus' },
    body: {
      kind: 'prometheus',
      address: '10.3.0.9:9090',
    },
  });
  await a.route(routes.servicesPut, {
    params: { deployment: 'kind-prod', name: 'web' },
    body: { kind: 'http', address: '10.3.0.8:80' },
  });
  await a.route(routes.policyPut, {
    body: {
      version: 1,
      policies: [],
      standing: [
        {
          id: 'metrics',
          machines: ['metrics-puller'],
          deployments: { labels: { region: 'ap-south-1', cloud: 'gcp' } },
          services: { labels: { kind: 'prometheus' } },
          access: 'read-only',
        },
      ],
    },
  });
  await f.coord.standing.reconcile();
  assert.deepEqual(
    (await standing()).map((g) => [g.subject.name, g.deployment, g.services.join(',')]),
    [['metrics-puller', 'kind-prod', 'prometheus']],
  );
  await a.route(routes.policyPut, { body: { version: 1, policies: [], standing: [] } });
  await f.coord.standing.reconcile();
});
