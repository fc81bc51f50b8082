import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { GrantRecord, NodeRecord } from '../store/index.ts';
import { fromRef, parseRef, refIds, toRef, type ChangeRef } from './change-ref.ts';
import type { Change } from './affected.ts';

const node = (id: string, key: string) => ({ id, publicKey: key }) as NodeRecord;
const grant = { id: 'g1', subjectType: 'user', subjectId: 'u1', deploymentId: 'd1' } as GrantRecord;
const lookup = {
  nodeIdsOfKeys: (keys: string[]) => Promise.resolve(keys.map((k) => `id-of-${k}`)),
};

test('every change becomes a ref of ids only, which parses back to itself', async () => {
  const cases: [Change, ChangeRef][] = [
    [
      { type: 'grant', grant },
      { type: 'grant', grantId: 'g1' },
    ],
    [
      { type: 'membership', groupId: 'gr', userId: 'u' },
      { type: 'membership', groupId: 'gr', userId: 'u' },
    ],
    [
      { type: 'services', deploymentId: 'd1' },
      { type: 'services', deploymentId: 'd1' },
    ],
    [
      { type: 'node', node: node('n1', 'K1'), previousPeers: ['K2'], servicesChanged: true },
      { type: 'node', nodeId: 'n1', peerIds: ['id-of-K2'], servicesChanged: true },
    ],
    [
      { type: 'node', node: node('n1', 'K1'), previousPeers: [], previousPeerIds: ['n9'] },
      { type: 'node', nodeId: 'n1', peerIds: ['n9'] },
    ],
    [
      { type: 'user', userId: 'u', nodes: [node('n1', 'K1')], previousPeers: ['K3', 'K3'] },
      { type: 'user', userId: 'u', nodeIds: ['n1'], peerIds: ['id-of-K3'] },
    ],
  ];
  for (const [change, want] of cases) {
    const ref = await toRef(change, lookup);
    assert.deepEqual(ref, want);
    const text = JSON.stringify(ref);
    assert.ok(!text.includes('K1'), 'no key or record in the ref, ids only');
    assert.deepEqual(parseRef(text), want);
  }
});

test('a ref names its change from the rows; a gone record leaves the ids to recompute', async () => {
  const store = {
    getGrant: (id: string) => Promise.resolve(id === 'g1' ? grant : undefined),
    getNode: (id: string) => Promise.resolve(id === 'n1' ? node('n1', 'K1') : undefined),
  };
  assert.deepEqual(await fromRef({ type: 'grant', grantId: 'g1' }, store), { type: 'grant', grant });
  assert.equal(await fromRef({ type: 'grant', grantId: 'gone' }, store), undefined);
  const n = await fromRef({ type: 'node', nodeId: 'n1', peerIds: ['n2'] }, store);
  assert.deepEqual(n, { type: 'node', node: node('n1', 'K1'), previousPeers: [], previousPeerIds: ['n2'] });
  const gone: ChangeRef = { type: 'node', nodeId: 'n7', peerIds: ['n2'] };
  assert.equal(await fromRef(gone, store), undefined);
  assert.deepEqual(refIds(gone), ['n7', 'n2']);
});

test('parseRef: anything that is not a ref is refused, never thrown', () => {
  for (const bad of [
    '',
    'null',
    '[]',
    '{"type":"grant"}',
    '{"type":"grant","grantId":""}',
    '{"type":"node","nodeId":"n","peerIds":[1]}',
    '{"type":"node","nodeId":"n","peerIds":[],"servicesChanged":false}',
    '{"type":"user","userId":"u","nodeIds":"n","peerIds":[]}',
    '{"type":"other","id":"x"}',
  ])
    assert.equal(parseRef(bad), undefined, bad);
  fc.assert(
    fc.property(fc.oneof(fc.string(), fc.json()), (s) => {
      const r = parseRef(s);
      if (r !== undefined) assert.deepEqual(parseRef(JSON.stringify(r)), r);
    }),
    { numRuns: 2000 },
  );
});
