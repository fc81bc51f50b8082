import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock, RealClock, Timer } from './index.ts';

test('fake clock fires timers in deadline order, ties in order set', () => {
  const c = new FakeClock();
  const seen: string[] = [];
  c.setTimeout(() => seen.push('b@20'), 20);
  c.setTimeout(() => seen.push('a@10'), 10);
  c.setTimeout(() => seen.push('c@10'), 10);
  c.advance(9.999);
  assert.deepEqual(seen, []);
  c.advance(0.001);
  assert.deepEqual(seen, ['a@10', 'c@10']);
  c.advance(100);
  assert.deepEqual(seen, ['a@10', 'c@10', 'b@20']);
  assert.equal(c.now(), 110);
});

test('a timer set while firing runs within the same advance, at its own deadline', () => {
  const c = new FakeClock();
  const at: number[] = [];
  c.setTimeout(() => {
    at.push(c.now());
    c.setTimeout(() => at.push(c.now()), 5);
  }, 10);
  c.advance(20);
  assert.deepEqual(at, [10, 15]);
  assert.equal(c.now(), 20);
});

test('cleared timers never fire; advance refuses to go backwards', () => {
  const c = new FakeClock();
  let fired = false;
  const h = c.setTimeout(() => (fired = true), 5);
  c.clearTimeout(h);
  c.advance(10);
  assert.equal(fired, false);
  assert.equal(c.pending(), 0);
  assert.throws(() => c.advance(-1), RangeError);
});

test('wall time follows monotonic time and can step on its own', () => {
  const c = new FakeClock({ now: 0, wallMs: 1_000_000 });
  c.advance(500);
  assert.equal(c.wallMs(), 1_000_500);
  c.stepWall(-200);
  assert.equal(c.wallMs(), 1_000_300);
  assert.equal(c.now(), 500);
});

test('Timer: mod re-arms, del disarms, pending tells the truth', () => {
  const c = new FakeClock();
  let n = 0;
  const t = new Timer(c, () => n++);
  assert.equal(t.pending, false);
  t.mod(10);
  c.advance(5);
  t.mod(10); // re-armed: now due at 15
  c.advance(9);
  assert.equal(n, 0);
  assert.equal(t.pending, true);
  c.advance(1);
  assert.equal(n, 1);
  assert.equal(t.pending, false);
  t.mod(1);
  t.del();
  c.advance(10);
  assert.equal(n, 1);
  assert.equal(c.pending(), 0);
});

test('runAll fires everything up to the limit', () => {
  const c = new FakeClock();
  let n = 0;
  const again = () => {
    n++;
    if (n < 5) c.setTimeout(again, 1000);
  };
  c.setTimeout(again, 1000);
  assert.equal(c.runAll(), 5000);
  assert.equal(n, 5);
});

test('real clock is monotonic and its timers fire', async () => {
  const c = new RealClock();
  const a = c.now();
  await new Promise<void>((r) => c.setTimeout(r, 5));
  assert.ok(c.now() - a >= 4);
  assert.ok(Math.abs(c.wallMs() - Date.now()) < 1000);
});
