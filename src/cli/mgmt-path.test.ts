import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decidePath } from './mgmt-path.ts';

const down = { up: false as const, why: 'no answer from k8s.acme-prod through the overlay in 5000 ms' };

test('the decision table: public, private, and the fallback with and without a reason', () => {
  assert.deepEqual(decidePath('acme-prod', 'public', undefined, undefined), { use: 'public' });
  assert.deepEqual(decidePath('acme-prod', 'private', { up: true }, undefined), { use: 'overlay' });
  assert.deepEqual(decidePath('acme-prod', 'private-with-public-fallback', { up: true }, 'INC-1 something'), {
    use: 'overlay',
  });
  const p = decidePath('acme-prod', 'private', down, 'INC-4711 urgent outage');
  assert.equal(p.use, 'refuse');
  assert.match((p as { message: string }).message, /private: the public endpoint is never used/);
  assert.equal((p as { exit: number }).exit, 1);
  const noReason = decidePath('acme-prod', 'private-with-public-fallback', down, 'short');
  assert.equal(noReason.use, 'refuse');
  assert.equal((noReason as { exit: number }).exit, 2);
  assert.match((noReason as { message: string }).message, /--reason TEXT/);
  assert.deepEqual(
    decidePath('acme-prod', 'private-with-public-fallback', down, '  INC-4711 pods crash-looping  '),
    {
      use: 'break-glass',
      overlay: down.why,
      reason: 'INC-4711 pods crash-looping',
    },
  );
  assert.throws(() => decidePath('acme-prod', 'private', undefined, undefined), RangeError);
});
