import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decidePrometheus } from './policy.ts';

test('table: the read API passes, admin, write and lifecycle paths do not', () => {
  const rows: [string, string, string | undefined][] = [
    ['GET', '/api/v1/query?query=up', undefined],
    ['POST', '/api/v1/query', undefined],
    ['GET', '/api/v1/query_range?query=up&start=1&end=2&step=1', undefined],
    ['POST', '/api/v1/series', undefined],
    ['GET', '/api/v1/labels', undefined],
    ['GET', '/api/v1/label/__name__/values', undefined],
    ['GET', '/api/v1/label/job/values?match[]=up', undefined],
    ['GET', '/api/v1/metadata', undefined],
    ['GET', '/federate?match[]={job="x"}', undefined],
    ['HEAD', '/federate', undefined],
    ['POST', '/api/v1/admin/tsdb/delete_series?match[]=up', 'path'],
    ['POST', '/api/v1/admin/tsdb/snapshot', 'path'],
    ['POST', '/api/v1/write', 'path'],
    ['POST', '/-/reload', 'path'],
    ['POST', '/-/quit', 'path'],
    ['GET', '/api/v1/status/config', 'path'],
    ['GET', '/api/v1/targets', 'path'],
    ['GET', '/', 'path'],
    ['POST', '/federate', 'method'],
    ['DELETE', '/api/v1/query', 'method'],
    ['POST', '/api/v1/label/job/values', 'method'],
    ['GET', '/api/v1/query/', 'malformed'],
    ['GET', '/api/v1/query/../admin/tsdb/delete_series', 'malformed'],
    ['GET', '/api/v1/./query', 'malformed'],
    ['GET', '//api/v1/query', 'malformed'],
    ['GET', '/api/v1/%71uery', 'malformed'],
    ['GET', '/api/v1/label/a%2Fb/values', 'malformed'],
    ['GET', '/api/v1/label/../values', 'malformed'],
    ['GET', 'http://x/api/v1/query', 'malformed'],
    ['GET', '', 'malformed'],
  ];
  for (const [m, t, want] of rows) assert.equal(decidePrometheus(m, t)?.reason, want, `${m} ${t}`);
  assert.equal(decidePrometheus('GET', '/prom/api/v1/query?query=up', '/prom'), undefined);
  assert.equal(decidePrometheus('GET', '/api/v1/query?query=up', '/prom')?.reason, 'path');
  assert.equal(decidePrometheus('POST', '/prom/api/v1/admin/tsdb/delete_series', '/prom')?.reason, 'path');
});

test('per access level: read-only and read-write read; admin may also use the TSDB admin API', () => {
  const rows: [string, string, string | undefined, string | undefined, string | undefined][] = [
    // method, target, read-only, read-write, admin
    ['GET', '/api/v1/query?query=up', undefined, undefined, undefined],
    ['POST', '/api/v1/admin/tsdb/delete_series?match[]=up', 'path', 'path', undefined],
    ['PUT', '/api/v1/admin/tsdb/delete_series?match[]=up', 'path', 'path', undefined],
    ['POST', '/api/v1/admin/tsdb/clean_tombstones', 'path', 'path', undefined],
    ['POST', '/api/v1/admin/tsdb/snapshot', 'path', 'path', undefined],
    ['GET', '/api/v1/admin/tsdb/delete_series?match[]=up', 'path', 'path', 'method'],
    ['POST', '/api/v1/admin/tsdb/other', 'path', 'path', 'path'],
    // refused at every level: remote write, lifecycle, the UI
    ['POST', '/api/v1/write', 'path', 'path', 'path'],
    ['POST', '/-/reload', 'path', 'path', 'path'],
    ['POST', '/-/quit', 'path', 'path', 'path'],
    ['GET', '/graph', 'path', 'path', 'path'],
    ['GET', '/api/v1/query#x', 'malformed', 'malformed', 'malformed'],
    ['POST', '/api/v1/admin/tsdb/snapshot#', 'malformed', 'malformed', 'malformed'],
  ];
  for (const [m, t, ro, rw, admin] of rows) {
    assert.equal(decidePrometheus(m, t, '', 'read-only')?.reason, ro, `read-only ${m} ${t}`);
    assert.equal(decidePrometheus(m, t, '', 'read-write')?.reason, rw, `read-write ${m} ${t}`);
    assert.equal(decidePrometheus(m, t, '', 'admin')?.reason, admin, `admin ${m} ${t}`);
  }
  assert.equal(decidePrometheus('POST', '/prom/api/v1/admin/tsdb/snapshot', '/prom', 'admin'), undefined);
});

const ALLOWED = new Set([
  '/api/v1/query',
  '/api/v1/query_range',
  '/api/v1/series',
  '/api/v1/labels',
  '/api/v1/metadata',
  '/federate',
]);

test('property: never throws; what passes is exactly an allowed read path', () => {
  const seg = fc.oneof(
    fc.constantFrom(
      'api',
      'v1',
      'query',
      'admin',
      'tsdb',
      'delete_series',
      'label',
      'job',
      'values',
      'federate',
      '..',
      '.',
      '',
      '-',
      'quit',
      '%2e',
    ),
    fc.string({ maxLength: 8 }),
  );
  const target = fc
    .tuple(fc.array(seg, { maxLength: 7 }), fc.string({ maxLength: 16 }))
    .map(([s, q]) => '/' + s.join('/') + (q ? `?${q}` : ''));
  fc.assert(
    fc.property(
      fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'HEAD'),
      fc.oneof(target, fc.string({ maxLength: 80 })),
      (m, t) => {
        const r = decidePrometheus(m, t);
        if (r) return assert.ok(r.status === 403 || r.status === 405);
        const path = t.split(/[?#]/)[0];
        assert.ok(ALLOWED.has(path) || /^\/api\/v1\/label\/[A-Za-z_][A-Za-z0-9_.]*\/values$/.test(path), t);
        assert.ok(!path.includes('admin') || path.startsWith('/api/v1/label/'), t);
      },
    ),
    { numRuns: 5000 },
  );
});
