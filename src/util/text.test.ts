import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { truncateText, truncatedField } from './text.ts';

const E = '\u{1F600}';
const LONE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

test('truncateText: table', () => {
  const cases: [string, number, string, boolean, number][] = [
    ['', 3, '', false, 0],
    ['abc', 3, 'abc', false, 3],
    ['abcd', 3, 'abc', true, 4],
    ['ab' + E, 3, 'ab' + E, false, 3],
    ['ab' + E + 'c', 3, 'ab' + E, true, 4],
    ['abc' + E, 3, 'abc', true, 4],
    [E + E, 1, E, true, 2],
    ['a\uD800b', 5, 'a\uFFFDb', false, 3], // a lone surrogate becomes U+FFFD
    ['\uDC00', 0, '', true, 1],
  ];
  for (const [s, max, text, truncated, length] of cases)
    assert.deepEqual(truncateText(s, max), { text, truncated, length }, JSON.stringify([s, max]));
});

test('truncateText: well-formed, a prefix in code points, never longer than max', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 40 }), fc.nat(45), (s, max) => {
      const t = truncateText(s, max);
      assert.ok(!new RegExp(LONE.source).test(t.text), 'well-formed');
      const points = [...s.replace(LONE, '\uFFFD')];
      assert.equal(t.length, points.length);
      assert.equal(t.text, points.slice(0, max).join(''));
      assert.equal(t.truncated, points.length > max);
    }),
  );
});

test('truncatedField names the cut', () => {
  assert.deepEqual(truncatedField('q', 'abcd', 2), { q: 'ab', qTruncated: true, qLength: 4 });
  assert.deepEqual(truncatedField('q', 'ab', 2), { q: 'ab' });
});
