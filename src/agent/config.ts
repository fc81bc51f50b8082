// Connector services from the command line (`--serve NAME=HOST:PORT[,kind=http][,tls=terminate]`)
// or a JSON config file: { "services": [{ "name", "address", "kind"?, "tls"?, "target"? }] }, where
// `target` holds the options of the service kind's target (src/targets, docs/targets/).
//
// Fail closed (docs/operating-a-connector.md, "Which configurations run"):
//   kind with a target proxy (clickhouse, kubernetes, prometheus)
//     tls omitted or terminate ─► terminate, through the target
//     tls=passthrough          ─► refused (AGENT_CONFIG): it would be an unfiltered pipe
//   kind tcp / http
//     tls omitted              ─► refused: write tls=passthrough (unfiltered) or tls=terminate
//     tls written              ─► as written; passthrough is logged, counted and shown in status
import { readFileSync } from 'node:fs';
import { parseJsonc } from '../util/index.ts';
import type { ServiceKindName, ServiceRegistration } from '../proto/control/index.ts';
import { targetKinds } from '../targets/index.ts';
import { AgentError } from './errors.ts';

export interface ServiceSpec {
  name: string;
  kind: ServiceKindName;
  /** host:port the router forwards to. */
  address: string;
  tls: 'terminate' | 'passthrough';
  /** Target options (config file only): see src/targets and docs/targets/. */
  target?: unknown;
}

const KINDS = new Set<string>(['kubernetes', 'clickhouse', 'prometheus', 'http', 'tcp']);
const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** "host:port" or "[v6]:port" → parts; throws AgentError on anything else. */
export function parseHostPort(
  s: string,
  what = 'address',
  allowZero = false,
): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(s);
  const port = m ? Number(m[3]) : NaN;
  if (!m || !(port >= (allowZero ? 0 : 1) && port <= 65535))
    throw new AgentError('AGENT_CONFIG', `${what} '${s}' is not HOST:PORT`);
  return { host: m[1] ?? m[2], port };
}

/** Kinds whose router side is a target proxy: never an unfiltered pipe (src/targets/registry.ts). */
export function hasTargetProxy(kind: string): boolean {
  return targetKinds().includes(kind);
}

/** True for a service whose bytes the router pipes unfiltered (only tcp/http, written explicitly). */
export function isPassthrough(s: Pick<ServiceSpec, 'tls'>): boolean {
  return s.tls === 'passthrough';
}

type Unchecked = Omit<ServiceSpec, 'tls'> & { tls: string | undefined };

function check(spec: Unchecked, where: string): ServiceSpec {
  if (!LABEL.test(spec.name))
    throw new AgentError('AGENT_CONFIG', `${where}: service name '${spec.name}' is not a DNS label`);
  if (!KINDS.has(spec.kind)) throw new AgentError('AGENT_CONFIG', `${where}: unknown kind '${spec.kind}'`);
  if (spec.tls !== undefined && spec.tls !== 'terminate' && spec.tls !== 'passthrough')
    throw new AgentError('AGENT_CONFIG', `${where}: tls must be terminate or passthrough`);
  parseHostPort(spec.address, `${where}: address`);
  const proxied = hasTargetProxy(spec.kind);
  if (spec.tls === undefined) {
    if (!proxied)
      throw new AgentError(
        'AGENT_CONFIG',
        `${where}: a ${spec.kind} service needs its tls mode written: write tls=passthrough to pipe ` +
          'bytes unfiltered, or tls=terminate to require the grant certificate at the router',
      );
    spec.tls = 'terminate';
  }
  return checkService(spec as ServiceSpec, where);
}

/** The fail-closed rule on one service (whatever built it): throws AGENT_CONFIG naming the fix. */
export function checkService(spec: ServiceSpec, where = `service '${spec.name}'`): ServiceSpec {
  if (hasTargetProxy(spec.kind) && spec.tls !== 'terminate')
    throw new AgentError(
      'AGENT_CONFIG',
      `${where}: a ${spec.kind} service always goes through its target, which needs tls=terminate; ` +
        `tls=${String(spec.tls)} would be an unfiltered pipe: drop tls=passthrough (the default is ` +
        'terminate), or use kind=tcp if you really want an unfiltered pipe',
    );
  if (spec.tls !== 'terminate' && spec.tls !== 'passthrough')
    throw new AgentError('AGENT_CONFIG', `${where}: tls must be terminate or passthrough`);
  return spec;
}

/** Checks every service a connector is given (Agent start): see checkService. */
export function checkServices(specs: readonly ServiceSpec[]): void {
  for (const s of specs) checkService(s);
}

/**
 * One `--serve` value. Default kind tcp. tls: kinds with a target proxy default to terminate and
 * refuse passthrough; tcp and http must write it (passthrough pipes bytes unfiltered).
 */
export function parseServe(v: string): ServiceSpec {
  const [first, ...opts] = v.split(',');
  const eq = first.indexOf('=');
  if (eq <= 0)
    throw new AgentError('AGENT_CONFIG', `--serve '${v}': want NAME=HOST:PORT[,kind=K][,tls=MODE]`);
  const spec: Unchecked = {
    name: first.slice(0, eq),
    address: first.slice(eq + 1),
    kind: 'tcp',
    tls: undefined,
  };
  for (const o of opts) {
    const [k, val] = o.split('=', 2);
    if (k === 'kind') spec.kind = val as ServiceKindName;
    else if (k === 'tls') spec.tls = val ?? '';
    else throw new AgentError('AGENT_CONFIG', `--serve '${v}': unknown option '${k}'`);
  }
  return check(spec, `--serve '${v}'`);
}

/** Services from a JSON config file (comments and trailing commas allowed). */
export function readConfigFile(path: string): ServiceSpec[] {
  let v: unknown;
  try {
    v = parseJsonc(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new AgentError('AGENT_CONFIG', `${path}: ${(e as Error).message}`, { cause: e });
  }
  const list = (v as { services?: unknown } | null)?.services;
  if (!Array.isArray(list)) throw new AgentError('AGENT_CONFIG', `${path}: want { "services": [...] }`);
  return list.map((s: unknown, i) => {
    const o = (s ?? {}) as Record<string, unknown>;
    const str = (k: string, d?: string): string => {
      const x = o[k] ?? d;
      if (typeof x !== 'string')
        throw new AgentError('AGENT_CONFIG', `${path}: services[${i}].${k} must be a string`);
      return x;
    };
    return check(
      {
        name: str('name'),
        address: str('address'),
        kind: str('kind', 'tcp') as ServiceKindName,
        tls: o.tls === undefined ? undefined : str('tls'),
        ...(o.target !== undefined ? { target: o.target } : {}),
      },
      `${path}: services[${i}]`,
    );
  });
}

export function registration(s: ServiceSpec): ServiceRegistration {
  return { name: s.name, kind: s.kind, address: s.address, tlsMode: s.tls };
}
