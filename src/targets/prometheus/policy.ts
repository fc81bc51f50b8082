// The read API a grant may use on Prometheus (HTTP API v1, prometheus.io/docs/prometheus/latest/
// querying/api/) and /federate; everything else — admin (/api/v1/admin/…), remote write, the
// lifecycle endpoints (/-/reload, /-/quit), the UI, status pages — is refused with 403.
//
//   GET|POST /api/v1/query  /api/v1/query_range  /api/v1/series  /api/v1/labels
//   GET      /api/v1/label/<label name>/values  /api/v1/metadata  /federate
//
// Admin grants may also use the TSDB admin API (Prometheus serves it only with
// --web.enable-admin-api, the customer's own switch):
//
//   POST|PUT /api/v1/admin/tsdb/delete_series  /api/v1/admin/tsdb/clean_tombstones  /api/v1/admin/tsdb/snapshot
//
// Read-write grants read like read-only ones: Prometheus has nothing an engineer should write
// (remote write is for machines). The lifecycle endpoints, remote write and the UI are refused
// at every level.
//
// Paths match exactly (after an optional configured prefix, for --web.route-prefix); a path with
// '%' or '#', empty or dot segments, or anything but the characters those paths use is refused (I10).
import type { AccessLevel } from '../../access/index.ts';
import type { Refusal } from '../kubernetes/index.ts';

export const MAX_TARGET = 16_384;

const BOTH = new Set(['GET', 'POST']);
const GET = new Set(['GET', 'HEAD']);
const EXACT: ReadonlyMap<string, ReadonlySet<string>> = new Map([
  ['/api/v1/query', BOTH],
  ['/api/v1/query_range', BOTH],
  ['/api/v1/series', BOTH],
  ['/api/v1/labels', BOTH],
  ['/api/v1/metadata', GET],
  ['/federate', GET],
]);
const ADMIN_METHODS = new Set(['POST', 'PUT']);
const ADMIN: ReadonlyMap<string, ReadonlySet<string>> = new Map([
  ['/api/v1/admin/tsdb/delete_series', ADMIN_METHODS],
  ['/api/v1/admin/tsdb/clean_tombstones', ADMIN_METHODS],
  ['/api/v1/admin/tsdb/snapshot', ADMIN_METHODS],
]);
/** Label names (Prometheus data model; UTF-8 names travel escaped as U__…, still in this set). */
const LABEL_VALUES = /^\/api\/v1\/label\/[A-Za-z_][A-Za-z0-9_.]{0,1023}\/values$/;

/**
 * undefined: forward; else why the proxy refuses it. `prefix` is '' or '/something' (no trailing
 * slash); `access` is the grant's level, already capped by the connector's `maxAccess`.
 */
export function decidePrometheus(
  method: string,
  target: string,
  prefix = '',
  access: AccessLevel = 'read-only',
): Refusal | undefined {
  const refuse = (reason: string, message: string, status = 403): Refusal => ({ status, reason, message });
  if (target.length === 0 || target.length > MAX_TARGET || target[0] !== '/' || target.includes('#'))
    return refuse('malformed', 'request target refused');
  const q = target.indexOf('?');
  let path = q < 0 ? target : target.slice(0, q);
  if (
    !/^[A-Za-z0-9/_.-]+$/.test(path) ||
    (path !== '/' &&
      path
        .slice(1)
        .split('/')
        .some((s) => s === '' || s === '.' || s === '..'))
  )
    return refuse('malformed', 'request path refused');
  if (prefix) {
    if (!path.startsWith(prefix + '/')) return refuse('path', `${path} is not part of the read API`);
    path = path.slice(prefix.length);
  }
  const methods =
    EXACT.get(path) ??
    (LABEL_VALUES.test(path) ? GET : undefined) ??
    (access === 'admin' ? ADMIN.get(path) : undefined);
  if (!methods)
    return refuse(
      'path',
      `${path} is not part of the read API (query, query_range, series, labels, label values, metadata, federate)`,
    );
  if (!methods.has(method)) return refuse('method', `${method} ${path} is not allowed`, 405);
  return undefined;
}
