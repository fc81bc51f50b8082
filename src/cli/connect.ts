// `sallyport connect DEPLOYMENT/SERVICE --local HOST:PORT`: asks the running agent (through its
// control socket) for a local forward, which lives until this command stops.
import { parseArgs } from 'node:util';
import { ctlRequest, socketPath } from '../agent/index.ts';
import { stateDir, untilStopped } from './agent-common.ts';

export const help = `usage: sallyport connect DEPLOYMENT/SERVICE --local HOST:PORT [--state DIR] [--json]

Forwards a local TCP address to a service through the running agent ('sallyport agent'): every
connection to --local becomes a stream to the service's connector, which checks the grant. The
forward lasts until this command is stopped (Ctrl-C).

options:
  --local HOST:PORT   where to listen, e.g. 127.0.0.1:8123 (port 0 picks one; it is printed)
  --state DIR         the agent's state directory (env SALLYPORT_STATE; default ~/.sallyport)
  --json              print the forward as one JSON line {"local","service"} once it listens
  --help              this text

examples:
  sallyport connect acme-prod/clickhouse --local 127.0.0.1:8123
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
  process.stdout.write(
    p.values.json
      ? JSON.stringify({ local, service: ref }) + '\n'
      : `forwarding ${local} -> ${ref} (Ctrl-C to stop)\n`,
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
