import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeHours, hoursProblem, withinHours } from './hours.ts';

const at = (iso: string) => Date.parse(iso);
const office = { from: '08:00', to: '18:00', days: [1, 2, 3, 4, 5] };

test('a day window: inside on listed days only, `to` exclusive', () => {
  assert.equal(withinHours(office, at('2026-12-07T08:00:00Z')), true); // Monday
  assert.equal(withinHours(office, at('2026-12-07T17:59:59Z')), true);
  assert.equal(withinHours(office, at('2026-12-07T18:00:00Z')), false);
  assert.equal(withinHours(office, at('2026-12-07T07:59:00Z')), false);
  assert.equal(withinHours(office, at('2026-12-06T12:00:00Z')), false); // Sunday
});

test('a window across midnight belongs to the day it starts on', () => {
  const night = { from: '22:00', to: '06:00', days: [5] }; // Friday night
  assert.equal(withinHours(night, at('2026-12-11T23:00:00Z')), true); // Friday 23:00
  assert.equal(withinHours(night, at('2026-12-12T05:00:00Z')), true); // Saturday 05:00
  assert.equal(withinHours(night, at('2026-12-12T23:00:00Z')), false); // Saturday 23:00
  assert.equal(withinHours(night, at('2026-12-11T05:00:00Z')), false); // Friday 05:00 (Thursday's night)
});

test('bad windows are named', () => {
  assert.match(hoursProblem({ from: '8:00', to: '18:00', days: [1] })!, /HH:MM/);
  assert.match(hoursProblem({ from: '08:00', to: '08:00', days: [1] })!, /differ/);
  assert.match(hoursProblem({ from: '08:00', to: '18:00', days: [7] })!, /days/);
  assert.match(hoursProblem({ from: '08:00', to: '18:00', days: [] })!, /days/);
  assert.equal(hoursProblem(office), undefined);
  assert.equal(describeHours(office), 'Mon, Tue, Wed, Thu, Fri 08:00–18:00 UTC');
});
