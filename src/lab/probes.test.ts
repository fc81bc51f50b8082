// The lab's verdicts on what the engineer got back: each must fail on the wrong answer, or the
// story could report a refusal that did not happen.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SECRET_EMAIL, clickhouseProbes } from './customer-clickhouse.ts';
import type { HttpAnswer } from './client.ts';

const answer = (status: number, body: string): HttpAnswer => ({ status, headers: {}, body });
const [query, refused] = clickhouseProbes();

test('ClickHouse query probe: a count of tables, nothing else', () => {
  assert.equal(query.step, 'query');
  assert.equal(query.judge(answer(200, '32\n')).ok, true);
  assert.match(query.judge(answer(200, '32\n')).summary, /32 tables/);
  for (const a of [
    answer(200, ''),
    answer(200, '0\n'),
    answer(200, 'abc'),
    answer(401, 'Code: 194, e.displayText() = DB::Exception: Password required for user default'),
    answer(500, 'Code: 516'),
  ])
    assert.equal(query.judge(a).ok, false, JSON.stringify(a));
});

test('ClickHouse refused probe: error 291, and the customer row never shown', () => {
  assert.equal(refused.step, 'refused');
  const denied =
    'Code: 291, e.displayText() = DB::Exception: Access denied to database default for user sp_x';
  assert.equal(refused.judge(answer(500, denied)).ok, true);
  for (const a of [
    answer(200, `1\t${SECRET_EMAIL}\tenterprise\n`), // the data came back
    answer(500, `Code: 291 … ${SECRET_EMAIL}`), // refused, but the secret leaked in the message
    answer(500, 'Code: 164, e.displayText() = DB::Exception: readonly mode'), // another refusal
    answer(403, 'sallyport: refused by the SQL gate'), // refused, but not by ClickHouse's own rule
    answer(200, ''),
  ])
    assert.equal(refused.judge(a).ok, false, JSON.stringify(a));
});
