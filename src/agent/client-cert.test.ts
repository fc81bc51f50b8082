import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Netmap } from '../proto/control/index.ts';
import { checkClientCert, examine, type PresentedCert } from './client-cert.ts';

const NOW = 1_800_000_000_000;
const nm = {
  self: { key: 'C', name: 'c', kind: 'connector', expiresAt: NOW * 2 },
  relays: [],
  peers: [],
  services: [],
  serverTime: NOW,
  grants: [
    {
      id: 'g1',
      peerKey: 'P',
      user: 'alice',
      services: ['ch'],
      notBefore: NOW - 1000,
      notAfter: NOW + 60_000,
    },
    { id: 'g2', peerKey: 'Q', user: 'bob', services: ['k8s'], notBefore: NOW - 1000, notAfter: null },
  ],
} as Netmap;
const good: PresentedCert = {
  present: true,
  fromAccessCa: true,
  subjectCN: 'alice',
  uris: ['sallyport:grant:g1'],
  notBeforeMs: NOW - 5000,
  notAfterMs: NOW + 30_000,
};
const q = { netmap: nm, peerKey: 'P', service: 'ch', nowMs: NOW };

test('admits a certificate naming an active grant of this peer, service and user, until the earlier end', () => {
  const v = checkClientCert(good, q);
  assert.ok(v.ok);
  assert.equal(v.grant.id, 'g1');
  assert.equal(v.until, NOW + 30_000);
  const long = checkClientCert({ ...good, notAfterMs: NOW + 120_000 }, q);
  assert.ok(long.ok && long.until === NOW + 60_000);
});

test('each mismatch is refused with its reason', () => {
  const cases: [Partial<PresentedCert>, Partial<typeof q>, string][] = [
    [{ present: false }, {}, 'BAD_CERTIFICATE'],
    [{ fromAccessCa: false }, {}, 'NOT_ACCESS_CA'],
    [{ uris: [] }, {}, 'UNKNOWN_GRANT'],
    [{ uris: ['sallyport:grant:g1', 'sallyport:grant:g2'] }, {}, 'UNKNOWN_GRANT'],
    [{ uris: ['sallyport:grant:nope'] }, {}, 'UNKNOWN_GRANT'],
    [{}, { peerKey: 'Q' }, 'GRANT_MISMATCH'],
    [{}, { service: 'k8s' }, 'GRANT_MISMATCH'],
    [{ subjectCN: 'mallory' }, {}, 'GRANT_MISMATCH'],
    [{ subjectCN: undefined }, {}, 'GRANT_MISMATCH'],
    [{ uris: ['sallyport:grant:g2'], subjectCN: 'bob' }, {}, 'GRANT_MISMATCH'],
    [{}, { nowMs: NOW + 30_000 }, 'EXPIRED'],
    [{ notBeforeMs: NOW + 1 }, {}, 'EXPIRED'],
    [{}, { nowMs: NOW - 2000 }, 'EXPIRED'],
    [{}, { netmap: undefined }, 'UNKNOWN_GRANT'],
  ];
  for (const [c, o, reason] of cases) {
    const v = checkClientCert({ ...good, ...c }, { ...q, ...o });
    assert.equal(v.ok, false, JSON.stringify([c, o]));
    if (!v.ok) assert.equal(v.reason, reason, JSON.stringify([c, o]));
  }
});

test('examine never throws on garbage and reports no certificate', async () => {
  const { createCa } = await import('../pki/index.ts');
  const { X509Certificate } = await import('node:crypto');
  const { realClock } = await import('../clock/index.ts');
  const ca = await createCa({ kind: 'root', validityDays: 1, clock: realClock });
  const x = new X509Certificate(ca.certPem);
  for (const raw of [undefined, Buffer.alloc(0), Buffer.from('not der'), Buffer.alloc(300, 0x30)])
    assert.equal(examine(raw, x).present, false);
  // A CA certificate is not a client certificate of the access CA.
  const self = examine(x.raw, x);
  assert.equal(self.present, true);
  assert.equal(self.fromAccessCa, false);
});
