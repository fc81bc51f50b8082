// The kubernetes target (DESIGN.md §6): the router has terminated mTLS; this proxy forwards the
// engineer's kubectl requests to the API server with the connector's own service-account token,
// impersonating the grant's user under a sallyport: prefix, so the request never inherits the
// RBAC bindings of a cluster user who happens to share the engineer's name:
//
//   Authorization: Bearer <connector's service-account token>      (client's Authorization dropped)
//   Impersonate-User: sallyport:<grant user>                         (client's Impersonate-* dropped)
//   Impersonate-Group: per access level (each bound to a ClusterRole under deploy/kubernetes)
//       read-only   sallyport:view
//       read-write  sallyport:view, sallyport:edit
//       admin       sallyport:view, sallyport:edit, sallyport:admin
//   Impersonate-Extra-sallyport-grant: <grant id>                    (shows in the API server's audit)
//
// and refuses what policy.ts says for the level (secrets, exec, attach, port-forward, proxy and
// tokens at every level) itself, with a Kubernetes Status, so kubectl prints "Error from server
// (Forbidden)". The level is the grant's, capped by `maxAccess`: the customer's connector decides
// the most any grant may do here.
//
// Connector config, service kind "kubernetes":
//   "target": { "tokenFile": "/var/run/secrets/kubernetes.io/serviceaccount/token",   (default)
//               "caFile": "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt",     (default)
//               "group": "sallyport:view" | ["…", "…"],           (every level; default)
//               "writeGroup": "sallyport:edit" | ["…"],            (+ read-write and admin; default)
//               "adminGroup": "sallyport:admin" | ["…"],           (+ admin; default)
//               "serverName": "kubernetes.default.svc",  (name in the API server's certificate; default the host)
//               "maxAccess": "read-only" | "read-write" | "admin" }                  (default read-only)
//   Every group must start with "sallyport:". `"readOnly": true|false` (older configs) means
//   maxAccess read-only|read-write.
import { readFileSync } from 'node:fs';
import type { OutgoingHttpHeaders } from 'node:http';
import type { Clock } from '../../clock/index.ts';
import { TargetError } from '../errors.ts';
import { ACCESS_LEVELS, type AccessLevel } from '../../access/index.ts';
import type { ProxyContext, Target, TargetDeps } from '../types.ts';
import { parseTargetAddress } from './address.ts';
import { decide } from './policy.ts';
import { ReverseProxy, type Refusal } from './reverse-proxy.ts';
import { UsageTracker } from './usage.ts';

export const IN_CLUSTER_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';
export const IN_CLUSTER_CA = '/var/run/secrets/kubernetes.io/serviceaccount/ca.crt';
export const DEFAULT_GROUP = 'sallyport:view';
export const DEFAULT_WRITE_GROUP = 'sallyport:edit';
export const DEFAULT_ADMIN_GROUP = 'sallyport:admin';
/** Every impersonated user and group name starts with this. */
export const NAME_PREFIX = 'sallyport:';
/** The extra key the API server's audit shows the grant under (lower case, RFC 7230 token). */
export const GRANT_EXTRA = 'sallyport-grant';
/** Projected service-account tokens rotate: the file is read again after this long. */
const TOKEN_REREAD_MS = 60_000;

export interface KubernetesOptions {
  tokenFile: string;
  caFile: string;
  /** Impersonated for every level. */
  groups: string[];
  /** Added for read-write and admin. */
  writeGroups: string[];
  /** Added for admin. */
  adminGroups: string[];
  serverName?: string;
  /** The most any grant may do through this connector (a grant's level is capped to it). */
  maxAccess: AccessLevel;
}

const RANK: Record<AccessLevel, number> = { 'read-only': 0, 'read-write': 1, admin: 2 };

/** The lower of two levels. */
export const capAccess = (a: AccessLevel, max: AccessLevel): AccessLevel => (RANK[a] <= RANK[max] ? a : max);

/** A group or host name as a header value: printable ASCII. */
const NAME = /^[\x21-\x7e][\x20-\x7e]{0,252}$/;

/** Validates the service's `target` object; throws TARGET_CONFIG naming the bad field. */
export function parseKubernetesOptions(v: unknown, service: string): KubernetesOptions {
  const bad = (field: string, want: string): never => {
    throw new TargetError('TARGET_CONFIG', `service ${service}: target.${field} must be ${want}`);
  };
  if (v !== undefined && (typeof v !== 'object' || v === null || Array.isArray(v)))
    throw new TargetError('TARGET_CONFIG', `service ${service}: target must be an object`);
  const o = (v ?? {}) as Record<string, unknown>;
  const known = [
    'tokenFile',
    'caFile',
    'group',
    'writeGroup',
    'adminGroup',
    'serverName',
    'maxAccess',
    'readOnly',
  ];
  for (const k of Object.keys(o))
    if (!known.includes(k))
      throw new TargetError('TARGET_CONFIG', `service ${service}: unknown field target.${k}`);
  const str = (k: string, d: string): string => {
    const x = o[k] ?? d;
    return typeof x === 'string' && x.length > 0 ? x : bad(k, 'a non-empty string');
  };
  const groupList = (k: string, d: string): string[] => {
    const g = o[k] ?? d;
    const groups = Array.isArray(g) ? g : [g];
    if (
      groups.length === 0 ||
      groups.length > 16 ||
      !groups.every((x) => typeof x === 'string' && NAME.test(x))
    )
      bad(k, 'a group name or a list of 1 to 16 of them');
    if (!groups.every((x: string) => x.startsWith(NAME_PREFIX) && x.length > NAME_PREFIX.length))
      bad(k, `group names that start with "${NAME_PREFIX}" (so no customer group's bindings apply)`);
    return groups as string[];
  };
  if (o.serverName !== undefined && (typeof o.serverName !== 'string' || !NAME.test(o.serverName)))
    bad('serverName', 'a host name');
  if (o.readOnly !== undefined && typeof o.readOnly !== 'boolean') bad('readOnly', 'true or false');
  if (o.maxAccess !== undefined && !(ACCESS_LEVELS as readonly unknown[]).includes(o.maxAccess))
    bad('maxAccess', '"read-only", "read-write" or "admin"');
  if (o.maxAccess !== undefined && o.readOnly !== undefined)
    bad('readOnly', 'left out when target.maxAccess is given');
  const maxAccess: AccessLevel =
    (o.maxAccess as AccessLevel | undefined) ?? (o.readOnly === false ? 'read-write' : 'read-only');
  return {
    tokenFile: str('tokenFile', IN_CLUSTER_TOKEN),
    caFile: str('caFile', IN_CLUSTER_CA),
    groups: groupList('group', DEFAULT_GROUP),
    writeGroups: groupList('writeGroup', DEFAULT_WRITE_GROUP),
    adminGroups: groupList('adminGroup', DEFAULT_ADMIN_GROUP),
    ...(o.serverName !== undefined ? { serverName: o.serverName as string } : {}),
    maxAccess,
  };
}

/** The service-account token, read again every TOKEN_REREAD_MS (kubelet rotates projected tokens). */
class TokenFile {
  #token = '';
  #readAt = -Infinity;
  constructor(
    readonly path: string,
    readonly clock: Clock,
    readonly service: string,
  ) {
    this.get();
  }
  get(): string {
    const now = this.clock.now();
    if (now - this.#readAt < TOKEN_REREAD_MS) return this.#token;
    try {
      const t = readFileSync(this.path, 'utf8').trim();
      if (!/^[\x21-\x7e]{1,16384}$/.test(t)) throw new Error('not a bearer token');
      this.#token = t;
      this.#readAt = now;
    } catch (e) {
      // Keep the last good token (a rotation in progress); fail only when there never was one.
      if (!this.#token)
        throw new TargetError(
          'TARGET_CONFIG',
          `service ${this.service}: token file: ${(e as Error).message}`,
          {
            cause: e,
          },
        );
    }
    return this.#token;
  }
}

/** Kubernetes StatusReason for the codes the proxy answers with itself. */
const STATUS_REASON: Record<number, string> = {
  400: 'BadRequest',
  403: 'Forbidden',
  405: 'MethodNotAllowed',
  502: 'ServiceUnavailable',
  504: 'Timeout',
};

/** The Kubernetes `Status` object the API server itself would answer with. */
export function kubernetesStatus(r: Refusal): { contentType: string; body: string } {
  const reason = STATUS_REASON[r.status] ?? 'Unknown';
  return {
    contentType: 'application/json',
    body: JSON.stringify({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: `sallyport: ${r.message}`,
      reason,
      details: { causes: [{ reason: r.reason, message: r.message }] },
      code: r.status,
    }),
  };
}

/**
 * Names the connector never impersonates, whatever the grant says: Kubernetes' own identities
 * (system:…, e.g. system:kube-controller-manager, which may read secrets) and anything that is not
 * a plain header value.
 */
export function userRefusal(user: string): Refusal | undefined {
  if (/^system:/i.test(user) || !/^[\x21-\x7e][\x20-\x7e]{0,252}$/.test(user))
    return {
      status: 403,
      reason: 'identity',
      message: `the user name ${JSON.stringify(user.slice(0, 64))} is not impersonated`,
    };
  return undefined;
}

/** Headers that would let the client choose an identity: never forwarded. */
const IDENTITY_HEADER = /^(impersonate-|x-remote-)/;

/** The groups a level impersonates: `group`, plus `writeGroup` from read-write, plus `adminGroup` for admin. */
export function groupsFor(
  level: AccessLevel,
  o: Pick<KubernetesOptions, 'groups' | 'writeGroups' | 'adminGroups'>,
): string[] {
  const out = [...o.groups];
  if (level !== 'read-only') out.push(...o.writeGroups);
  if (level === 'admin') out.push(...o.adminGroups);
  return [...new Set(out)];
}

export function impersonationHeaders(
  h: OutgoingHttpHeaders,
  ctx: Pick<ProxyContext, 'user' | 'grantId'>,
  token: string,
  groups: string[],
): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(h)) if (!IDENTITY_HEADER.test(k.toLowerCase())) out[k] = v;
  out.authorization = `Bearer ${token}`;
  out['impersonate-user'] = `${NAME_PREFIX}${ctx.user}`;
  out['impersonate-group'] = groups.length === 1 ? groups[0] : groups;
  out[`impersonate-extra-${GRANT_EXTRA}`] = ctx.grantId;
  return out;
}

export function createKubernetesTarget(
  o: { service: string; deployment: string; address: string; options: unknown },
  deps: TargetDeps,
): Target {
  const opts = parseKubernetesOptions(o.options, o.service);
  const { host, port } = parseTargetAddress(o.address, o.service);
  let ca: string;
  try {
    ca = readFileSync(opts.caFile, 'utf8');
  } catch (e) {
    throw new TargetError('TARGET_CONFIG', `service ${o.service}: target.caFile: ${(e as Error).message}`, {
      cause: e,
    });
  }
  const token = new TokenFile(opts.tokenFile, deps.clock, o.service);
  const usage = new UsageTracker(deps, o.service, 'kubernetes.request');
  const proxy = new ReverseProxy({
    upstream: {
      protocol: 'https:',
      host,
      port,
      ca,
      ...(opts.serverName ? { servername: opts.serverName } : {}),
    },
    decide: (req, ctx) => {
      const access = capAccess(ctx.access, opts.maxAccess);
      const r =
        userRefusal(ctx.user) ??
        decide(req.method, req.target, { access }, req.headers.upgrade !== undefined);
      if (r && access !== ctx.access && /write$/.test(r.reason))
        r.message += ` (the grant is ${ctx.access}; this connector allows at most ${opts.maxAccess}: target.maxAccess)`;
      return r;
    },
    headers: (h, ctx) =>
      impersonationHeaders(h, ctx, token.get(), groupsFor(capAccess(ctx.access, opts.maxAccess), opts)),
    render: kubernetesStatus,
    onDone: (outcome, ctx) => {
      usage.record(outcome, ctx);
      if (outcome.refused)
        ctx.logger.info({ grantId: ctx.grantId, ...outcome }, 'kubernetes request refused');
    },
  });
  return {
    proxy,
    reconciler: usage,
    async close() {
      await proxy.close();
    },
  };
}
