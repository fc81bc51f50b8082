import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatEndpoint, parseEndpoint } from './endpoint.ts';

test('parseEndpoint: repeated parses agree and hand out independent objects', () => {
  const a = parseEndpoint('198.18.0.1:41641');
  assert.deepEqual(a, { address: '198.18.0.1', port: 41641 });
  a!.port = 1; // a caller changing its copy must not change the next answer
  assert.deepEqual(parseEndpoint('198.18.0.1:41641'), { address: '198.18.0.1', port: 41641 });
  assert.equal(parseEndpoint('relay:us-east/abc'), undefined);
  assert.equal(parseEndpoint('relay:us-east/abc'), undefined);
  assert.deepEqual(parseEndpoint('[::ffff:10.0.0.1]:7'), { address: '10.0.0.1', port: 7 });
});

test('parseEndpoint / formatEndpoint stay right past the remembered set (bounded)', () => {
  for (let i = 0; i < 2000; i++) {
    const s = `10.0.${(i >> 8) & 255}.${i & 255}:${1000 + i}`;
    assert.deepEqual(parseEndpoint(s), { address: s.slice(0, s.indexOf(':')), port: 1000 + i });
    assert.equal(formatEndpoint({ address: s.slice(0, s.indexOf(':')), port: 1000 + i }), s);
  }
  assert.equal(formatEndpoint({ address: '2001:db8:0:0:0:0:0:1', port: 9 }), '[2001:db8::1]:9');
  assert.equal(formatEndpoint({ address: '::ffff:198.18.0.2', port: 9 }), '198.18.0.2:9');
});
