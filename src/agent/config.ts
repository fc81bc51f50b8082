// Connector services from the command line (`--serve NAME=HOST:PORT[,kind=http][,tls=terminate]`)
// or a JSON config file: { "services": [{ "name", "address", "kind"?, "tls"?, "target"? }] }, where
// `target` holds the options of the service kind's target (src/targets, docs/targets/).
import { readFileSync } from 'node:fs';
import type { ServiceKindName, ServiceRegistration } from '../proto/control/index.ts';
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

function check(spec: ServiceSpec, where: string): ServiceSpec {
  if (!LABEL.test(spec.name))
    throw new AgentError('AGENT_CONFIG', `${where}: service name '${spec.name}' is not a DNS label`);
  if (!KINDS.has(spec.kind)) throw new AgentError('AGENT_CONFIG', `${where}: unknown kind '${spec.kind}'`);
  if (spec.tls !== 'terminate' && spec.tls !== 'passthrough')
    throw new AgentError('AGENT_CONFIG', `${where}: tls must be terminate or passthrough`);
  parseHostPort(spec.address, `${where}: address`);
  return spec;
}

/** One `--serve` value. Default kind tcp, default tls passthrough (bytes go through untouched). */
export function parseServe(v: string): ServiceSpec {
  const [first, ...opts] = v.split(',');
  const eq = first.indexOf('=');
  if (eq <= 0)
    throw new AgentError('AGENT_CONFIG', `--serve '${v}': want NAME=HOST:PORT[,kind=K][,tls=MODE]`);
  const spec: ServiceSpec = {
    name: first.slice(0, eq),
    address: first.slice(eq + 1),
    kind: 'tcp',
    tls: 'passthrough',
  };
  for (const o of opts) {
    const [k, val] = o.split('=', 2);
    if (k === 'kind') spec.kind = val as ServiceKindName;
    else if (k === 'tls') spec.tls = val as ServiceSpec['tls'];
    else throw new AgentError('AGENT_CONFIG', `--serve '${v}': unknown option '${k}'`);
  }
  return check(spec, `--serve '${v}'`);
}

/** Services from a JSON config file. */
export function readConfigFile(path: string): ServiceSpec[] {
  let v: unknown;
  try {
    v = JSON.parse(readFileSync(path, 'utf8'));
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
        tls: str('tls', 'passthrough') as ServiceSpec['tls'],
        ...(o.target !== undefined ? { target: o.target } : {}),
      },
      `${path}: services[${i}]`,
    );
  });
}

export function registration(s: ServiceSpec): ServiceRegistration {
  return { name: s.name, kind: s.kind, address: s.address, tlsMode: s.tls };
}
