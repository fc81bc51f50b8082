// The kubernetes target (DESIGN.md §6): the router has terminated mTLS; this proxy forwards the
// engineer's kubectl requests to the API server with the connector's own service-account token,
// impersonating the grant's user:
//
//   Authorization: Bearer <connector's service-account token>      (client's Authorization dropped)
//   Impersonate-User: <grant user>                                   (client's Impersonate-* dropped)
//   Impersonate-Group: <group, default sallyport:view>               (bound to ClusterRole sallyport-view)
//   Impersonate-Extra-sallyport-grant: <grant id>                    (shows in the API server's audit)
//
// and refuses secrets, exec, attach, port-forward, proxy and (read-only) writes itself (policy.ts)
// with a Kubernetes Status, so kubectl prints "Error from server (Forbidden)".
//
// Connector config, service kind "kubernetes":
//   "target": { "tokenFile": "/var/run/secrets/kubernetes.io/serviceaccount/token",   (default)
//               "caFile": "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt",     (default)
//               "group": "sallyport:view" | ["…", "…"],                               (default)
//               "serverName": "kubernetes.default.svc",  (name in the API server's certificate; default the host)
//               "readOnly": true }                                                   (default)
import { readFileSync } from 'node:fs';
import type { OutgoingHttpHeaders } from 'node:http';
import type { Clock } from '../../clock/index.ts';
import { TargetError } from '../errors.ts';
import type { ProxyContext, Target, TargetDeps } from '../types.ts';
import { parseTargetAddress } from './address.ts';
import { decide } from './policy.ts';
import { ReverseProxy, type Refusal } from './reverse-proxy.ts';
import { UsageTracker } from './usage.ts';

export const IN_CLUSTER_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';
export const IN_CLUSTER_CA = '/var/run/secrets/kubernetes.io/serviceaccount/ca.crt';
export const DEFAULT_GROUP = 'sallyport:view';
/** The extra key the API server's audit shows the grant under (lower case, RFC 7230 token). */
export const GRANT_EXTRA = 'sallyport-grant';
/** Projected service-account tokens rotate: the file is read again after this long. */
const TOKEN_REREAD_MS = 60_000;

export interface KubernetesOptions {
  tokenFile: string;
  caFile: string;
  groups: string[];
  serverName?: string;
  readOnly: boolean;
}

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
  for (const k of Object.keys(o))
    if (!['tokenFile', 'caFile', 'group', 'serverName', 'readOnly'].includes(k))
      throw new TargetError('TARGET_CONFIG', `service ${service}: unknown field target.${k}`);
  const str = (k: string, d: string): string => {
    const x = o[k] ?? d;
    return typeof x === 'string' && x.length > 0 ? x : bad(k, 'a non-empty string');
  };
  const g = o.group ?? DEFAULT_GROUP;
  const groups = Array.isArray(g) ? g : [g];
  if (
    groups.length === 0 ||
    groups.length > 16 ||
    !groups.every((x) => typeof x === 'string' && NAME.test(x))
  )
    bad('group', 'a group name or a list of 1 to 16 of them');
  if (o.serverName !== undefined && (typeof o.serverName !== 'string' || !NAME.test(o.serverName)))
    bad('serverName', 'a host name');
  if (o.readOnly !== undefined && typeof o.readOnly !== 'boolean') bad('readOnly', 'true or false');
  return {
    tokenFile: str('tokenFile', IN_CLUSTER_TOKEN),
    caFile: str('caFile', IN_CLUSTER_CA),
    groups: groups as string[],
    ...(o.serverName !== undefined ? { serverName: o.serverName as string } : {}),
    readOnly: (o.readOnly as boolean | undefined) ?? true,
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

export function impersonationHeaders(
  h: OutgoingHttpHeaders,
  ctx: Pick<ProxyContext, 'user' | 'grantId'>,
  token: string,
  groups: string[],
): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(h)) if (!IDENTITY_HEADER.test(k.toLowerCase())) out[k] = v;
  out.authorization = `Bearer ${token}`;
  out['impersonate-user'] = ctx.user;
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
    decide: (req, ctx) =>
      userRefusal(ctx.user) ?? decide(req.method, req.target, opts, req.headers.upgrade !== undefined),
    headers: (h, ctx) => impersonationHeaders(h, ctx, token.get(), opts.groups),
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
