import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chooseHome, type RelayView } from './home.ts';

const v = (region: string, connected: boolean, rttMs?: number): RelayView => ({
  region,
  connected,
  ...(rttMs !== undefined ? { rttMs } : {}),
});

test('the first home is the closest connected relay; none connected: no home yet', () => {
  assert.deepEqual(chooseHome(undefined, [v('eu', false), v('us', false)]), {
    home: undefined,
    reason: 'kept',
  });
  assert.deepEqual(chooseHome(undefined, [v('eu', true, 40), v('us', true, 3)]), {
    home: 'us',
    reason: 'first',
  });
  // Connected but not measured yet: the first connected one.
  assert.deepEqual(chooseHome(undefined, [v('eu', false), v('us', true)]), { home: 'us', reason: 'first' });
  assert.deepEqual(chooseHome(undefined, [v('eu', true), v('us', true, 50)]), {
    home: 'us',
    reason: 'first',
  });
});

test('hysteresis: a connected home is kept unless another is closer by a third and by 10 ms', () => {
  // About the same distance: never flaps, whichever way the samples go.
  for (const [home, other] of [
    [20, 15],
    [15, 20],
    [30, 21],
    [12, 5], // a third closer, but only 7 ms
  ])
    assert.deepEqual(chooseHome('eu', [v('eu', true, home), v('us', true, other)]), {
      home: 'eu',
      reason: 'kept',
    });
  assert.deepEqual(chooseHome('eu', [v('eu', true, 30), v('us', true, 20)]), {
    home: 'us',
    reason: 'closer',
  });
  assert.deepEqual(chooseHome('eu', [v('eu', true, 90), v('us', true, 4)]), { home: 'us', reason: 'closer' });
  // Not measured on either side: kept.
  assert.deepEqual(chooseHome('eu', [v('eu', true), v('us', true, 1)]), { home: 'eu', reason: 'kept' });
  assert.deepEqual(chooseHome('eu', [v('eu', true, 90), v('us', true)]), { home: 'eu', reason: 'kept' });
});

test('the home relay down: the closest connected one at once; nothing connected: kept', () => {
  assert.deepEqual(chooseHome('eu', [v('eu', false, 3), v('us', true, 80), v('ap', true, 60)]), {
    home: 'ap',
    reason: 'home-down',
  });
  assert.deepEqual(chooseHome('eu', [v('eu', false), v('us', false)]), { home: 'eu', reason: 'kept' });
  // The home left the relay map: the closest connected one, or none.
  assert.deepEqual(chooseHome('gone', [v('us', true, 9)]), { home: 'us', reason: 'home-down' });
  assert.deepEqual(chooseHome('gone', [v('us', false)]), { home: undefined, reason: 'kept' });
});
