// `sallyport mgmt kubectl DEPLOYMENT -- ARGS`: the vendor's management client for a deployment's
// Kubernetes API, on the path the deployment's management mode allows (cli/mgmt-path.ts): asks the
// coordinator for the mode, probes the overlay end to end (a SOCKS5 stream through the running
// agent to the service's tailnet name), and runs real kubectl with the matching kubeconfig.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { ctlRequest, socketPath, type AgentStatus } from '../agent/index.ts';
import type { ApiClient } from '../control/api-client.ts';
import { routes } from '../control/routes/index.ts';
import { socks5Connect } from '../lab/client.ts';
import { STATE_FLAG, stateDir } from './agent-common.ts';
import { CONNECTION_FLAGS, requireApiClient } from './api-connection.ts';
import { EXIT, apiErrors } from './exit.ts';
import {
  CliError,
  Failed,
  UsageError,
  optionLines,
  processIo,
  runCommand,
  type FlagTable,
} from './kit/index.ts';
import { decidePath, type OverlayProbe } from './mgmt-path.ts';

const FLAGS = {
  service: { type: 'string', value: 'S', help: "the deployment's Kubernetes service (default k8s)" },
  reason: {
    type: 'string',
    value: 'TEXT',
    help: 'why the public endpoint is used (break-glass; 10+ characters)',
  },
  'overlay-kubeconfig': {
    type: 'string',
    value: 'FILE',
    help: "kubeconfig through the overlay (default STATE/kube/DEPLOYMENT-S.yaml,\nas 'sallyport kubeconfig' writes it)",
  },
  'public-kubeconfig': {
    type: 'string',
    value: 'FILE',
    env: 'SALLYPORT_PUBLIC_KUBECONFIG',
    help: 'credentials for the public endpoint (env SALLYPORT_PUBLIC_KUBECONFIG);\nits server is replaced by the one the coordinator gives',
  },
  'probe-timeout': {
    type: 'number',
    value: 'MS',
    default: 5000,
    min: 100,
    max: 60_000,
    help: "the overlay probe's limit (default 5000)",
  },
  ...STATE_FLAG,
  ...CONNECTION_FLAGS,
} as const satisfies FlagTable;

const WANT = 'want: sallyport mgmt kubectl DEPLOYMENT -- KUBECTL-ARGS...';

export const help = `usage: sallyport mgmt kubectl DEPLOYMENT [--service S] [--reason TEXT]
                            [--overlay-kubeconfig FILE] [--public-kubeconfig FILE]
                            [--probe-timeout MS] [--state DIR] -- KUBECTL-ARGS...

Runs kubectl against DEPLOYMENT's Kubernetes API on the path its management mode allows (set by
the vendor's administrator with 'sallyport admin deployments management'):
  private                       through the overlay only; when the overlay is down, nothing is
                                sent anywhere and the command fails (exit 1)
  public                        the API server's public endpoint (allow-listed to the vendor's
                                egress addresses), with --public-kubeconfig
  private-with-public-fallback  through the overlay; while it is down, the public endpoint, as a
                                break-glass: --reason is required, the use is recorded in the
                                vendor's audit and sent to the customer's webhook BEFORE kubectl
                                runs, and kubectl is pointed at the endpoint the coordinator gave
The overlay is probed end to end: a stream through the running agent's SOCKS5 proxy to the
service's tailnet name must open within --probe-timeout.

options:
${optionLines(FLAGS, 28, [
  ...(['service', 'reason', 'overlay-kubeconfig', 'public-kubeconfig', 'probe-timeout', 'state'] as const),
  {
    group: ['server', 'token', 'ca', 'fingerprint'],
    help: "the coordinator (as for 'sallyport admin')",
    gap: 3,
  },
])}
example:
  sallyport mgmt kubectl acme-prod -- get pods -n clickhouse

exit codes: kubectl's own once it ran; 1 refused (private and the overlay is down, the break-glass
  could not be recorded, no kubeconfig), 2 bad usage (e.g. a break-glass without --reason),
  3 coordinator unreachable, 4 token rejected
`;

/** A stream through the agent to the service's tailnet name, within `ms`. */
async function probeOverlay(
  state: string,
  deployment: string,
  service: string,
  ms: number,
): Promise<OverlayProbe> {
  let st: AgentStatus;
  try {
    const { reply, socket } = await ctlRequest(socketPath(state), { cmd: 'status' });
    socket.destroy();
    if (!reply.ok) return { up: false, why: `the agent answered ${reply.code}` };
    st = reply.status as AgentStatus;
  } catch (e) {
    return { up: false, why: (e as Error).message };
  }
  const svc = st.services.find((s) => s.deployment === deployment && s.name === service);
  if (!svc)
    return {
      up: false,
      why: `no ${service} of ${deployment} in this agent's netmap (no grant, or no connector)`,
    };
  if (!st.socks5) return { up: false, why: 'the agent runs no SOCKS5 proxy (--socks5)' };
  const i = st.socks5.lastIndexOf(':');
  const proxy = { host: st.socks5.slice(0, i), port: Number(st.socks5.slice(i + 1)) };
  // The SOCKS5 reply comes as soon as the local agent opened a stream; only an answer from the far
  // end shows the overlay works: a TLS handshake with whatever serves the name (the connector's
  // router, or the API server behind a passthrough service) must complete. Nothing is verified or
  // sent beyond the handshake: kubectl does that on its own connection.
  const signal = AbortSignal.timeout(ms);
  try {
    const raw = await socks5Connect(proxy, svc.tailnetName, 443, signal);
    await new Promise<void>((resolve, reject) => {
      const t = tlsConnect({ socket: raw, servername: svc.tailnetName, rejectUnauthorized: false });
      const onAbort = (): void => {
        t.destroy();
        reject(new Error('aborted'));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      t.once('secureConnect', () => {
        signal.removeEventListener('abort', onAbort);
        t.destroy();
        resolve();
      });
      t.once('error', (e) => {
        signal.removeEventListener('abort', onAbort);
        t.destroy();
        reject(e);
      });
    });
    return { up: true };
  } catch (e) {
    const m = (e as Error).message;
    return {
      up: false,
      why: /abort/.test(m)
        ? `no TLS answer from ${svc.tailnetName} through the overlay within ${ms} ms`
        : `${svc.tailnetName} through the overlay: ${m}`,
    };
  }
}

function runKubectl(args: string[]): Promise<number> {
  return new Promise((resolve) => {
    const p = spawn('kubectl', args, { stdio: 'inherit' });
    p.on('error', (e) => {
      processIo.stderr(`sallyport mgmt: cannot run kubectl: ${e.message}\n`);
      resolve(EXIT.FAILED);
    });
    p.on('exit', (code) => resolve(code ?? EXIT.FAILED));
  });
}

const COMMAND = {
  name: 'mgmt',
  flags: FLAGS,
  help,
  positionals: { min: 2, max: 2, usage: WANT },
  passThrough: true,
};

export function run(argv: string[]): Promise<number> {
  return runCommand(
    COMMAND,
    argv,
    processIo,
    async ({ values: a, positionals: [tool, deployment], rest: kubectlArgs }) => {
      if (tool !== 'kubectl') throw new UsageError(WANT);
      if (kubectlArgs.length === 0) throw new UsageError('give kubectl its arguments after --');
      const service = a.service ?? 'k8s';
      const api = requireApiClient(a, processIo.env);
      const state = stateDir(a.state);
      const m = await api.route(routes.managementGet, { params: { name: deployment } });
      const probe =
        m.mode === 'public' ? undefined : await probeOverlay(state, deployment, service, a['probe-timeout']);
      const d = decidePath(deployment, m.mode, probe, a.reason);
      if (d.use === 'refuse') throw new CliError('REFUSED', d.message, d.exit);
      if (d.use === 'overlay') {
        const kc = a['overlay-kubeconfig'] ?? join(state, 'kube', `${deployment}-${service}.yaml`);
        if (!existsSync(kc))
          throw new Failed(
            `no kubeconfig through the overlay at ${kc}: write it with 'sallyport kubeconfig ${deployment} --service ${service}'`,
          );
        processIo.stderr(`sallyport mgmt: ${deployment} through the overlay\n`);
        return runKubectl(['--kubeconfig', kc, ...kubectlArgs]);
      }
      const pub = a['public-kubeconfig'];
      if (!pub || !existsSync(pub))
        throw new Failed(
          `the public endpoint needs credentials: --public-kubeconfig FILE (${pub ? `${pub} does not exist` : 'none given'})`,
        );
      const server =
        d.use === 'break-glass'
          ? await breakGlass(api, deployment, { reason: d.reason, service, overlay: d.overlay })
          : m.publicServer;
      if (d.use !== 'break-glass')
        processIo.stderr(`sallyport mgmt: ${deployment} through its public endpoint ${server}\n`);
      if (!server) throw new Failed(`${deployment} has no public endpoint set`);
      return runKubectl(['--kubeconfig', pub, '--server', server, ...kubectlArgs]);
    },
    ({ values: a }) => apiErrors(a.server),
  );
}

/** Records the break-glass (the vendor's audit, the customer's webhook); the public server to use. */
async function breakGlass(
  api: ApiClient,
  deployment: string,
  body: { reason: string; service: string; overlay: string },
): Promise<string> {
  try {
    const r = await api.route(routes.breakGlass, { params: { name: deployment }, body });
    processIo.stderr(
      `sallyport mgmt: BREAK-GLASS recorded at ${new Date(r.at).toISOString()} (the customer is notified): ${deployment} through its PUBLIC endpoint ${r.publicServer}\n`,
    );
    return r.publicServer;
  } catch (e) {
    throw new Failed(
      `the break-glass could not be recorded (${(e as Error).message}): the public endpoint is not used`,
      { cause: e },
    );
  }
}
