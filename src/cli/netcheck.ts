// `sallyport netcheck`: what this node's network does to UDP, measured by the running agent from
// its own socket (agent/diagnose.ts): STUN per server, whether the mapping varies by destination,
// the port kept or not, hairpinning, and the relays' latency.
import { parseArgs } from 'node:util';
import { ctlRequest, socketPath, type NetcheckReport } from '../agent/index.ts';
import { stateDir } from './agent-common.ts';

export const help = `usage: sallyport netcheck [--json] [--timeout MS] [--state DIR]

Asks the running agent to test its UDP socket now: a STUN Binding request to every STUN server it
knows (each relay region's STUN port, and any --stun of the agent), all at once; whether the
NAT gives every destination the same mapping (two servers needed to tell), whether it kept the
local port, whether a datagram sent to our own mapping comes back (hairpinning), and each relay's
round-trip time. Ends with what it means for direct paths.

options:
  --timeout MS   wait per STUN server (default 3000)
  --json         the report as JSON
  --state DIR    the agent's state directory (env SALLYPORT_STATE; default ~/.sallyport)
  --help         this text

examples:
  sallyport netcheck
  sallyport netcheck --json

exit codes: 0 UDP works (a STUN server answered), 1 it does not (or no agent runs), 2 bad usage
`;

const yesNo = (b: boolean | null, yes: string, no: string, unknown: string): string =>
  b === null ? unknown : b ? yes : no;

export function formatNetcheck(r: NetcheckReport): string {
  const lines = [
    `udp          ${r.port === null ? 'off (--no-direct)' : `${r.udp ? 'yes' : 'no answer'} (local port ${r.port}, ${r.stun.filter((s) => s.mapped).length} of ${r.stun.length} STUN servers answered)`}`,
    ...r.stun.map((s) =>
      s.mapped
        ? `  stun ${s.server.padEnd(22)} mapped ${s.mapped} in ${s.rttMs} ms`
        : `  stun ${s.server.padEnd(22)} ${s.error}`,
    ),
    `mapping      ${yesNo(r.mappingVariesByDestination, 'varies by destination (symmetric NAT)', 'the same for every destination (endpoint-independent)', 'unknown (needs answers from two STUN servers)')}`,
    `port         ${yesNo(r.portPreserved, 'preserved (mapped port = local port)', 'translated', 'unknown')}`,
    `hairpinning  ${yesNo(r.hairpinning, 'yes (a datagram to our own mapping came back)', 'no (a datagram to our own mapping did not come back)', 'unknown (no mapping)')}`,
    ...r.relays.map(
      (x) =>
        `relay        ${x.region} ${x.url} ${x.state}${x.rttMs !== null ? ` rtt ${x.rttMs} ms` : ''}${x.home ? ' (home)' : ''}`,
    ),
    `verdict      ${r.verdict}`,
  ];
  return lines.join('\n') + '\n';
}

export async function run(argv: string[]): Promise<number> {
  let a;
  let timeoutMs: number;
  try {
    a = parseArgs({
      args: argv,
      options: {
        timeout: { type: 'string' },
        json: { type: 'boolean' },
        state: { type: 'string' },
        help: { type: 'boolean' },
      },
      strict: true,
    }).values;
    if (a.help) {
      process.stdout.write(help);
      return 0;
    }
    const t = a.timeout ?? '3000';
    timeoutMs = Number(t);
    if (!/^\d+$/.test(t) || timeoutMs < 100 || timeoutMs > 60_000)
      throw new Error(`--timeout takes 100..60000, got '${t}'`);
  } catch (e) {
    process.stderr.write(`sallyport netcheck: ${(e as Error).message}\n\n${help}`);
    return 2;
  }
  try {
    const { reply, socket } = await ctlRequest(socketPath(stateDir(a.state)), { cmd: 'netcheck', timeoutMs });
    socket.destroy();
    if (!reply.ok) throw new Error(reply.message);
    const r = reply.netcheck as NetcheckReport;
    process.stdout.write(a.json ? JSON.stringify(r, null, 2) + '\n' : formatNetcheck(r));
    return r.udp ? 0 : 1;
  } catch (e) {
    process.stderr.write(`sallyport netcheck: ${(e as Error).message}\n`);
    return 1;
  }
}
