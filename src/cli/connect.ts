// `sallyport connect DEPLOYMENT/SERVICE --local HOST:PORT`: asks the running agent (through its
// control socket) for a local forward, which lives until this command stops; with --tunnel, this
// command itself listens and makes the TLS connection (the grant's certificate, the service's
// name) for each local connection, so local tools speak plain HTTP or TCP on loopback.
import { createServer, type Socket } from 'node:net';
import { parseArgs } from 'node:util';
import { ctlRequest, socketPath, type AgentStatus } from '../agent/index.ts';
import { socks5Connect, tlsOver } from '../lab/client.ts';
import { stateDir, untilStopped } from './agent-common.ts';
import { grantTarget, type GrantTarget } from './grant-target.ts';
import { Failed, UsageError } from './io.ts';

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
  --local HOST:PORT   where to listen, e.g. 127.0.0.1:8123 (port 0 picks one; it is printed)
  --tunnel            TLS with the grant's certificate made here; local clients speak plain text
  --state DIR         the agent's state directory (env SALLYPORT_STATE; default ~/.sallyport)
  --json              print the forward as one JSON line {"local","service","name"} once it listens
  --help              this text

examples:
  sallyport connect acme-prod/clickhouse --local 127.0.0.1:8123 --tunnel
  sallyport connect acme-prod/web --local 127.0.0.1:0 --state ~/.sallyport-lab   (prints the port)

exit codes: 0 stopped, 1 the agent refused or is not running, 2 bad usage
`;

export async function run(
  argv: string[],
  opts: { signal?: AbortSignal; onReady?(local: string): void } = {},
): Promise<number> {
  let p;
  try {
    p = parseArgs({
      args: argv,
      options: {
        local: { type: 'string' },
        tunnel: { type: 'boolean' },
        state: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean' },
      },
      strict: true,
      allowPositionals: true,
    });
  } catch (e) {
    process.stderr.write(`sallyport connect: ${(e as Error).message}\n\n${help}`);
    return 2;
  }
  if (p.values.help) {
    process.stdout.write(help);
    return 0;
  }
  const ref = p.positionals[0];
  if (!ref || !/^[^/]+\/[^/]+$/.test(ref) || p.positionals.length > 1)
    return (
      process.stderr.write(
        "sallyport connect: want one DEPLOYMENT/SERVICE, e.g. acme-prod/web ('sallyport admin services list' shows them)\n",
      ),
      2
    );
  if (!p.values.local)
    return (
      process.stderr.write('sallyport connect: --local HOST:PORT is required, e.g. --local 127.0.0.1:8080\n'),
      2
    );
  if (p.values.tunnel) return tunnel(ref, p.values.local, stateDir(p.values.state), !!p.values.json, opts);
  let r;
  try {
    r = await ctlRequest(socketPath(stateDir(p.values.state)), {
      cmd: 'forward',
      service: ref,
      local: p.values.local,
    });
  } catch (e) {
    process.stderr.write(`sallyport connect: ${(e as Error).message}\n`);
    return 1;
  }
  if (!r.reply.ok) {
    r.socket.destroy();
    process.stderr.write(
      `sallyport connect: ${r.reply.message} (${r.reply.code})\n` +
        "  'sallyport status' shows what the agent sees; 'sallyport grants --status active' your grants\n",
    );
    return 1;
  }
  const local = String(r.reply.local);
  const name = await tailnetName(stateDir(p.values.state), ref);
  process.stdout.write(
    p.values.json
      ? JSON.stringify({ local, service: ref, name: name ?? null }) + '\n'
      : `forwarding ${local} -> ${ref} (Ctrl-C to stop)\n` +
          (name
            ? `  TLS clients: ask for ${name} (curl --connect-to ${name}:443:${local} https://${name}/ with the grant's certificate), or use --tunnel\n`
            : ''),
  );
  opts.onReady?.(local);
  let lost = false;
  await untilStopped(opts.signal, (stop) =>
    r.socket.once('close', () => {
      lost = true;
      stop();
    }),
  );
  r.socket.destroy();
  if (lost)
    process.stderr.write("sallyport connect: the agent went away: is 'sallyport agent' still running?\n");
  return lost ? 1 : 0;
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
  opts: { signal?: AbortSignal; onReady?(local: string): void },
): Promise<number> {
  const m = LOOPBACK.exec(local);
  if (!m) {
    process.stderr.write(
      `sallyport connect: --tunnel listens only on a loopback address (plain text stays on this machine), got '${local}': use e.g. 127.0.0.1:8123\n`,
    );
    return 2;
  }
  const [deployment, service] = ref.split('/');
  let t: GrantTarget;
  try {
    t = await grantTarget(deployment, service, state);
  } catch (e) {
    if (e instanceof Failed || e instanceof UsageError) {
      process.stderr.write(`sallyport connect: ${e.message}\n`);
      return 1;
    }
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
        process.stderr.write(`sallyport connect: ${t.name}: ${(e as Error).message}\n`);
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
    process.stderr.write(`sallyport connect: cannot listen on ${local}: ${(e as Error).message}\n`);
    return 1;
  }
  const a = server.address() as { address: string; port: number };
  const where = `${a.address.includes(':') ? `[${a.address}]` : a.address}:${a.port}`;
  process.stdout.write(
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
