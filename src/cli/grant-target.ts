// What a command that talks to a granted service needs from the running agent: the service's
// tailnet name in DEPLOYMENT (one of a kind, or the one named), the agent's SOCKS5 proxy, and the
// grant's client certificate (made by the agent, kept in STATE/certs/GRANT until near its end).
// Used by `sallyport clickhouse` and `sallyport connect --tunnel`.
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { ctlRequest, socketPath, type AgentStatus, type CtlRequest } from '../agent/index.ts';
import type { ClientCert } from '../lab/client.ts';
import { realClock } from '../clock/index.ts';
import { Failed, UsageError } from './kit/index.ts';

/** A certificate this close to its end is made again. */
const RENEW_BEFORE_MS = 60_000;

export interface GrantTarget {
  /** The service's tailnet name (the name its router's certificate carries). */
  name: string;
  service: string;
  kind: string;
  proxy: { host: string; port: number };
  cert: ClientCert;
  grant: string;
}

/**
 * The granted service of `deployment` (of `kind` when given; `service` picks one of several), with
 * the agent's proxy and the grant's certificate. Failed / UsageError say what to do instead.
 */
export async function grantTarget(
  deployment: string,
  service: string | undefined,
  state: string,
  kind?: string,
): Promise<GrantTarget> {
  const ask = async (req: CtlRequest) => {
    let r;
    try {
      r = await ctlRequest(socketPath(state), req);
    } catch (e) {
      throw new Failed(
        `${(e as Error).message}: is 'sallyport agent --state ${state} --socks5 127.0.0.1:1055' running?`,
      );
    }
    r.socket.destroy();
    if (!r.reply.ok) throw new Failed(`the agent refused: ${r.reply.code}: ${r.reply.message}`);
    return r.reply;
  };
  const st = (await ask({ cmd: 'status' })).status as AgentStatus;
  const what = kind ?? 'granted';
  const mine = st.services.filter(
    (s) => s.deployment === deployment && (!kind || s.kind === kind) && (!service || s.name === service),
  );
  if (mine.length === 0)
    throw new Failed(
      `no ${what} service of ${deployment}${service ? ` named ${service}` : ''} in this node's netmap: ` +
        `ask with 'sallyport request ${deployment} --service ${service ?? kind ?? 'NAME'} --reason "…" --for 1h --wait'`,
    );
  if (mine.length > 1)
    throw new UsageError(
      `${deployment} has ${mine.length} ${what} services in your grants: pick one with --service (${mine.map((s) => s.name).join(', ')})`,
    );
  const svc = mine[0];
  const grant = st.grants.find((g) => g.services.includes(svc.name));
  if (!grant) throw new Failed(`no grant in this node's netmap covers ${svc.name}`);
  if (!st.socks5) throw new Failed(`the agent runs no SOCKS5 proxy: start it with --socks5 127.0.0.1:1055`);
  const i = st.socks5.lastIndexOf(':');
  const proxy = { host: st.socks5.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(st.socks5.slice(i + 1)) };
  const dir = join(state, 'certs', grant.id);
  let cert = cached(dir);
  if (!cert) {
    const c = (await ask({ cmd: 'cert', grant: grant.id })).cert as {
      keyPem: string;
      chainPem: string;
      rootPem: string;
    };
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(join(dir, 'key.pem'), c.keyPem, { mode: 0o600 });
    chmodSync(join(dir, 'key.pem'), 0o600);
    writeFileSync(join(dir, 'cert.pem'), c.chainPem);
    writeFileSync(join(dir, 'ca.pem'), c.rootPem);
    cert = { keyPem: c.keyPem, certPem: c.chainPem, caPem: c.rootPem };
  }
  return { name: svc.tailnetName, service: svc.name, kind: svc.kind, proxy, cert, grant: grant.id };
}

/** The grant's certificate already on disk, when it is not near its end. */
function cached(dir: string): ClientCert | undefined {
  const files = ['key.pem', 'cert.pem', 'ca.pem'].map((f) => join(dir, f));
  if (!files.every((f) => existsSync(f))) return undefined;
  try {
    const [keyPem, certPem, caPem] = files.map((f) => readFileSync(f, 'utf8'));
    const end = Date.parse(new X509Certificate(certPem).validTo);
    if (!(end - realClock.wallMs() > RENEW_BEFORE_MS)) return undefined;
    return { keyPem, certPem, caPem };
  } catch {
    return undefined;
  }
}
