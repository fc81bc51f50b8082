import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../clock/index.ts';
import { LoginThrottle, MAX_FAILURES, WINDOW_MS } from './login-throttle.ts';

test('a user name is throttled after MAX_FAILURES failures within the window, until it passes', () => {
  const clock = new FakeClock({ wallMs: 1_800_000_000_000 });
  const t = new LoginThrottle(clock);
  const k = [{ key: 'user:bob', max: MAX_FAILURES }];
  for (let i = 0; i < MAX_FAILURES - 1; i++) t.failed(['user:bob']);
  assert.equal(t.waitMs(k), 0, 'one failure short: still allowed');
  t.failed(['user:bob']);
  const w = t.waitMs(k);
  assert.ok(w > 0 && w <= WINDOW_MS);
  clock.advance(WINDOW_MS - 1);
  assert.ok(t.waitMs(k) > 0, 'not a millisecond early');
  clock.advance(1);
  assert.equal(t.waitMs(k), 0);
  assert.equal(t.waitMs([{ key: 'user:alice', max: MAX_FAILURES }]), 0, 'other users unaffected');
});

test('a success clears the count; the table stays bounded', () => {
  const clock = new FakeClock({ wallMs: 1_800_000_000_000 });
  const t = new LoginThrottle(clock);
  for (let i = 0; i < 3; i++) t.failed(['user:bob']);
  t.succeeded('user:bob');
  for (let i = 0; i < MAX_FAILURES - 1; i++) t.failed(['user:bob']);
  assert.equal(t.waitMs([{ key: 'user:bob', max: MAX_FAILURES }]), 0);
  for (let i = 0; i < 20_000; i++) t.failed([`user:u${i}`]);
  assert.ok(t.size <= 10_000);
});
