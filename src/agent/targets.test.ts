import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { FakeClock } from '../clock/index.ts';
import type { Netmap, NetmapGrant } from '../proto/control/index.ts';
import type { GrantIdentity } from '../targets/index.ts';
import { ConnectorTargets } from './targets.ts';

test('grantsFor gives each target the grant’s access level; a grant without one is read-only', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sallyport-targets-'));
  const clock = new FakeClock();
  const seen: GrantIdentity[][] = [];
  const t = new ConnectorTargets({
    clock,
    logger: pino({ level: 'silent' }),
    stateDir: dir,
    actor: 'connector:c1',
    services: [{ name: 'k8s', kind: 'kubernetes', address: '127.0.0.1:1', tls: 'terminate' }],
    deployment: () => 'acme-prod',
    report: () => {},
    create: () => ({
      reconciler: {
        reconcile: async (g) => void seen.push([...g]),
        close: async () => {},
      },
      close: async () => {},
    }),
  });
  try {
    t.start();
    const g = (id: string, extra: Partial<NetmapGrant> = {}): NetmapGrant => ({
      id,
      peerKey: Buffer.alloc(32, 1).toString('base64'),
      user: 'alice',
      services: ['k8s'],
      notBefore: 0,
      notAfter: null,
      ...extra,
    });
    const nm: Netmap = {
      self: { key: Buffer.alloc(32, 2).toString('base64'), name: 'c1', kind: 'connector', expiresAt: 1e15 },
      relays: [],
      peers: [],
      services: [],
      grants: [g('g-old'), g('g-rw', { access: 'read-write' }), g('g-admin', { access: 'admin' })],
      serverTime: 0,
    };
    t.netmapChanged(nm);
    assert.deepEqual(
      t
        .grantsFor('k8s')
        .map((x) => [x.grantId, x.access])
        .sort(),
      [
        ['g-admin', 'admin'],
        ['g-old', 'read-only'],
        ['g-rw', 'read-write'],
      ],
    );
  } finally {
    await t.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
