import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DirectEndpoints, formatEndpoint, parseEndpoint, toDirectEndpoint } from './endpoint.ts';

test('parseEndpoint / formatEndpoint / toDirectEndpoint', () => {
  assert.deepEqual(parseEndpoint('198.18.0.1:41641'), { address: '198.18.0.1', port: 41641 });
  assert.equal(parseEndpoint('relay:us-east/abc'), undefined);
  assert.equal(parseEndpoint('198.18.0.1:65536'), undefined);
  assert.deepEqual(parseEndpoint('[::ffff:10.0.0.1]:7'), { address: '10.0.0.1', port: 7 });
  assert.equal(formatEndpoint({ address: '2001:db8:0:0:0:0:0:1', port: 9 }), '[2001:db8::1]:9');
  assert.equal(formatEndpoint({ address: '::ffff:198.18.0.2', port: 9 }), '198.18.0.2:9');
  assert.deepEqual(toDirectEndpoint('[2001:db8:0::1]:9'), {
    kind: 'direct',
    addr: '2001:db8::1',
    port: 9,
    name: '[2001:db8::1]:9',
  });
  assert.equal(toDirectEndpoint('relay:us-east/abc'), undefined);
});

test('DirectEndpoints: one value per source, canonical, bounded', () => {
  const eps = new DirectEndpoints(3);
  const a = eps.of('::ffff:198.18.0.2', 9);
  assert.equal(a.name, '198.18.0.2:9');
  assert.equal(eps.of('::ffff:198.18.0.2', 9), a, 'the same value again');
  assert.notEqual(eps.of('::ffff:198.18.0.2', 10), a);
  eps.of('10.0.0.1', 1);
  const again = eps.of('::ffff:198.18.0.2', 9); // the table was full: cleared, made anew
  assert.deepEqual(again, a);
  assert.equal(eps.of('::ffff:198.18.0.2', 9), again);
});
