// The coordinator's revocation push on its own clock: a node whose key expires (no API call, no hub
// change) is on the relays' list at the next periodic push; a relay that is down is retried.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeClock } from '../../src/clock/index.ts';
import { PrivateKey } from '../../src/crypto/index.ts';
import { Store, parseDatabaseConfig } from '../../src/store/index.ts';
import { createLogger } from '../../src/control/logger.ts';
import { createMetrics } from '../../src/control/metrics.ts';
import { RevocationPublisher, REVOCATION_PUSH_MS } from '../../src/control/revocations.ts';
import { coordinator, REGION, startRelay } from '../relay/fixture.ts';

const DAY = 86_400_000;

test('an expired node is pushed to the relays by the periodic push', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sallyport-revoke-'));
  const T0 = 1_800_000_000_000;
  const clock = new FakeClock({ wallMs: T0 });
  const relayClock = new FakeClock({ wallMs: T0 });
  const relay = await startRelay({ clock: relayClock });
  const store = await Store.open(parseDatabaseConfig(join(dir, 'c.db')), {
    clock,
    scrypt: { N: 1024, r: 8, p: 1 },
  });
  const metrics = createMetrics();
  const pub = new RevocationPublisher({
    store,
    relays: [{ region: REGION, url: relay.url }],
    signingKey: coordinator,
    clock,
    logger: createLogger({ level: 'silent' }),
    metrics,
    ca: relay.ca,
  });
  t.after(async () => {
    await pub.stop();
    await relay.server.stop();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  await store.createUser('admin', { name: 'bob', password: 'bob password' });
  const node = await store.enrollWithPreauthKey({
    key: (await store.createPreauthKey('admin', { user: 'bob', reusable: false, expiresAt: T0 + DAY })).key,
    nodeKey: PrivateKey.generate().publicKey.base64(),
    kind: 'engineer',
    name: 'bob-laptop',
  });
  pub.start();
  await pub.idle();
  const accepted = () => relay.server.stats.revocationLists.get('accepted') ?? 0;
  assert.equal(accepted(), 1);
  assert.equal(relay.server.revokedKeys, 0);

  // The engineer key's 7 days pass: no API call, only the periodic push notices.
  const step = node.expiresAt - T0 + 1;
  clock.advance(step);
  relayClock.stepWall(step);
  await pub.idle();
  clock.advance(REVOCATION_PUSH_MS);
  relayClock.stepWall(REVOCATION_PUSH_MS);
  await pub.idle();
  assert.equal(relay.server.revokedKeys, 1);
  assert.ok(accepted() >= 2);
  assert.equal(
    (await metrics.revocationPushes.get()).values.find((v) => v.labels.result === 'failed'),
    undefined,
  );
});
