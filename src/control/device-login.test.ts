import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../clock/index.ts';
import { PrivateKey } from '../crypto/index.ts';
import { DeviceLoginGuard, MAX_STARTS_PER_SOURCE, sourceOf } from './device-login.ts';

test('a source is an IPv4 address (also IPv4-mapped) or an IPv6 /64', () => {
  const cases: [string, string][] = [
    ['192.0.2.1', '192.0.2.1'],
    ['::ffff:192.0.2.1', '192.0.2.1'],
    ['2001:db8:1:2::5', '2001:db8:1:2::/64'],
    ['2001:0db8:0001:0002:ffff:1:2:3', '2001:db8:1:2::/64'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
  ];
  for (const [a, want] of cases) assert.equal(sourceOf(a), want, a);
});

test('each source may start MAX_STARTS_PER_SOURCE logins per code lifetime; others are unaffected', () => {
  const clock = new FakeClock({ wallMs: 1_800_000_000_000 });
  const g = new DeviceLoginGuard({ clock, coordinatorKey: PrivateKey.generate(), codeTtlMs: 600_000 });
  for (let i = 0; i < MAX_STARTS_PER_SOURCE; i++) {
    assert.equal(g.waitMs('192.0.2.1'), 0);
    g.started('192.0.2.1');
    clock.advance(1000);
  }
  const w = g.waitMs('192.0.2.1');
  assert.equal(w, 600_000 - MAX_STARTS_PER_SOURCE * 1000);
  assert.equal(g.waitMs('192.0.2.2'), 0);
  clock.advance(w);
  assert.equal(g.waitMs('192.0.2.1'), 0, 'the oldest start has expired');
});
