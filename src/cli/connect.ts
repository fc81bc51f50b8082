// `sallyport connect DEPLOYMENT/SERVICE --local HOST:PORT`: asks the running agent (through its
// control socket) for a local forward, which lives until this command stops; with --tunnel, this
// command itself listens and makes the TLS connection (the grant's certificate, the service's
// name) for each local connection, so local tools speak plain HTTP or TCP on loopback.
import { createServer, type Socket } from 'node:net';
import { ctlRequest, socketPath, type AgentStatus } from '../agent/index.ts';
import { socks5Connect, tlsOver } from '../lab/client.ts';
import { STATE_FLAG, stateDir, untilStopped } from './agent-common.ts';
import { grantTarget, type GrantTarget } from './grant-target.ts';
import {
  Failed,
  HELP_FLAG,
  UsageError,
  optionLines,
  processIo,
  runCommand,
  type FlagTable,
} from './kit/index.ts';

const FLAGS = {
  local: {
    type: 'string',
    value: 'HOST:PORT',
    help: 'where to listen, e.g. 127.0.0.1:8123 (port 0 picks one; it is printed)',
  },
  tunnel: {
    type: 'boolean',
    help: "TLS with the grant's certificate made here; local clients speak plain text",
  },
  ...STATE_FLAG,
  json: {
    type: 'boolean',
    help: 'print the forward as one JSON line {"local","service","name"} once it listens',
  },
  ...HELP_FLAG,
} as const satisfies FlagTable;

const WANT_REF =
  "want one DEPLOYMENT/SERVICE, e.g. acme-prod/web ('sallyport admin services list' shows them)";

export const help = `usage: sallyport connect DEPLOYMENT/SERVICE --local HOST:PORT [--tunnel] [--state DIR] [--json]

Forwards a local TCP address to a service through the running agent ('sallyport agent'): every
connection to --local becomes a stream to the service's connector, which checks the grant. The
forward lasts until this command is stopped (Ctrl-C).

The connector's router answers TLS under the service's tailnet name (it prints it), so a TLS client
of the plain forward must ask for that name — e.g. curl --connect-to NAME:443:HOST:PORT https://NAME/
with the grant's certificate — never -k. --tunnel does that for you: this command makes the TLS
connection for each local connection (checking the router's certificate for the service's name,
presenting the grant's client certificate, made by the agent), and local tools speak plain HTTP or
TCP to --local, e.g. curl http://127.0.0.1:8123/ or clickhouse-client. Plain text stays on this
machine: --tunnel listens only on a loopback address.

options:
${optionLines(FLAGS, 22)}
examples:
  sallyport connect acme-prod/clickhouse --local 127.0.0.1:8123 --tunnel
  sallyport connect acme-prod/web --local 127.0.0.1:0 --state ~/.sallyport-lab   (prints the port)

exit codes: 0 stopped, 1 the agent refused or is not running, 2 bad usage
`;

interface ConnectOptions {
  signal?: AbortSignal;
  onReady?(local: string): void;
}

const COMMAND = { name: 'connect', flags: FLAGS, help, positionals: { min: 1, max: 1, usage: WANT_REF } };

export function run(argv: string[], opts: ConnectOptions = {}): Promise<number> {
  return runCommand(COMMAND, argv, processIo, ({ values: a, positionals: [ref] }) => {
    if (!/^[^/]+\/[^/]+$/.test(ref)) throw new UsageError(WANT_REF);
    const local = a.local;
    if (!local) throw new UsageError('--local HOST:PORT is required, e.g. --local 127.0.0.1:8080');
    const state = stateDir(a.state);
    return a.tunnel ? tunnel(ref, local, state, !!a.json, opts) : forward(ref, local, state, !!a.json, opts);
  });
}

/** The agent forwards `local` to the service until this command stops. */
async function forward(
  ref: string,
  local: string,
  state: string,
  json: boolean,
  opts: ConnectOptions,
): Promise<number> {
  let r;
  try {
    r = await ctlRequest(socketPath(state), { cmd: 'forward', service: ref, local });
  } catch (e) {
    throw new Failed((e as Error).message, { cause: e });
  }
  if (!r.reply.ok) {
    r.socket.destroy();
    throw new Failed(
      `${r.reply.message} (${r.reply.code})\n` +
        "  'sallyport status' shows what the agent sees; 'sallyport grants --status active' your grants",
    );
  }
  const bound = String(r.reply.local);
  const name = await tailnetName(state, ref);
  processIo.stdout(
    json
      ? JSON.stringify({ local: bound, service: ref, name: name ?? null }) + '\n'
      : `forwarding ${bound} -> ${ref} (Ctrl-C to stop)\n` +
          (name
            ? `  TLS clients: ask for ${name} (curl --connect-to ${name}:443:${bound} https://${name}/ with the grant's certificate), or use --tunnel\n`
            : ''),
  );
  opts.onReady?.(bound);
  let lost = false;
  const socket = r.socket;
  await untilStopped(opts.signal, (stop) =>
    socket.once('close', () => {
      lost = true;
      stop();
    }),
  );
  socket.destroy();
  if (lost) throw new Failed("the agent went away: is 'sallyport agent' still running?");
  return 0;
}

/** The service's tailnet name from the agent's netmap, if it has it. */
async function tailnetName(state: string, ref: string): Promise<string | undefined> {
  const [deployment, service] = ref.split('/');
  try {
    const { reply, socket } = await ctlRequest(socketPath(state), { cmd: 'status' });
    socket.destroy();
    if (!reply.ok) return undefined;
    return (reply.status as AgentStatus).services.find(
      (s) => s.deployment === deployment && s.name === service,
    )?.tailnetName;
  } catch {
    return undefined;
  }
}

const LOOPBACK = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|\[::1\]|localhost):(\d{1,5})$/;

/** --tunnel: listen on loopback; each connection → SOCKS5 → TLS (grant certificate, service name). */
async function tunnel(
  ref: string,
  local: string,
  state: string,
  json: boolean,
  opts: ConnectOptions,
): Promise<number> {
  const m = LOOPBACK.exec(local);
  if (!m)
    throw new UsageError(
      `--tunnel listens only on a loopback address (plain text stays on this machine), got '${local}': use e.g. 127.0.0.1:8123`,
    );
  const [deployment, service] = ref.split('/');
  let t: GrantTarget;
  try {
    t = await grantTarget(deployment, service, state);
  } catch (e) {
    // Here there is no --service to pick one of several with: a refusal like any other.
    if (e instanceof UsageError) throw new Failed(e.message, { cause: e });
    throw e;
  }
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.pause();
    const signal = AbortSignal.timeout(15_000);
    void (async () => {
      try {
        const raw = await socks5Connect(t.proxy, t.name, 443, signal);
        const tls = await tlsOver(raw, t.name, t.cert);
        sockets.add(tls);
        tls.on('close', () => sockets.delete(tls));
        client.pipe(tls).pipe(client);
        client.resume();
        const end = () => {
          client.destroy();
          tls.destroy();
        };
        client.on('error', end);
        tls.on('error', end);
        client.on('close', end);
        tls.on('close', end);
      } catch (e) {
        processIo.stderr(`sallyport connect: ${t.name}: ${(e as Error).message}\n`);
        client.destroy();
      }
    })();
  });
  const host = m[1].replace(/^\[|\]$/g, '');
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(Number(m[2]), host, () => resolve());
    });
  } catch (e) {
    throw new Failed(`cannot listen on ${local}: ${(e as Error).message}`, { cause: e });
  }
  const a = server.address() as { address: string; port: number };
  const where = `${a.address.includes(':') ? `[${a.address}]` : a.address}:${a.port}`;
  processIo.stdout(
    json
      ? JSON.stringify({ local: where, service: ref, name: t.name, tunnel: true }) + '\n'
      : `tunnel ${where} -> ${ref} (TLS to ${t.name} with grant ${t.grant}'s certificate; Ctrl-C to stop)\n` +
          `  plain clients: e.g. curl http://${where}/\n`,
  );
  opts.onReady?.(where);
  await untilStopped(opts.signal);
  server.close();
  for (const s of sockets) s.destroy();
  return 0;
}
