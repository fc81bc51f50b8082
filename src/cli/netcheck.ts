// `sallyport netcheck`: what this node's network does to UDP, measured by the running agent from
// its own socket (agent/diagnose.ts): STUN per server, whether the mapping varies by destination,
// the port kept or not, hairpinning, and the relays' latency.
import type { NetcheckReport } from '../agent/index.ts';
import { AGENT_ERRORS, STATE_FLAG, askAgent, stateDir } from './agent-common.ts';
import { HELP_FLAG, optionLines, processIo, runCommand, type FlagTable } from './kit/index.ts';

const FLAGS = {
  timeout: {
    type: 'number',
    value: 'MS',
    default: 3000,
    min: 100,
    max: 60_000,
    help: 'wait per STUN server (default 3000)',
  },
  json: { type: 'boolean', help: 'the report as JSON' },
  ...STATE_FLAG,
  ...HELP_FLAG,
} as const satisfies FlagTable;

export const help = `usage: sallyport netcheck [--json] [--timeout MS] [--state DIR]

Asks the running agent to test its UDP socket now: a STUN Binding request to every STUN server it
knows (each relay region's STUN port, and any --stun of the agent), all at once; whether the
NAT gives every destination the same mapping (two servers needed to tell), whether it kept the
local port, whether a datagram sent to our own mapping comes back (hairpinning), and each relay's
round-trip time. Ends with what it means for direct paths.

options:
${optionLines(FLAGS, 17)}
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

export function run(argv: string[]): Promise<number> {
  const command = { name: 'netcheck', flags: FLAGS, help };
  return runCommand(
    command,
    argv,
    processIo,
    async ({ values: a }) => {
      const reply = await askAgent(stateDir(a.state), { cmd: 'netcheck', timeoutMs: a.timeout });
      const r = reply.netcheck as NetcheckReport;
      processIo.stdout(a.json ? JSON.stringify(r, null, 2) + '\n' : formatNetcheck(r));
      return r.udp ? 0 : 1;
    },
    AGENT_ERRORS,
  );
}
