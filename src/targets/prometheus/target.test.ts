import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TargetError } from '../errors.ts';
import { parsePrometheusOptions, prometheusError } from './target.ts';

test('options: defaults, and each bad field named in a TARGET_CONFIG error', () => {
  assert.deepEqual(parsePrometheusOptions(undefined, 'p'), {
    scheme: 'http',
    pathPrefix: '',
    maxAccess: 'read-only',
  });
  assert.deepEqual(
    parsePrometheusOptions({ scheme: 'https', serverName: 'prom.internal', pathPrefix: '/prom' }, 'p'),
    {
      scheme: 'https',
      serverName: 'prom.internal',
      pathPrefix: '/prom',
      maxAccess: 'read-only',
    },
  );
  assert.equal(parsePrometheusOptions({ maxAccess: 'admin' }, 'p').maxAccess, 'admin');
  const cases: [unknown, RegExp][] = [
    [{ scheme: 'ftp' }, /target\.scheme/],
    [{ pathPrefix: 'prom' }, /target\.pathPrefix/],
    [{ maxAccess: 'root' }, /target\.maxAccess/],
    [{ pathPrefix: '/prom/' }, /target\.pathPrefix/],
    [{ caFile: '' }, /target\.caFile/],
    [{ extra: 1 }, /unknown field target\.extra/],
    [[], /target must be an object/],
  ];
  for (const [v, re] of cases)
    assert.throws(
      () => parsePrometheusOptions(v, 'p'),
      (e: unknown) => e instanceof TargetError && e.code === 'TARGET_CONFIG' && re.test(e.message),
      JSON.stringify(v),
    );
});

test('refusals in Prometheus API error format', () => {
  const b = JSON.parse(prometheusError({ status: 403, reason: 'path', message: 'no' }).body) as Record<
    string,
    string
  >;
  assert.deepEqual(b, { status: 'error', errorType: 'forbidden', error: 'sallyport: no' });
  assert.equal(
    (
      JSON.parse(prometheusError({ status: 504, reason: 'timeout', message: 'x' }).body) as {
        errorType: string;
      }
    ).errorType,
    'timeout',
  );
});
