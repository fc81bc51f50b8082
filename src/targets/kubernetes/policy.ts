// What the router refuses itself on the way to the Kubernetes API server, before RBAC is asked.
// The ClusterRoles under deploy/kubernetes say the same; this is the second lock.
//
//   every level:  secrets, the subresources exec/attach/portforward/proxy, serviceaccounts/…/token
//                 (it mints credentials), protocol upgrades, paths it cannot parse with certainty
//   read-only:    reads only (GET, HEAD, OPTIONS) and the self reviews of `kubectl auth`
//   read-write:   + writes to namespaced resources, except in the PRIVILEGED groups (RBAC,
//                 certificates, admission, CRDs)
//   admin:        + writes to cluster-scoped resources and the PRIVILEGED groups
//
// Request targets are parsed strictly and refused when in doubt (I10):
//   /version  /api  /apis  /openapi/…  /healthz …            discovery: allowed
//   /api/v1[/watch|/proxy]/RESOURCE[/NAME[/SUB…]]
//   /api/v1[/watch|/proxy]/namespaces/NS/RESOURCE[/NAME[/SUB…]]
//   /apis/GROUP/VERSION[/watch|/proxy]/… (the same)
// Refused: '%' anywhere in the path (Kubernetes names never need it; an encoded '/' or 's' could
// hide a resource), '#' anywhere (a fragment never belongs in a request target), empty, '.' and
// '..' segments, backslashes, control characters, targets that are not origin-form, the `proxy`
// prefix, RESOURCE "secrets", SUB exec/attach/portforward/proxy.
import type { AccessLevel } from '../../access/index.ts';
import type { Refusal } from './reverse-proxy.ts';

/** Longest request target considered (kubectl's are far shorter). */
export const MAX_TARGET = 8192;

const FORBIDDEN_SUB = new Set(['exec', 'attach', 'portforward', 'proxy']);
/** API groups whose writes can widen someone's rights or the cluster's behaviour: admin only. */
const PRIVILEGED_GROUPS = new Set([
  'rbac.authorization.k8s.io',
  'certificates.k8s.io',
  'admissionregistration.k8s.io',
  'apiextensions.k8s.io',
]);
const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
/** Creates that only ask the API server about oneself (`kubectl auth can-i`, `auth whoami`). */
const SELF_REVIEWS = new Set([
  'authorization.k8s.io/selfsubjectaccessreviews',
  'authorization.k8s.io/selfsubjectrulesreviews',
  'authentication.k8s.io/selfsubjectreviews',
]);

export interface ParsedTarget {
  /** '' for the core group (/api). */
  group: string;
  version: string;
  namespace?: string;
  resource?: string;
  name?: string;
  subresource: string[];
  watch: boolean;
}

export type Classified =
  | { kind: 'discovery'; path: string }
  | { kind: 'resource'; path: string; r: ParsedTarget }
  | { kind: 'invalid'; why: string };

const SEGMENT = /^[A-Za-z0-9._:~@!$&'()*+,;=-]+$/;

/** Splits and checks a request target; pure, never throws. */
export function classify(target: string): Classified {
  if (target.length === 0 || target.length > MAX_TARGET) return { kind: 'invalid', why: 'bad length' };
  if (target[0] !== '/') return { kind: 'invalid', why: 'not an origin-form target' };
  if (target.includes('#')) return { kind: 'invalid', why: "a '#' in the request target" };
  const q = target.indexOf('?');
  const path = q < 0 ? target : target.slice(0, q);
  if (path.includes('%')) return { kind: 'invalid', why: 'percent-encoding in the path' };
  const segs = path === '/' ? [] : path.slice(1).replace(/\/$/, '').split('/');
  for (const s of segs) {
    if (s === '' || s === '.' || s === '..') return { kind: 'invalid', why: 'empty or dot segment' };
    if (!SEGMENT.test(s)) return { kind: 'invalid', why: 'unexpected character in the path' };
  }
  let rest: string[];
  let group = '';
  let version: string | undefined;
  if (segs[0] === 'api') {
    version = segs[1];
    rest = segs.slice(2);
  } else if (segs[0] === 'apis') {
    group = segs[1] ?? '';
    version = segs[2];
    rest = segs.slice(3);
  } else return { kind: 'discovery', path };
  if (version === undefined || rest.length === 0) return { kind: 'discovery', path };
  let watch = false;
  if (rest[0] === 'proxy') return { kind: 'invalid', why: 'the proxy prefix' };
  if (rest[0] === 'watch') {
    watch = true;
    rest = rest.slice(1);
    if (rest.length === 0) return { kind: 'invalid', why: 'watch of nothing' };
  }
  const r: ParsedTarget = { group, version, subresource: [], watch };
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    r.namespace = rest[1];
    rest = rest.slice(2);
  }
  r.resource = rest[0];
  if (rest[1] !== undefined) r.name = rest[1];
  r.subresource = rest.slice(2);
  return { kind: 'resource', path, r };
}

export interface PolicyOptions {
  /** The grant's level, already capped by the connector's `maxAccess`. */
  access: AccessLevel;
}

/** undefined: forward; else why the router refuses it (403). */
export function decide(
  method: string,
  target: string,
  o: PolicyOptions,
  upgrade = false,
): Refusal | undefined {
  const c = classify(target);
  const refuse = (reason: string, message: string): Refusal => ({ status: 403, reason, message });
  if (c.kind === 'invalid') return refuse('malformed', `request path refused (${c.why})`);
  if (c.kind === 'resource') {
    const { r } = c;
    if (r.resource === 'secrets') return refuse('secrets', 'secrets are not readable through sallyport');
    const sub = r.subresource[0];
    if (sub !== undefined && FORBIDDEN_SUB.has(sub))
      return refuse(sub, `${r.resource}/${sub} is not allowed through sallyport`);
    if (r.resource === 'serviceaccounts' && sub === 'token')
      return refuse('token', 'service-account tokens are not issued through sallyport');
  }
  if (upgrade) return refuse('upgrade', 'protocol upgrades (exec, attach, port-forward) are not allowed');
  if (READ_METHODS.has(method)) return undefined;
  const self =
    method === 'POST' &&
    c.kind === 'resource' &&
    c.r.namespace === undefined &&
    c.r.name === undefined &&
    SELF_REVIEWS.has(`${c.r.group}/${c.r.resource}`);
  if (self) return undefined;
  if (o.access === 'read-only') return refuse('write', `${method} is not allowed: this access is read-only`);
  if (o.access === 'admin') return undefined;
  // read-write: namespaced resources outside the privileged groups.
  if (c.kind !== 'resource')
    return refuse('cluster-write', `${method} ${c.path} needs admin access (this access is read-write)`);
  if (PRIVILEGED_GROUPS.has(c.r.group))
    return refuse('privileged-write', `writes to ${c.r.group} need admin access (this access is read-write)`);
  if (c.r.namespace === undefined)
    return refuse(
      'cluster-write',
      `${c.r.resource} is cluster-scoped: writing it needs admin access (this access is read-write)`,
    );
  return undefined;
}
