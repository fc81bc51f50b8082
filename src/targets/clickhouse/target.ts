// The clickhouse target: options, and the reconciler + proxy + audit poller wired together.
//
// Connector config (the service's "target" object):
//   {
//     "mode": "router-auth" | "native-cert",           default "router-auth"; native-cert is
//                                                      refused at start (see probeNativeCert)
//     "usersDir": "/etc/clickhouse-server/users.d",    required: the directory ClickHouse watches
//                                                      (a clickhouse service without target
//                                                      options is refused at start for it)
//     "admin": { "user": "default", "passwordFile": "/etc/sallyport/clickhouse-admin" },
//                                                      optional: enables the query_log audit and
//                                                      SYSTEM RELOAD CONFIG after each users.d change
//                                                      (users live in ~20 ms instead of ≤ 2 s); needs
//                                                      a non-readonly user
//     "networks": ["10.0.0.5"],                        default: loopback if address is loopback, else ::/0
//     "maxExecutionTime": 60,                          seconds per query, default 60 (0 = none)
//     "quota": "default",                              default "default"
//     "auditIntervalMs": 2000,                         default 2000
//     "flushLogs": true                                default true
//   }
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TargetError } from '../errors.ts';
import type { Target, TargetDeps } from '../types.ts';
import { QueryLogPoller } from './audit-poller.ts';
import { chQuery, parseHostPort } from './http.ts';
import { ClickHouseProxy } from './proxy.ts';
import { ClickHouseReconciler } from './reconciler.ts';
import type { ClickHouseMode } from './users-file.ts';
import { probeNativeCert } from './version.ts';
import { rememberUsersDir, serviceStateDir } from './leftovers.ts';

export interface ClickHouseTargetOptions {
  mode: ClickHouseMode;
  usersDir: string;
  admin?: { user: string; password: string };
  networks: string[];
  maxExecutionTime: number;
  quota: string;
  auditIntervalMs: number;
  flushLogs: boolean;
}

const KEYS = new Set([
  'mode',
  'usersDir',
  'admin',
  'networks',
  'maxExecutionTime',
  'quota',
  'auditIntervalMs',
  'flushLogs',
]);

function bad(field: string, what: string): never {
  throw new TargetError('TARGET_CONFIG', `clickhouse target: ${field} ${what}`);
}

/** Validates the service's "target" object; throws TARGET_CONFIG naming the field. */
export function parseClickHouseOptions(options: unknown, address: string): ClickHouseTargetOptions {
  if (options === undefined)
    throw new TargetError(
      'TARGET_CONFIG',
      'clickhouse target: the service has no target options, and usersDir (the users.d directory ' +
        'ClickHouse watches, where the connector writes one read-only user per grant) cannot be ' +
        'guessed: give the service "target": { "usersDir": "/etc/clickhouse-server/users.d" } in ' +
        'a --config file (docs/targets/clickhouse.md), or use kind=tcp,tls=passthrough for an ' +
        'unfiltered pipe',
    );
  if (typeof options !== 'object' || options === null || Array.isArray(options))
    bad('target', 'must be an object');
  const o = options as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!KEYS.has(k)) bad(k, 'is not a known option');
  const mode = o.mode ?? 'router-auth';
  if (mode !== 'router-auth' && mode !== 'native-cert') bad('mode', 'must be "router-auth" or "native-cert"');
  if (typeof o.usersDir !== 'string' || !o.usersDir.startsWith('/'))
    bad('usersDir', 'must be an absolute path');
  let admin: ClickHouseTargetOptions['admin'];
  if (o.admin !== undefined) {
    const a = o.admin as Record<string, unknown>;
    if (typeof a !== 'object' || a === null) bad('admin', 'must be an object');
    if (typeof a.user !== 'string' || !/^[A-Za-z0-9_.-]{1,64}$/.test(a.user))
      bad('admin.user', 'must be a user name');
    let password = '';
    if (a.passwordFile !== undefined) {
      if (typeof a.passwordFile !== 'string') bad('admin.passwordFile', 'must be a path');
      try {
        password = readFileSync(a.passwordFile, 'utf8').replace(/\r?\n$/, '');
      } catch (e) {
        bad('admin.passwordFile', `cannot be read (${(e as Error).message})`);
      }
    }
    admin = { user: a.user, password };
  }
  const host = parseHostPort(address, 'address').host;
  const loopback = host === '127.0.0.1' || host === '::1' || host === 'localhost';
  const networks = o.networks ?? (loopback ? ['127.0.0.1', '::1'] : ['::/0']);
  if (
    !Array.isArray(networks) ||
    networks.length === 0 ||
    !networks.every((n) => typeof n === 'string' && /^[0-9A-Fa-f:.]+(\/\d{1,3})?$/.test(n))
  ) {
    bad('networks', 'must be a non-empty list of IPs or CIDRs');
  }
  const int = (k: string, d: number, min: number, max: number) => {
    const v = o[k] ?? d;
    if (!Number.isInteger(v) || (v as number) < min || (v as number) > max)
      bad(k, `must be an integer from ${min} to ${max}`);
    return v as number;
  };
  const quota = o.quota ?? 'default';
  if (typeof quota !== 'string' || !/^[A-Za-z0-9_]{1,64}$/.test(quota)) bad('quota', 'must be a quota name');
  if (o.flushLogs !== undefined && typeof o.flushLogs !== 'boolean')
    bad('flushLogs', 'must be true or false');
  return {
    mode,
    usersDir: o.usersDir,
    admin,
    networks: networks as string[],
    maxExecutionTime: int('maxExecutionTime', 60, 0, 86_400),
    quota,
    auditIntervalMs: int('auditIntervalMs', 2000, 100, 3_600_000),
    flushLogs: o.flushLogs !== false,
  };
}

/** The clickhouse target of one service (see the options above). */
export function createClickHouseTarget(
  o: { service: string; deployment: string; address: string; options: unknown },
  deps: TargetDeps,
): Target {
  const opt = parseClickHouseOptions(o.options, o.address);
  const upstream = parseHostPort(o.address, 'address');
  const admin = opt.admin;
  const dir = serviceStateDir(deps.stateDir, o.service);
  // Before any users file exists: a later start finds this directory even if the config drops it.
  rememberUsersDir(deps.stateDir, o.service, opt.usersDir);
  const poller = opt.admin
    ? new QueryLogPoller({
        service: o.service,
        address: upstream,
        admin: opt.admin,
        clock: deps.clock,
        logger: deps.logger.child({ component: 'clickhouse-audit' }),
        audit: deps.audit,
        report: deps.report,
        stateFile: join(dir, 'audit-state.json'),
        intervalMs: opt.auditIntervalMs,
        flush: opt.flushLogs,
      })
    : undefined;
  const reconciler = new ClickHouseReconciler({
    service: o.service,
    mode: opt.mode,
    usersDir: opt.usersDir,
    secretsDir: join(dir, 'passwords'),
    networks: opt.networks,
    maxExecutionTime: opt.maxExecutionTime,
    quota: opt.quota,
    clock: deps.clock,
    logger: deps.logger.child({ component: 'clickhouse-users' }),
    audit: deps.audit,
    reload: admin
      ? async () => {
          const r = await chQuery(upstream, admin, 'SYSTEM RELOAD CONFIG', { timeoutMs: 5000 });
          if (r.status !== 200) throw new Error(r.body.slice(0, 200));
        }
      : undefined,
    onChange: (active, removed) => poller?.update(active, removed),
  });
  const proxy =
    opt.mode === 'router-auth'
      ? new ClickHouseProxy({
          upstream,
          service: o.service,
          credentials: (id) => reconciler.credentials(id),
          audit: deps.audit,
          onRefused: (id) => poller?.countRefused(id),
        })
      : undefined;
  return {
    proxy,
    reconciler,
    // Before the service is registered: a mode this server cannot enforce refuses to start.
    start: opt.mode === 'native-cert' ? (so) => probeNativeCert(o.service, upstream, admin, so) : undefined,
    async close() {
      await Promise.allSettled([proxy?.close(), reconciler.close(), poller?.close()]);
    },
  };
}
