// The prometheus target (DESIGN.md §6): an mTLS-terminating reverse proxy (the router terminates
// mTLS) that forwards only the read API (policy.ts) to Prometheus and answers everything else with
// 403 in Prometheus's own error format. Each request is written to the connector's local audit
// with the grant id; per-grant counts go to the coordinator when the grant ends.
//
// Connector config, service kind "prometheus":
//   "target": { "scheme": "http" | "https",      (default http: Prometheus on the customer's network)
//               "caFile": "…",                   (https: CA to verify Prometheus; default system roots)
//               "serverName": "…",               (https: name in Prometheus's certificate)
//               "pathPrefix": "/prometheus",     (Prometheus's --web.route-prefix; default none)
//               "maxAccess": "read-only" | "read-write" | "admin" }
//                                                (the most any grant may do here; default read-only:
//                                                 an admin grant reaches the TSDB admin API only
//                                                 when this is "admin")
import { readFileSync } from 'node:fs';
import { TargetError } from '../errors.ts';
import type { Target, TargetDeps } from '../types.ts';
import { ACCESS_LEVELS, type AccessLevel } from '../../access/index.ts';
import {
  ReverseProxy,
  UsageTracker,
  capAccess,
  parseTargetAddress,
  type Refusal,
} from '../kubernetes/index.ts';
import { decidePrometheus } from './policy.ts';

export interface PrometheusOptions {
  scheme: 'http' | 'https';
  caFile?: string;
  serverName?: string;
  pathPrefix: string;
  maxAccess: AccessLevel;
}

export function parsePrometheusOptions(v: unknown, service: string): PrometheusOptions {
  const fail = (m: string): never => {
    throw new TargetError('TARGET_CONFIG', `service ${service}: ${m}`);
  };
  if (v !== undefined && (typeof v !== 'object' || v === null || Array.isArray(v)))
    fail('target must be an object');
  const o = (v ?? {}) as Record<string, unknown>;
  for (const k of Object.keys(o))
    if (!['scheme', 'caFile', 'serverName', 'pathPrefix', 'maxAccess'].includes(k))
      fail(`unknown field target.${k}`);
  const scheme = o.scheme ?? 'http';
  if (scheme !== 'http' && scheme !== 'https') fail('target.scheme must be "http" or "https"');
  for (const k of ['caFile', 'serverName'])
    if (o[k] !== undefined && (typeof o[k] !== 'string' || o[k] === ''))
      fail(`target.${k} must be a non-empty string`);
  const prefix = o.pathPrefix ?? '';
  if (typeof prefix !== 'string' || (prefix !== '' && !/^(\/[A-Za-z0-9_.-]+)+$/.test(prefix)))
    fail('target.pathPrefix must be like "/prometheus" (no trailing slash)');
  const maxAccess = o.maxAccess ?? 'read-only';
  if (!(ACCESS_LEVELS as readonly unknown[]).includes(maxAccess))
    fail('target.maxAccess must be "read-only", "read-write" or "admin"');
  return {
    scheme: scheme as 'http' | 'https',
    ...(o.caFile !== undefined ? { caFile: o.caFile as string } : {}),
    ...(o.serverName !== undefined ? { serverName: o.serverName as string } : {}),
    pathPrefix: prefix as string,
    maxAccess: maxAccess as AccessLevel,
  };
}

/** Prometheus API error body (`{"status":"error","errorType":…,"error":…}`). */
export function prometheusError(r: Refusal): { contentType: string; body: string } {
  const errorType =
    { 502: 'unavailable', 504: 'timeout', 405: 'bad_data', 400: 'bad_data' }[r.status] ?? 'forbidden';
  return {
    contentType: 'application/json',
    body: JSON.stringify({ status: 'error', errorType, error: `sallyport: ${r.message}` }),
  };
}

export function createPrometheusTarget(
  o: { service: string; deployment: string; address: string; options: unknown },
  deps: TargetDeps,
): Target {
  const opts = parsePrometheusOptions(o.options, o.service);
  const { host, port } = parseTargetAddress(o.address, o.service);
  let ca: string | undefined;
  if (opts.caFile !== undefined)
    try {
      ca = readFileSync(opts.caFile, 'utf8');
    } catch (e) {
      throw new TargetError('TARGET_CONFIG', `service ${o.service}: target.caFile: ${(e as Error).message}`, {
        cause: e,
      });
    }
  const usage = new UsageTracker(deps, o.service, 'prometheus.request');
  const proxy = new ReverseProxy({
    upstream: {
      protocol: opts.scheme === 'https' ? 'https:' : 'http:',
      host,
      port,
      ...(ca ? { ca } : {}),
      ...(opts.serverName ? { servername: opts.serverName } : {}),
    },
    decide: (req, ctx) =>
      req.headers.upgrade !== undefined
        ? { status: 403, reason: 'upgrade', message: 'protocol upgrades are not allowed' }
        : decidePrometheus(req.method, req.target, opts.pathPrefix, capAccess(ctx.access, opts.maxAccess)),
    headers: (h) => h,
    render: prometheusError,
    onDone: (outcome, ctx) => {
      usage.record(outcome, ctx);
      if (outcome.refused)
        ctx.logger.info({ grantId: ctx.grantId, ...outcome }, 'prometheus request refused');
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
