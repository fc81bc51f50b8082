// `sallyport status [--json]`: asks the running agent for its live state (control socket).
import type { AgentStatus } from '../agent/index.ts';
import { AGENT_ERRORS, STATE_FLAG, askAgent, stateDir } from './agent-common.ts';
import { HELP_FLAG, optionLines, processIo, runCommand, type FlagTable } from './kit/index.ts';

const FLAGS = {
  json: { type: 'boolean', help: 'the full status as JSON' },
  metrics: { type: 'boolean', help: "the agent's counters, Prometheus text format" },
  ...STATE_FLAG,
  ...HELP_FLAG,
} as const satisfies FlagTable;

export const help = `usage: sallyport status [--json | --metrics] [--state DIR]

Shows the running agent's node, its coordinator and relay connections, and every peer with its
path (direct with its endpoint, or relay with its region; when and why it last changed), last
handshake, round-trip time and bytes, from live state.

options:
${optionLines(FLAGS, 16)}
examples:
  sallyport status
  sallyport status --json | jq '.peers[] | {name, path: .path.kind, rttMs}'
  sallyport status --metrics --state /var/lib/sallyport

exit codes: 0 ok, 1 no agent running (start 'sallyport agent', or pass its --state), 2 bad usage
`;

const ago = (iso: string | null): string => {
  if (!iso) return 'never';
  const s = Math.max(0, Math.round((Date.parse(iso) - 0) / 1000));
  return new Date(s * 1000).toISOString().replace('.000', '');
};

const bytes = (n: number): string =>
  n < 1024
    ? `${n} B`
    : n < 1 << 20
      ? `${(n / 1024).toFixed(1)} KiB`
      : n < 1 << 30
        ? `${(n / 2 ** 20).toFixed(1)} MiB`
        : `${(n / 2 ** 30).toFixed(2)} GiB`;

export function formatStatus(s: AgentStatus): string {
  const lines = [
    `node        ${s.node.name ?? '?'} (${s.node.kind}${s.node.deployment ? `, ${s.node.deployment}` : ''}) key ${s.node.key.slice(0, 8)}`,
    `coordinator ${s.coordinator.url} ${s.coordinator.state}${s.coordinator.lastError && s.coordinator.state !== 'connected' ? ` (${s.coordinator.lastError})` : ''}`,
    ...(s.coordinator.urls
      ? [
          `            (fails over to ${s.coordinator.urls.filter((u) => u !== s.coordinator.url).join(', ')})`,
        ]
      : []),
    ...s.relays.map(
      (r) =>
        `relay       ${r.region} ${r.url} ${r.state}${r.rttMs !== null ? ` rtt ${r.rttMs} ms` : ''}${r.home ? ' (home)' : ''}`,
    ),
    ...(s.socks5 ? [`socks5      ${s.socks5}`] : []),
    ...(s.udp
      ? [`udp         port ${s.udp.port}, endpoints ${s.udp.candidates.join(' ') || 'none yet'}`]
      : []),
    ...(s.served ?? []).map(
      (v) =>
        `service     ${v.name} ${v.kind} ${v.address} tls=${v.tls}` +
        (v.unfiltered ? '  UNFILTERED: passthrough, bytes piped as-is (no certificate, no target)' : ''),
    ),
    '',
    s.peers.length
      ? 'peer                      key       path                        handshake             rtt       tx         rx'
      : 'no peers',
    ...s.peers.map(
      (p) =>
        [
          p.name.padEnd(25).slice(0, 25),
          p.key.slice(0, 8).padEnd(9),
          (p.path.kind === 'relay'
            ? `relay ${p.path.region}`
            : p.path.kind === 'direct'
              ? `direct ${p.path.endpoint}`
              : '-'
          ).padEnd(27),
          ago(p.lastHandshake).padEnd(21),
          (p.rttMs === null ? '-' : `${p.rttMs} ms`).padEnd(9),
          bytes(p.txBytes).padEnd(10),
          bytes(p.rxBytes),
        ].join(' ') +
        (p.pathChange
          ? `\n  path since ${p.pathChange.at.replace(/\.\d+Z$/, 'Z')}: ${p.pathChange.from} → ${p.pathChange.to} (${p.pathChange.reason})` +
            (p.pathRttMs !== null ? `, path rtt ${p.pathRttMs} ms` : '') +
            (p.pathDatagramSize !== null ? `, datagrams ${p.pathDatagramSize} B` : '')
          : '') +
        (p.pathWhy && p.path.kind !== 'direct' ? `\n  why: ${p.pathWhy}` : '') +
        // older agents answer without `lost`
        (p.lost?.packets
          ? `\n  lost: ${p.lost.packets} packets, ${bytes(p.lost.retransmittedBytes)} sent again`
          : ''),
    ),
  ];
  for (const r of s.serviceRefusals ?? [])
    lines.push('', `service ${r.service} NOT REGISTERED (${r.code}): ${r.message}`);
  const refused = Object.entries(s.refused);
  if (refused.length) lines.push('', `refused     ${refused.map(([k, v]) => `${k}=${v}`).join(' ')}`);
  return lines.join('\n') + '\n';
}

export function run(argv: string[]): Promise<number> {
  const command = { name: 'status', flags: FLAGS, help };
  return runCommand(
    command,
    argv,
    processIo,
    async ({ values: a }) => {
      const reply = await askAgent(stateDir(a.state), { cmd: a.metrics ? 'metrics' : 'status' });
      if (a.metrics) {
        processIo.stdout(String(reply.text));
        return 0;
      }
      const st = reply.status as AgentStatus;
      processIo.stdout(a.json ? JSON.stringify(st, null, 2) + '\n' : formatStatus(st));
      return 0;
    },
    AGENT_ERRORS,
  );
}
