import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startIndex } from './control.ts';

test('startIndex: one URL is always 0; a fleet of random keys spreads evenly over three', () => {
  assert.equal(startIndex(randomBytes(32), 1), 0);
  const counts = [0, 0, 0];
  for (let i = 0; i < 3000; i++) counts[startIndex(randomBytes(32), 3)]!++;
  for (const c of counts) assert.ok(c > 800 && c < 1200, `uneven spread: ${counts.join(' ')}`);
});

test('startIndex: the same key always starts on the same coordinator', () => {
  const k = randomBytes(32);
  assert.equal(startIndex(k, 5), startIndex(k, 5));
  assert.equal(startIndex(Uint8Array.from([1, 2, ...new Array<number>(30).fill(0)]), 5), 258 % 5);
});
