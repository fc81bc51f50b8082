// `sallyport mgmt kubectl DEPLOYMENT -- ARGS`: the vendor's management client for a deployment's
// Kubernetes API, on the path the deployment's management mode allows (cli/mgmt-path.ts): asks the
// coordinator for the mode, probes the overlay end to end (a SOCKS5 stream through the running
// agent to the service's tailnet name), and runs real kubectl with the matching kubeconfig.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { parseArgs } from 'node:util';
import { ctlRequest, socketPath, type AgentStatus } from '../agent/index.ts';
import { socks5Connect } from '../lab/client.ts';
import { stateDir } from './agent-common.ts';
import { CONNECTION_OPTIONS, apiClientFrom } from './api-connection.ts';
import { EXIT, apiFailure } from './exit.ts';
import { decidePath, type ManagementMode, type OverlayProbe } from './mgmt-path.ts';

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
  --service S               the deployment's Kubernetes service (default k8s)
  --reason TEXT             why the public endpoint is used (break-glass; 10+ characters)
  --overlay-kubeconfig FILE kubeconfig through the overlay (default STATE/kube/DEPLOYMENT-S.yaml,
                            as 'sallyport kubeconfig' writes it)
  --public-kubeconfig FILE  credentials for the public endpoint (env SALLYPORT_PUBLIC_KUBECONFIG);
                            its server is replaced by the one the coordinator gives
  --probe-timeout MS        the overlay probe's limit (default 5000)
  --state DIR               the agent's state directory (env SALLYPORT_STATE; default ~/.sallyport)
  --server URL, --token TOKEN, --ca FILE, --fingerprint HEX   the coordinator (as for 'sallyport admin')

example:
  sallyport mgmt kubectl acme-prod -- get pods -n clickhouse

exit codes: kubectl's own once it ran; 1 refused (private and the overlay is down, the break-glass
  could not be recorded, no kubeconfig), 2 bad usage (e.g. a break-glass without --reason),
  3 coordinator unreachable, 4 token rejected
`;

const OPTIONS = {
  ...CONNECTION_OPTIONS,
  service: { type: 'string' },
  reason: { type: 'string' },
  'overlay-kubeconfig': { type: 'string' },
  'public-kubeconfig': { type: 'string' },
  'probe-timeout': { type: 'string' },
  state: { type: 'string' },
  help: { type: 'boolean' },
} as const;

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
      process.stderr.write(`sallyport mgmt: cannot run kubectl: ${e.message}\n`);
      resolve(EXIT.FAILED);
    });
    p.on('exit', (code) => resolve(code ?? EXIT.FAILED));
  });
}

export async function run(argv: string[]): Promise<number> {
  const dash = argv.indexOf('--');
  const own = dash < 0 ? argv : argv.slice(0, dash);
  const kubectlArgs = dash < 0 ? [] : argv.slice(dash + 1);
  let a;
  let positionals: string[];
  try {
    const p = parseArgs({ args: own, options: OPTIONS, strict: true, allowPositionals: true });
    a = p.values;
    positionals = p.positionals;
  } catch (e) {
    process.stderr.write(`sallyport mgmt: ${(e as Error).message}\n\n${help}`);
    return EXIT.USAGE;
  }
  if (a.help) {
    process.stdout.write(help);
    return EXIT.OK;
  }
  const usage = (m: string): number => {
    process.stderr.write(`sallyport mgmt: ${m}\n(see sallyport mgmt --help)\n`);
    return EXIT.USAGE;
  };
  if (positionals[0] !== 'kubectl' || positionals.length !== 2)
    return usage('want: sallyport mgmt kubectl DEPLOYMENT -- KUBECTL-ARGS...');
  if (kubectlArgs.length === 0) return usage('give kubectl its arguments after --');
  const deployment = positionals[1];
  const service = a.service ?? 'k8s';
  const timeout = Number(a['probe-timeout'] ?? 5000);
  if (!Number.isInteger(timeout) || timeout < 100 || timeout > 60_000)
    return usage(`--probe-timeout takes 100..60000, got '${a['probe-timeout']}'`);
  const api = apiClientFrom(a, process.env);
  if (typeof api === 'string') return usage(api);
  const state = stateDir(a.state);
  const fail = (m: string, code: number = EXIT.FAILED): number => {
    process.stderr.write(`sallyport mgmt: ${m}\n`);
    return code;
  };
  let m: { mode: ManagementMode; publicServer: string | null };
  try {
    m = await api.call('GET', `/api/v1/deployments/${encodeURIComponent(deployment)}/management`);
  } catch (e) {
    const f = apiFailure(e, a.server ?? process.env.SALLYPORT_SERVER);
    if (!f) throw e;
    return fail(f.message, f.code);
  }
  const probe = m.mode === 'public' ? undefined : await probeOverlay(state, deployment, service, timeout);
  const d = decidePath(deployment, m.mode, probe, a.reason);
  if (d.use === 'refuse') return fail(d.message, d.exit);
  if (d.use === 'overlay') {
    const kc = a['overlay-kubeconfig'] ?? join(state, 'kube', `${deployment}-${service}.yaml`);
    if (!existsSync(kc))
      return fail(
        `no kubeconfig through the overlay at ${kc}: write it with 'sallyport kubeconfig ${deployment} --service ${service}'`,
      );
    process.stderr.write(`sallyport mgmt: ${deployment} through the overlay\n`);
    return runKubectl(['--kubeconfig', kc, ...kubectlArgs]);
  }
  const pub = a['public-kubeconfig'] ?? process.env.SALLYPORT_PUBLIC_KUBECONFIG;
  if (!pub || !existsSync(pub))
    return fail(
      `the public endpoint needs credentials: --public-kubeconfig FILE (${pub ? `${pub} does not exist` : 'none given'})`,
    );
  let server = m.publicServer;
  if (d.use === 'break-glass') {
    try {
      const r = await api.call<{ publicServer: string; at: number }>(
        'POST',
        `/api/v1/deployments/${encodeURIComponent(deployment)}/break-glass`,
        { reason: d.reason, service, overlay: d.overlay },
      );
      server = r.publicServer;
      process.stderr.write(
        `sallyport mgmt: BREAK-GLASS recorded at ${new Date(r.at).toISOString()} (the customer is notified): ${deployment} through its PUBLIC endpoint ${server}\n`,
      );
    } catch (e) {
      return fail(
        `the break-glass could not be recorded (${(e as Error).message}): the public endpoint is not used`,
      );
    }
  } else process.stderr.write(`sallyport mgmt: ${deployment} through its public endpoint ${server}\n`);
  if (!server) return fail(`${deployment} has no public endpoint set`);
  return runKubectl(['--kubeconfig', pub, '--server', server, ...kubectlArgs]);
}
