// Login time does not tell whether a user exists: an unknown name costs the same key derivation
// (same parameters) as a wrong password for a real user. Counted through the store's KDF hook,
// not timed, so the test cannot flake.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../src/clock/index.ts';
import { Store, StoreError, scryptKdf, type Kdf, type ScryptParams } from '../../src/store/index.ts';

test('an unknown user name runs the KDF once with the parameters a real user would', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sallyport-login-'));
  const calls: ScryptParams[] = [];
  const kdf: Kdf = (password, salt, params) => {
    calls.push(params);
    return scryptKdf(password, salt, params);
  };
  const scrypt = { N: 1 << 10, r: 8, p: 1 };
  const store = await Store.open(
    { kind: 'sqlite', path: join(dir, 'coordinator.db') },
    {
      clock: new FakeClock(),
      scrypt,
      kdf,
    },
  );
  t.after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  await store.createUser('system', { name: 'alice', password: 'alice-password-123' });
  const refused = async (user: string) => {
    calls.length = 0;
    await assert.rejects(
      store.login(user, 'wrong-password-xx', 60_000),
      (e) => e instanceof StoreError && e.code === 'AUTH',
    );
    return [...calls];
  };
  const known = await refused('alice');
  const unknown = await refused('nobody');
  assert.deepEqual(known, [scrypt], 'a wrong password for a real user: one KDF call');
  assert.deepEqual(unknown, known, 'an unknown user: the same KDF call');
  await store.setUserDisabled('system', 'alice', true);
  assert.deepEqual(await refused('alice'), [scrypt], 'a disabled user: the same again');
});
