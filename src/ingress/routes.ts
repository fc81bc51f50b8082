// Where a connection goes, by the listener it came in on and the TLS server name it asked for:
//   --route NAME=HOST:PORT          every listener
//   --route PORT/NAME=HOST:PORT     only the listener on PORT
// NAME is a DNS name, a wildcard `*.example.com` (one label), or `*` (anything, and no SNI at all).
// An exact name beats a wildcard, a wildcard beats `*`; a listener-specific route beats a global one
// of the same kind. No route: the connection is refused.
import { isIP } from 'node:net';
import { IngressError } from './errors.ts';

export interface Route {
  /** Listener port, or undefined for every listener. */
  port: number | undefined;
  name: string;
  backend: { host: string; port: number };
  /** As written, for logs and status. */
  text: string;
}

const NAME =
  /^(\*|\*\.[a-z0-9-]+(\.[a-z0-9-]+)*|[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*)$/;

function hostPort(s: string, what: string, allowZero = false): { host: string; port: number } {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:\s]+):(\d{1,5})$/.exec(s);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port < (allowZero ? 0 : 1) || port > 65535)
    throw new IngressError('INGRESS_CONFIG', `${what}: want HOST:PORT, got '${s}'`);
  const host = m[1].replace(/^\[|\]$/g, '');
  if (m[1].startsWith('[') && isIP(host) !== 6)
    throw new IngressError('INGRESS_CONFIG', `${what}: '${m[1]}' is not an IPv6 address`);
  return { host, port };
}

export function parseRoute(spec: string): Route {
  const eq = spec.indexOf('=');
  if (eq < 0) throw new IngressError('INGRESS_CONFIG', `--route wants [PORT/]NAME=HOST:PORT, got '${spec}'`);
  let left = spec.slice(0, eq).toLowerCase();
  let port: number | undefined;
  const slash = left.indexOf('/');
  if (slash >= 0) {
    const p = left.slice(0, slash);
    port = Number(p);
    if (!/^\d{1,5}$/.test(p) || port < 1 || port > 65535)
      throw new IngressError('INGRESS_CONFIG', `--route '${spec}': '${p}' is not a listener port`);
    left = left.slice(slash + 1);
  }
  if (!NAME.test(left) || left.length > 253)
    throw new IngressError('INGRESS_CONFIG', `--route '${spec}': '${left}' is not a DNS name, *.domain or *`);
  return { port, name: left, backend: hostPort(spec.slice(eq + 1), `--route '${spec}'`), text: spec };
}

export class Routes {
  readonly #routes: Route[];

  constructor(routes: Route[]) {
    const seen = new Set<string>();
    for (const r of routes) {
      const k = `${r.port ?? ''}/${r.name}`;
      if (seen.has(k))
        throw new IngressError(
          'INGRESS_CONFIG',
          `two routes for ${r.port ? `port ${r.port}, ` : ''}${r.name}`,
        );
      seen.add(k);
    }
    if (routes.length === 0)
      throw new IngressError('INGRESS_CONFIG', 'no --route: the ingress would refuse every connection');
    this.#routes = routes;
  }

  all(): readonly Route[] {
    return this.#routes;
  }

  /** The route for a connection on `port` asking for `serverName` (undefined: no SNI). */
  find(port: number, serverName: string | undefined): Route | undefined {
    const rank = (r: Route): number => {
      if (r.port !== undefined && r.port !== port) return -1;
      const own = r.port !== undefined ? 1 : 0;
      if (r.name === '*') return 0 + own;
      if (serverName === undefined) return -1;
      if (r.name === serverName) return 4 + own;
      if (r.name.startsWith('*.')) {
        const suffix = r.name.slice(1);
        const rest = serverName.slice(0, -suffix.length);
        if (serverName.endsWith(suffix) && rest.length > 0 && !rest.includes('.')) return 2 + own;
      }
      return -1;
    };
    let best: Route | undefined;
    let bestRank = -1;
    for (const r of this.#routes) {
      const k = rank(r);
      if (k > bestRank) {
        best = r;
        bestRank = k;
      }
    }
    return best;
  }
}

export { hostPort as parseHostPort };
