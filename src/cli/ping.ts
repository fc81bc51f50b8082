// `sallyport ping PEER`: through the running agent (control socket), a probe round towards the
// peer and then PINGs over the path its traffic takes, with each candidate tried and why the path
// is what it is (agent/diagnose.ts).
import type { PingReply, PingReport } from '../agent/index.ts';
import { AGENT_ERRORS, STATE_FLAG, askAgent, stateDir } from './agent-common.ts';
import { HELP_FLAG, optionLines, processIo, runCommand, type FlagTable } from './kit/index.ts';

const FLAGS = {
  count: {
    type: 'number',
    value: 'N',
    default: 5,
    min: 1,
    max: 1000,
    help: 'PINGs to send (default 5, at most 1000)',
  },
  interval: {
    type: 'number',
    value: 'MS',
    default: 1000,
    min: 10,
    max: 60_000,
    help: 'between PINGs (default 1000)',
  },
  timeout: {
    type: 'number',
    value: 'MS',
    default: 2000,
    min: 10,
    max: 60_000,
    help: 'wait for each PONG (default 2000)',
  },
  json: { type: 'boolean', help: 'the whole report as JSON (no lines while it runs)' },
  ...STATE_FLAG,
  ...HELP_FLAG,
} as const satisfies FlagTable;

export const help = `usage: sallyport ping PEER [--count N] [--interval MS] [--timeout MS] [--json] [--state DIR]

Asks the running agent to probe PEER's direct candidates now (opens, CALL_ME_MAYBE, PINGs) and
then to PING the peer N times over the path its traffic takes at that moment — direct to an
address, or through the relay — printing each PONG's round trip. Then every candidate tried
(where it came from, PINGs sent, PONGs received, RTT) and why the path is direct or relayed.
PEER is a peer's name or the start of its key (4+ characters), as 'sallyport status' shows.

options:
${optionLines(FLAGS, 17)}
examples:
  sallyport ping acme-connector
  sallyport ping acme-connector --count 3 --json

exit codes: 0 the peer answered at least once, 1 it did not (or no agent runs, or no such peer),
  2 bad usage
`;

export function formatReply(r: PingReply, peer: string): string {
  const where = r.via === 'direct' ? r.to : `relay ${r.to}`;
  return r.rttMs === null
    ? `no pong from ${peer} via ${where} (seq ${r.seq})`
    : `pong from ${peer} via ${where} in ${r.rttMs.toFixed(2)} ms (seq ${r.seq})`;
}

export function formatReport(rep: PingReport): string {
  const lines = [
    `path: ${rep.path.kind === 'direct' ? `direct ${rep.path.endpoint}` : `relay ${rep.path.region ?? '?'}`}`,
    `why:  ${rep.why}`,
    rep.candidates.length ? 'candidates:' : 'candidates: none known',
    ...rep.candidates.map(
      (c) =>
        `  ${c.endpoint.padEnd(24)} ${c.sources.join(',').padEnd(24)} pings ${String(c.pings).padEnd(4)} pongs ${String(c.pongs).padEnd(4)}` +
        (c.rttMs !== undefined ? ` rtt ${c.rttMs} ms` : '') +
        (c.opened ? ' opened' : '') +
        (c.peerOpened ? ' peer-opened' : ''),
    ),
  ];
  return lines.join('\n') + '\n';
}

const COMMAND = {
  name: 'ping',
  flags: FLAGS,
  help,
  positionals: { min: 1, max: 1, usage: 'give exactly one PEER (a name or the start of a key)' },
} as const;

export function run(argv: string[]): Promise<number> {
  return runCommand(
    COMMAND,
    argv,
    processIo,
    async ({ values: a, positionals: [peer] }) => {
      const ask = {
        cmd: 'ping',
        peer,
        count: a.count,
        intervalMs: a.interval,
        timeoutMs: a.timeout,
      } as const;
      const reply = await askAgent(stateDir(a.state), ask, (p) => {
        if (!a.json) processIo.stdout(formatReply(p as PingReply, peer) + '\n');
      });
      const rep = reply.ping as PingReport;
      processIo.stdout(a.json ? JSON.stringify(rep, null, 2) + '\n' : formatReport(rep));
      return rep.replies.some((r) => r.rttMs !== null) ? 0 : 1;
    },
    AGENT_ERRORS,
  );
}
