// `sallyport ping PEER`: through the running agent (control socket), a probe round towards the
// peer and then PINGs over the path its traffic takes, with each candidate tried and why the path
// is what it is (agent/diagnose.ts).
import { parseArgs } from 'node:util';
import { ctlRequest, socketPath, type PingReply, type PingReport } from '../agent/index.ts';
import { stateDir } from './agent-common.ts';

export const help = `usage: sallyport ping PEER [--count N] [--interval MS] [--timeout MS] [--json] [--state DIR]

Asks the running agent to probe PEER's direct candidates now (opens, CALL_ME_MAYBE, PINGs) and
then to PING the peer N times over the path its traffic takes at that moment — direct to an
address, or through the relay — printing each PONG's round trip. Then every candidate tried
(where it came from, PINGs sent, PONGs received, RTT) and why the path is direct or relayed.
PEER is a peer's name or the start of its key (4+ characters), as 'sallyport status' shows.

options:
  --count N      PINGs to send (default 5, at most 1000)
  --interval MS  between PINGs (default 1000)
  --timeout MS   wait for each PONG (default 2000)
  --json         the whole report as JSON (no lines while it runs)
  --state DIR    the agent's state directory (env SALLYPORT_STATE; default ~/.sallyport)
  --help         this text

examples:
  sallyport ping acme-connector
  sallyport ping acme-connector --count 3 --json

exit codes: 0 the peer answered at least once, 1 it did not (or no agent runs, or no such peer),
  2 bad usage
`;

function int(v: string | undefined, name: string, dflt: number, min: number, max: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < min || n > max) throw new Error(`${name} takes ${min}..${max}, got '${v}'`);
  return n;
}

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

export async function run(argv: string[]): Promise<number> {
  let a;
  let peer: string | undefined;
  let count: number, intervalMs: number, timeoutMs: number;
  try {
    const p = parseArgs({
      args: argv,
      options: {
        count: { type: 'string' },
        interval: { type: 'string' },
        timeout: { type: 'string' },
        json: { type: 'boolean' },
        state: { type: 'string' },
        help: { type: 'boolean' },
      },
      strict: true,
      allowPositionals: true,
    });
    a = p.values;
    if (a.help) {
      process.stdout.write(help);
      return 0;
    }
    if (p.positionals.length !== 1) throw new Error('give exactly one PEER (a name or the start of a key)');
    peer = p.positionals[0];
    count = int(a.count, '--count', 5, 1, 1000);
    intervalMs = int(a.interval, '--interval', 1000, 10, 60_000);
    timeoutMs = int(a.timeout, '--timeout', 2000, 10, 60_000);
  } catch (e) {
    process.stderr.write(`sallyport ping: ${(e as Error).message}\n\n${help}`);
    return 2;
  }
  try {
    const { reply, socket } = await ctlRequest(
      socketPath(stateDir(a.state)),
      { cmd: 'ping', peer, count, intervalMs, timeoutMs },
      (p) => {
        if (!a.json) process.stdout.write(formatReply(p as PingReply, peer) + '\n');
      },
    );
    socket.destroy();
    if (!reply.ok) throw new Error(reply.message);
    const rep = reply.ping as PingReport;
    process.stdout.write(a.json ? JSON.stringify(rep, null, 2) + '\n' : formatReport(rep));
    return rep.replies.some((r) => r.rttMs !== null) ? 0 : 1;
  } catch (e) {
    process.stderr.write(`sallyport ping: ${(e as Error).message}\n`);
    return 1;
  }
}
