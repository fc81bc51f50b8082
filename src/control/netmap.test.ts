import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { GrantRecord, NetmapInputs, NodeRecord, ServiceRecord } from '../store/index.ts';
import { computeNetmap, nextTimeChange, tailnetName } from './netmap.ts';
import { grantAccess } from '../proto/control/index.ts';
import { affectedNodes, type AffectedLookup } from './affected.ts';

const NOW = 1_800_000_000_000;
const key = (i: number) => Buffer.alloc(32, i + 1).toString('base64');

function node(i: number, kind: 'connector' | 'engineer', extra: Partial<NodeRecord> = {}): NodeRecord {
  return {
    id: `n${i}`,
    publicKey: key(i),
    kind,
    name: `node${i}`,
    deploymentId: null,
    userId: null,
    createdAt: 0,
    expiresAt: NOW + 1000,
    lastSeenAt: null,
    endpoints: [],
    homeRelay: null,
    revokedAt: null,
    ...extra,
  };
}

function grant(id: string, g: Partial<GrantRecord>): GrantRecord {
  return {
    id,
    subjectType: 'user',
    subjectId: 'u0',
    deploymentId: 'd0',
    services: [],
    notBefore: 0,
    expiresAt: null,
    revokedAt: null,
    createdAt: 0,
    createdBy: 'a',
    access: 'read-only',
    ...g,
  };
}

const svc = (deploymentId: string, name: string, connectorId: string): ServiceRecord => ({
  id: `${deploymentId}/${name}`,
  deploymentId,
  name,
  kind: 'tcp',
  address: '10.0.0.1:1',
  tlsMode: 'terminate',
  labels: {},
  connectorId,
  createdAt: 0,
});

const deployments = [
  { id: 'd0', name: 'acme', region: 'us-east-1', cloud: 'aws', createdAt: 0 },
  { id: 'd1', name: 'globex', region: 'eu-west-1', cloud: 'gcp', createdAt: 0 },
];
const users = [0, 1, 2].map((i) => ({ id: `u${i}`, name: `user${i}` }));
const ctx = { now: NOW, suffix: 'byoc.example.com', relays: [] };

describe('computeNetmap', () => {
  test('tailnet names', () => {
    assert.equal(
      tailnetName('k8s', deployments[0], 'byoc.example.com'),
      'k8s.acme.us-east-1.aws.byoc.example.com',
    );
  });

  test('an engineer sees only the granted services of connectors in the granted deployment', () => {
    const c = node(0, 'connector', { deploymentId: 'd0' });
    const e = node(1, 'engineer', { userId: 'u0' });
    const inputs: NetmapInputs = {
      self: e,
      deployments,
      services: [svc('d0', 'k8s', 'n0'), svc('d0', 'ch', 'n0')],
      grants: [grant('g1', { services: ['k8s'] })],
      nodes: [c],
      users,
      memberships: [],
    };
    const m = computeNetmap(inputs, ctx);
    assert.deepEqual(
      m.peers.map((p) => p.key),
      [c.publicKey],
    );
    assert.deepEqual(
      m.services.map((s) => s.name),
      ['k8s'],
    );
    assert.equal(m.self.user, 'user0');
    // expired, revoked, future grants and expired or revoked peers give nothing
    for (const g of [{ expiresAt: NOW }, { revokedAt: 1 }, { notBefore: NOW + 1 }])
      assert.deepEqual(
        computeNetmap({ ...inputs, grants: [grant('g', { services: ['k8s'], ...g })] }, ctx).peers,
        [],
      );
    for (const n of [{ expiresAt: NOW }, { revokedAt: 5 }])
      assert.deepEqual(computeNetmap({ ...inputs, nodes: [{ ...c, ...n }] }, ctx).peers, []);
    assert.deepEqual(computeNetmap({ ...inputs, self: { ...e, expiresAt: NOW } }, ctx).peers, []);
    assert.equal(nextTimeChange({ ...inputs, grants: [grant('g', { expiresAt: NOW + 50 })] }, NOW), NOW + 50);
  });

  test('grants carry their access level to both sides; read-only is left out (absent = read-only)', () => {
    const c = node(0, 'connector', { deploymentId: 'd0' });
    const e = node(1, 'engineer', { userId: 'u0' });
    const base = {
      deployments,
      services: [svc('d0', 'k8s', 'n0')],
      grants: [
        grant('g-ro', { services: ['k8s'] }),
        grant('g-rw', { services: ['k8s'], access: 'read-write' }),
        grant('g-admin', { services: ['k8s'], access: 'admin' }),
      ],
      users,
      memberships: [],
    };
    for (const side of [
      { ...base, self: c, nodes: [e] },
      { ...base, self: e, nodes: [c] },
    ]) {
      const m = computeNetmap(side, ctx);
      assert.deepEqual(
        m.grants.map((g) => [g.id, g.access]),
        [
          ['g-admin', 'admin'],
          ['g-ro', undefined],
          ['g-rw', 'read-write'],
        ],
      );
      assert.ok(!('access' in m.grants.find((g) => g.id === 'g-ro')!), 'an old peer can decode it');
      assert.deepEqual(
        m.grants.map((g) => grantAccess(g)),
        ['admin', 'read-only', 'read-write'],
      );
    }
  });

  test('property: visibility is symmetric and equals the reference rule', () => {
    const world = fc.record({
      connectors: fc.array(
        fc.record({
          dep: fc.constantFrom('d0', 'd1'),
          svcs: fc.subarray(['a', 'b', 'c']),
          dead: fc.boolean(),
        }),
        { minLength: 1, maxLength: 3 },
      ),
      engineers: fc.array(fc.record({ user: fc.constantFrom('u0', 'u1', 'u2', null), dead: fc.boolean() }), {
        minLength: 1,
        maxLength: 3,
      }),
      memberships: fc.subarray(['g0:u0', 'g0:u1', 'g1:u1', 'g1:u2']),
      grants: fc.array(
        fc.record({
          subject: fc.constantFrom('user:u0', 'user:u1', 'group:g0', 'group:g1', 'node:e0', 'node:e1'),
          dep: fc.constantFrom('d0', 'd1'),
          svcs: fc.subarray(['a', 'b', 'c', 'z']),
          state: fc.constantFrom('active', 'expired', 'revoked', 'future'),
        }),
        { maxLength: 5 },
      ),
    });
    fc.assert(
      fc.property(world, (w) => {
        const cs = w.connectors.map((c, i) =>
          node(i, 'connector', { id: `c${i}`, deploymentId: c.dep, ...(c.dead ? { revokedAt: 1 } : {}) }),
        );
        const es = w.engineers.map((e, i) =>
          node(10 + i, 'engineer', {
            id: `e${i}`,
            userId: e.user,
            ...(e.dead ? { expiresAt: NOW - 1 } : {}),
          }),
        );
        const services = w.connectors.flatMap((c, i) => c.svcs.map((s) => svc(c.dep, s, `c${i}`)));
        const memberships = w.memberships.map((m) => ({ groupId: m.split(':')[0], userId: m.split(':')[1] }));
        const grants = w.grants.map((g, i) => {
          const [subjectType, subjectId] = g.subject.split(':') as ['user' | 'group' | 'node', string];
          const state = {
            active: {},
            expired: { expiresAt: NOW - 1 },
            revoked: { revokedAt: 1 },
            future: { notBefore: NOW + 1 },
          }[g.state];
          return grant(`g${i}`, { subjectType, subjectId, deploymentId: g.dep, services: g.svcs, ...state });
        });
        const all = [...cs, ...es];
        const mapOf = (self: NodeRecord) =>
          computeNetmap({ self, deployments, services, grants, nodes: all, users, memberships }, ctx);
        const sees = (a: NodeRecord, b: NodeRecord) => mapOf(a).peers.some((p) => p.key === b.publicKey);
        const live = (n: NodeRecord) => n.revokedAt === null && n.expiresAt > NOW;
        for (const c of cs)
          for (const e of es) {
            const covers = (g: GrantRecord) =>
              (g.subjectType === 'node' && g.subjectId === e.id) ||
              (g.subjectType === 'user' && g.subjectId === e.userId) ||
              (g.subjectType === 'group' &&
                memberships.some(
                  (m) => m.groupId === g.subjectId && m.userId === e.userId && e.userId !== null,
                ));
            const cSvcs = services.filter((s) => s.connectorId === c.id).map((s) => s.name);
            const want =
              live(c) &&
              live(e) &&
              grants.some(
                (g) =>
                  g.revokedAt === null &&
                  g.notBefore <= NOW &&
                  (g.expiresAt === null || g.expiresAt > NOW) &&
                  g.deploymentId === c.deploymentId &&
                  covers(g) &&
                  cSvcs.some((s) => g.services.length === 0 || g.services.includes(s)),
              );
            assert.equal(sees(e, c), want, `engineer ${e.id} → connector ${c.id}`);
            assert.equal(sees(c, e), want, `connector ${c.id} → engineer ${e.id}`);
          }
        // connectors never see connectors, engineers never see engineers
        for (const a of all) for (const p of mapOf(a).peers) assert.notEqual(p.kind, a.kind);
      }),
      { numRuns: 300 },
    );
  });
});

describe('affectedNodes', () => {
  const lookup: AffectedLookup = {
    nodeIdsOfSubject: async (type, id) =>
      (({ 'user:u0': ['e0', 'e1'], 'group:g0': ['e2'], 'node:e3': ['e3'] }) as Record<string, string[]>)[
        `${type}:${id}`
      ] ?? [],
    connectorIdsOf: async (d) => (({ d0: ['c0', 'c1'], d1: ['c2'] }) as Record<string, string[]>)[d] ?? [],
    groupGrantDeployments: async (g) => (g === 'g0' ? ['d1'] : []),
    nodeIdsOfKeys: async (keys) => keys.map((k) => `id-of-${k}`),
  };
  test('per change kind, only the concerned nodes', async () => {
    const sorted = async (p: Promise<Set<string>>) => [...(await p)].sort();
    assert.deepEqual(await sorted(affectedNodes({ type: 'grant', grant: grant('g', {}) }, lookup)), [
      'c0',
      'c1',
      'e0',
      'e1',
    ]);
    assert.deepEqual(
      await sorted(
        affectedNodes(
          { type: 'grant', grant: grant('g', { subjectType: 'group', subjectId: 'g0', deploymentId: 'd1' }) },
          lookup,
        ),
      ),
      ['c2', 'e2'],
    );
    assert.deepEqual(
      await sorted(affectedNodes({ type: 'membership', groupId: 'g0', userId: 'u0' }, lookup)),
      ['c2', 'e0', 'e1'],
    );
    assert.deepEqual(
      await sorted(
        affectedNodes(
          { type: 'node', node: node(1, 'engineer', { id: 'e9' }), previousPeers: ['K'] },
          lookup,
        ),
      ),
      ['e9', 'id-of-K'],
    );
    assert.deepEqual(await sorted(affectedNodes({ type: 'services', deploymentId: 'd0' }, lookup)), [
      'c0',
      'c1',
    ]);
  });
});
