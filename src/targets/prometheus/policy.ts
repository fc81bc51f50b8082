// The read API a grant may use on Prometheus (HTTP API v1, prometheus.io/docs/prometheus/latest/
// querying/api/) and /federate; everything else — admin (/api/v1/admin/…), remote write, the
// lifecycle endpoints (/-/reload, /-/quit), the UI, status pages — is refused with 403.
//
//   GET|POST /api/v1/query  /api/v1/query_range  /api/v1/series  /api/v1/labels
//   GET      /api/v1/label/<label name>/values  /api/v1/metadata  /federate
//
// Paths match exactly (after an optional configured prefix, for --web.route-prefix); a path with
// '%', empty or dot segments, or anything but the characters those paths use is refused (I10).
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
/** Label names (Prometheus data model; UTF-8 names travel escaped as U__…, still in this set). */
const LABEL_VALUES = /^\/api\/v1\/label\/[A-Za-z_][A-Za-z0-9_.]{0,1023}\/values$/;

/** undefined: forward; else why the proxy refuses it. `prefix` is '' or '/something' (no trailing slash). */
export function decidePrometheus(method: string, target: string, prefix = ''): Refusal | undefined {
  const refuse = (reason: string, message: string, status = 403): Refusal => ({ status, reason, message });
  if (target.length === 0 || target.length > MAX_TARGET || target[0] !== '/')
    return refuse('malformed', 'request target refused');
  const q = target.search(/[?#]/);
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
  const methods = EXACT.get(path) ?? (LABEL_VALUES.test(path) ? GET : undefined);
  if (!methods)
    return refuse(
      'path',
      `${path} is not part of the read API (query, query_range, series, labels, label values, metadata, federate)`,
    );
  if (!methods.has(method)) return refuse('method', `${method} ${path} is not allowed`, 405);
  return undefined;
}
