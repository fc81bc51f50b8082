// `sallyport kubeconfig DEPLOYMENT`: a kubeconfig for real kubectl through the overlay. kubectl
// speaks TLS to the service's tailnet name through the local agent's SOCKS5 proxy (proxy-url),
// verifies the router with the coordinator's root, and presents the grant's client certificate
// (written by `sallyport cert --out DIR`: DIR/cert.pem, DIR/key.pem, DIR/ca.pem). The kubeconfig
// refers to the key file instead of copying it (I9: one copy of the key, 0600).
//
//   server                      https://<service>.<deployment>.<region>.<cloud>.<suffix>
//   certificate-authority-data  the coordinator's root (DIR/ca.pem, else GET /api/v1/info)
//   client-certificate / -key   DIR/cert.pem, DIR/key.pem
//   proxy-url                   socks5://HOST:PORT (--socks, else the running agent's)
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync, chmodSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { ctlRequest, socketPath } from '../agent/index.ts';
import type { ApiClient } from '../control/api-client.ts';
import { routes } from '../control/routes/index.ts';
import { STATE_FLAG, stateDir } from './agent-common.ts';
import { CONNECTION_FLAGS, apiClientFrom } from './api-connection.ts';
import { EXIT, apiFailure } from './exit.ts';
import {
  CliError,
  Failed,
  UsageError,
  optionLines,
  processIo,
  runCommand,
  type CommandIo,
  type FlagTable,
  type FlagValues,
} from './kit/index.ts';

const FLAGS = {
  service: { type: 'string', value: 'S', help: 'the Kubernetes service of the deployment (default k8s)' },
  out: {
    type: 'string',
    value: 'FILE',
    help: "where to write (default STATE/kube/DEPLOYMENT-S.yaml); '-' prints it",
  },
  cert: {
    type: 'string',
    value: 'DIR',
    help: 'the grant certificate directory (default: the only one under STATE/certs)',
  },
  socks: {
    type: 'string',
    value: 'HOST:PORT',
    help: "the agent's SOCKS5 proxy (default: asked from the running agent)",
  },
  name: {
    type: 'string',
    value: 'HOST',
    help: "the service's tailnet name (default: from the running agent's netmap, else the coordinator)",
  },
  namespace: { type: 'string', value: 'NS', help: "the context's default namespace" },
  ...STATE_FLAG,
  ...CONNECTION_FLAGS,
} as const satisfies FlagTable;

type Values = FlagValues<typeof FLAGS>;

export const help = `usage: sallyport kubeconfig DEPLOYMENT [--service S] [--out FILE] [--cert DIR]
                            [--socks HOST:PORT] [--name HOST] [--namespace NS] [--state DIR]

Writes a kubeconfig for kubectl through sallyport: the cluster is the service's tailnet name,
reached through your agent's SOCKS5 proxy; kubectl presents your grant's client certificate
(fetch it first with 'sallyport cert --out DIR') and trusts the coordinator's root. The connector
forwards as you (Kubernetes impersonation) with read-only rights; secrets, exec, attach and
port-forward are refused.

options:
${optionLines(FLAGS, 21, [
  ...(['service', 'out', 'cert', 'socks', 'name', 'namespace', 'state'] as const),
  {
    group: ['server', 'token', 'ca', 'fingerprint'],
    help: "the coordinator (as for 'sallyport admin')",
    gap: 3,
  },
])}
example:
  sallyport request acme-prod --service k8s --reason "INC-4711" --for 1h   (then approved)
  sallyport cert --out ~/.sallyport/certs/acme
  sallyport kubeconfig acme-prod --cert ~/.sallyport/certs/acme --socks 127.0.0.1:1055
  KUBECONFIG=~/.sallyport/kube/acme-prod-k8s.yaml kubectl get pods

exit codes: 0 written, 1 refused or failed (no agent, no certificate), 2 bad usage,
  3 coordinator unreachable, 4 token rejected
`;

export interface KubeconfigInput {
  /** Cluster, user and context name. */
  name: string;
  /** https://HOST[:PORT] */
  server: string;
  caPem: string;
  certFile: string;
  keyFile: string;
  /** socks5://HOST:PORT, or none for a direct connection. */
  proxyUrl?: string;
  /** TLS name to verify when it differs from the server's host. */
  tlsServerName?: string;
  namespace?: string;
}

/** YAML scalar: always double-quoted JSON strings (valid YAML, no surprises). */
const q = (s: string): string => JSON.stringify(s);

/** The kubeconfig text (YAML), pure. */
export function buildKubeconfig(k: KubeconfigInput): string {
  const ca = Buffer.from(k.caPem, 'utf8').toString('base64');
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    `- name: ${q(k.name)}`,
    '  cluster:',
    `    server: ${q(k.server)}`,
    `    certificate-authority-data: ${q(ca)}`,
    ...(k.proxyUrl ? [`    proxy-url: ${q(k.proxyUrl)}`] : []),
    ...(k.tlsServerName ? [`    tls-server-name: ${q(k.tlsServerName)}`] : []),
    'users:',
    `- name: ${q(k.name)}`,
    '  user:',
    `    client-certificate: ${q(k.certFile)}`,
    `    client-key: ${q(k.keyFile)}`,
    'contexts:',
    `- name: ${q(k.name)}`,
    '  context:',
    `    cluster: ${q(k.name)}`,
    `    user: ${q(k.name)}`,
    ...(k.namespace ? [`    namespace: ${q(k.namespace)}`] : []),
    `current-context: ${q(k.name)}`,
    '',
  ].join('\n');
}

export type KubeconfigIo = CommandIo;

const HOSTPORT = /^(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/;
const DNS = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

function certDir(flag: string | undefined, state: string): string {
  if (flag) return resolve(flag);
  const base = join(state, 'certs');
  const dirs = existsSync(base)
    ? readdirSync(base).filter(
        (d) => existsSync(join(base, d, 'cert.pem')) && existsSync(join(base, d, 'key.pem')),
      )
    : [];
  if (dirs.length !== 1)
    throw new UsageError(
      dirs.length === 0
        ? `no grant certificate under ${base}: run 'sallyport cert' first, or pass --cert DIR`
        : `several grant certificates under ${base} (${dirs.join(', ')}): pass --cert DIR`,
    );
  return join(base, dirs[0]);
}

/** The service's tailnet name from the running agent's netmap, when it has one (no API needed). */
async function agentTailnetName(
  state: string,
  deployment: string,
  service: string,
): Promise<string | undefined> {
  try {
    const r = await ctlRequest(socketPath(state), { cmd: 'status' });
    r.socket.destroy();
    if (!r.reply.ok) return undefined;
    const st = r.reply.status as { services?: { name: string; deployment: string; tailnetName: string }[] };
    return st.services?.find((x) => x.deployment === deployment && x.name === service)?.tailnetName;
  } catch {
    return undefined;
  }
}

async function agentSocks(state: string): Promise<string> {
  let r;
  try {
    r = await ctlRequest(socketPath(state), { cmd: 'status' });
  } catch (e) {
    throw new Failed(`${(e as Error).message}; or pass --socks HOST:PORT`);
  }
  r.socket.destroy();
  const socks = r.reply.ok ? (r.reply.status as { socks5: string | null }).socks5 : null;
  if (!socks)
    throw new Failed(
      'the running agent has no SOCKS5 proxy: start it with --socks5 HOST:PORT, or pass --socks',
    );
  return socks;
}

const COMMAND = {
  name: 'kubeconfig',
  flags: FLAGS,
  help,
  positionals: { min: 1, max: 1, usage: 'give exactly one DEPLOYMENT' },
};

export function run(argv: string[], io: KubeconfigIo = processIo): Promise<number> {
  return runCommand(COMMAND, argv, io, async ({ values: o, positionals: [deployment] }) => {
    const service = o.service ?? 'k8s';
    if (o.socks !== undefined && !HOSTPORT.test(o.socks))
      throw new UsageError(`--socks '${o.socks}' is not HOST:PORT`);
    if (o.name !== undefined && !DNS.test(o.name.toLowerCase()))
      throw new UsageError(`--name '${o.name}' is not a DNS name`);
    const state = stateDir(o.state);
    const dir = certDir(o.cert, state);
    const certFile = join(dir, 'cert.pem');
    const keyFile = join(dir, 'key.pem');
    for (const f of [certFile, keyFile])
      if (!existsSync(f)) throw new UsageError(`${f} is missing: run 'sallyport cert --out ${dir}'`);
    // The coordinator is asked only for what is not on disk or on the command line.
    const caFile = join(dir, 'ca.pem');
    const known = {
      caPem: existsSync(caFile) ? readFileSync(caFile, 'utf8') : undefined,
      name: o.name?.toLowerCase() ?? (await agentTailnetName(state, deployment, service)),
    };
    const { caPem, name } =
      known.caPem && known.name
        ? { caPem: known.caPem, name: known.name }
        : await fromCoordinator(o, io, deployment, service, known);
    const proxy = o.socks ?? (await agentSocks(state));
    const text = buildKubeconfig({
      name: `sallyport-${deployment}-${service}`,
      server: `https://${name}`,
      caPem,
      certFile,
      keyFile,
      proxyUrl: `socks5://${proxy}`,
      ...(o.namespace ? { namespace: o.namespace } : {}),
    });
    if (o.out === '-') {
      io.stdout(text);
      return EXIT.OK;
    }
    const out = resolve(o.out ?? join(state, 'kube', `${deployment}-${service}.yaml`));
    mkdirSync(dirname(out), { recursive: true, mode: 0o700 });
    writeFileSync(out, text, { mode: 0o600 });
    chmodSync(out, 0o600);
    io.stdout(
      `kubeconfig for ${name} via socks5://${proxy} written to ${out}\n  KUBECONFIG=${out} kubectl get pods\n`,
    );
    return EXIT.OK;
  });
}

/** The coordinator's root and the service's tailnet name, for what `known` lacks. */
async function fromCoordinator(
  o: Values,
  io: KubeconfigIo,
  deployment: string,
  service: string,
  known: { caPem?: string; name?: string },
): Promise<{ caPem: string; name: string }> {
  let { caPem, name } = known;
  const api: ApiClient | string = apiClientFrom(o, io.env);
  if (typeof api === 'string')
    throw new UsageError(
      `${api} (needed for ${!caPem ? 'the coordinator root' : 'the tailnet name'}; or pass --name)`,
    );
  try {
    if (!caPem) caPem = (await api.route(routes.info)).rootCaPem;
    if (!name) {
      const svcs = await api.route(routes.servicesList, { query: { deployment } });
      const s = svcs.find((x) => x.name === service);
      if (!s) throw new Failed(`deployment ${deployment} has no service ${service}`);
      name = s.tailnetName;
    }
    return { caPem, name };
  } catch (e) {
    const f = apiFailure(e, o.server);
    if (!f) throw e;
    const hint = name
      ? ''
      : `\nthe tailnet name can also be given: --name ${service}.${deployment}.REGION.CLOUD.SUFFIX`;
    throw new CliError((e as { code: string }).code, `${f.message}${hint}`, f.code, { cause: e });
  }
}
