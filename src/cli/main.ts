import { readFileSync } from 'node:fs';
import { realClock } from '../clock/index.ts';
import { EXIT, EXIT_CODES_HELP } from './exit.ts';
import { near, withNewline } from './kit/index.ts';

/** A command module: `run` returns the exit code; `help` is its --help text. */
interface Command {
  run(argv: string[]): Promise<number>;
  help: string;
}

/** Commands that talk to the coordinator with the profile's token (renewed first when due). */
const PROFILE_COMMANDS = new Set([
  'admin',
  'whoami',
  'request',
  'requests',
  'approve',
  'deny',
  'grants',
  'extend',
  'revoke',
  'cert',
  'audit',
  'incidents',
  'kubeconfig',
  'mgmt',
]);

/** The command table: one line each, loaded only when used (start-up stays fast). */
const COMMANDS: Record<string, { summary: string; load: () => Promise<Command> }> = {
  lab: {
    summary: 'run the local lab on this machine',
    load: async () => {
      const m = await import('../lab/index.ts');
      return { run: m.runLab, help: m.LAB_HELP };
    },
  },
  coordinator: {
    summary: 'run the coordinator (API, agent channel, store)',
    load: () => import('./coordinator.ts'),
  },
  admin: {
    summary: 'administer deployments, services, keys, users, groups, grants',
    load: () => import('./admin.ts'),
  },
  relay: {
    summary: 'run a relay (TLS, forwards sealed packets; STUN on UDP)',
    load: () => import('./relay.ts'),
  },
  ingress: {
    summary: "the customer's TLS ingress for database traffic: SNI routes, allow list, ACME",
    load: () => import('./ingress.ts'),
  },
  agent: {
    summary: 'run an agent: a connector (--serve) or an engineer node',
    load: () => import('./agent.ts'),
  },
  login: {
    summary: 'sign in (identity provider or password) and keep a profile; or enroll this machine',
    load: () => import('./login.ts'),
  },
  logout: { summary: 'end your session and remove your profile', load: () => import('./logout.ts') },
  whoami: { summary: 'who you are signed in as: groups, how and when', load: () => import('./whoami.ts') },
  connect: {
    summary: 'forward a local port to a service through the overlay',
    load: () => import('./connect.ts'),
  },
  status: {
    summary: "the running agent's peers, paths, handshakes, RTT, bytes",
    load: () => import('./status.ts'),
  },
  ping: {
    summary: 'probe a peer now: each candidate tried, PONGs, RTT, why direct or relayed',
    load: () => import('./ping.ts'),
  },
  netcheck: {
    summary: "what this node's network does to UDP: STUN, NAT mapping, hairpinning, relays",
    load: () => import('./netcheck.ts'),
  },
  request: { summary: 'ask for just-in-time access, with a reason', load: () => import('./request.ts') },
  requests: {
    summary: 'list access requests (yours, or those you may approve)',
    load: () => import('./requests.ts'),
  },
  approve: {
    summary: "approve someone else's access request or extension",
    load: () => import('./approve.ts'),
  },
  deny: { summary: 'deny an access request or extension, with a reason', load: () => import('./deny.ts') },
  grants: { summary: 'list access grants', load: () => import('./grants.ts') },
  extend: { summary: 'ask to extend an active grant', load: () => import('./extend.ts') },
  revoke: { summary: 'revoke an access grant (cuts its streams)', load: () => import('./revoke.ts') },
  cert: { summary: 'fetch the client certificate for your active grant', load: () => import('./cert.ts') },
  completion: {
    summary: 'print a bash or zsh completion script',
    load: () => import('./completion.ts'),
  },
  clickhouse: {
    summary: "query a deployment's ClickHouse through the overlay (no certificate flags)",
    load: () => import('./clickhouse.ts'),
  },
  mgmt: {
    summary: 'kubectl to a deployment on the path its management mode allows (break-glass audited)',
    load: () => import('./mgmt.ts'),
  },
  kubeconfig: {
    summary: 'write a kubeconfig for a grant (kubectl through the overlay)',
    load: () => import('./kubeconfig.ts'),
  },
  audit: { summary: 'list, export, and verify offline the audit log', load: () => import('./audit.ts') },
  incidents: {
    summary: 'list incidents opened by Alertmanager alerts',
    load: () => import('./incidents.ts'),
  },
  'billing-scraper': {
    summary: "ship a cgroup's CPU/memory usage to S3, spooled (egress)",
    load: () => import('./billing-scraper.ts'),
  },
  'state-exporter': {
    summary: 'send service state to SQS on change and heartbeat, spooled (egress)',
    load: () => import('./state-exporter.ts'),
  },
};

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length)) + 2;
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}${c.summary}`);
  return `sallyport — outbound-only overlay and just-in-time access for BYOC deployments

usage: sallyport <command> [options]        sallyport <command> --help        sallyport help <command>

commands:
${lines.join('\n')}
  ${'version'.padEnd(width)}print the version

Examples:
  sallyport lab                                     # the whole story on this machine
  sallyport request acme-prod --service k8s --reason "INC-4711" --for 2h
  sallyport grants --json
  sallyport status
  sallyport relay --help

Environment (flags win):
  SALLYPORT_SERVER        coordinator URL for admin, the access commands and audit list/export
  SALLYPORT_TOKEN         bearer token (default: your profile from 'sallyport login URL')
  SALLYPORT_CA            PEM file to trust for the coordinator's TLS (or SALLYPORT_FINGERPRINT to pin it)
  SALLYPORT_STATE         an agent's state directory (default ~/.sallyport)
  SALLYPORT_LOG_FORMAT    json or pretty (default: pretty on a terminal, JSON lines otherwise)

Output: tables for people by default; --json on every listing and status prints JSON on stdout
only. Progress of long operations goes to stderr, and never with --json.

${EXIT_CODES_HELP}
`;
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

/** The command names, in the order `sallyport --help` lists them. */
export function commandNames(): string[] {
  return Object.keys(COMMANDS);
}

/** One command's one-line summary, as `sallyport --help` shows it. */
export function commandSummary(name: string): string {
  const entry = COMMANDS[name];
  if (!entry) throw new Error(`unknown command '${name}'`);
  return entry.summary;
}

/** The top-level help text (`sallyport --help`). */
export function mainHelp(): string {
  return usage();
}

/** One command's --help text, ending with a newline. */
export async function commandHelp(name: string): Promise<string> {
  const entry = COMMANDS[name];
  if (!entry) throw new Error(`unknown command '${name}'`);
  const { help } = await entry.load();
  return withNewline(help);
}

/** Runs one CLI invocation; returns the process exit code (see EXIT in exit.ts). */
export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === '--help' || cmd === '-h' || (cmd === 'help' && rest.length === 0)) {
    process.stdout.write(usage());
    return cmd === undefined ? EXIT.USAGE : EXIT.OK;
  }
  if (cmd === 'version' || cmd === '--version') {
    if (rest.includes('--json')) process.stdout.write(JSON.stringify({ version: version() }) + '\n');
    else process.stdout.write(`sallyport ${version()}\n`);
    return EXIT.OK;
  }
  if (cmd === 'help') return main([rest[0], '--help']);
  const entry = COMMANDS[cmd];
  if (!entry) {
    const close = near(cmd, Object.keys(COMMANDS));
    process.stderr.write(
      `sallyport: unknown command '${cmd}'.${close.length ? ` Did you mean ${close.join(' or ')}?` : ''} ` +
        `Run 'sallyport --help' for the list.\n`,
    );
    return EXIT.USAGE;
  }
  const command = await entry.load();
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(withNewline(command.help));
    return EXIT.OK;
  }
  if (PROFILE_COMMANDS.has(cmd)) {
    const { renewProfileIfDue } = await import('./profile.ts');
    const r = await renewProfileIfDue(process.env, rest, realClock.wallMs());
    if (r !== 'renewed' && r !== 'not-due') process.stderr.write(`sallyport: ${r}\n`);
  }
  try {
    return await command.run(rest);
  } catch (e) {
    // A bug or an unforeseen failure: one line, the stack only on request.
    const err = e as Error;
    process.stderr.write(
      `sallyport ${cmd}: unexpected error: ${err?.message ?? String(e)}\n` +
        (process.env.SALLYPORT_DEBUG
          ? `${err?.stack ?? ''}\n`
          : '  run again with SALLYPORT_DEBUG=1 for the stack trace, and report it\n'),
    );
    return EXIT.FAILED;
  }
}
