import { readFileSync } from 'node:fs';

/** A command module: `run` returns the exit code; `help` is its --help text. */
interface Command {
  run(argv: string[]): Promise<number>;
  help: string;
}

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
  agent: {
    summary: 'run an agent: a connector (--serve) or an engineer node',
    load: () => import('./agent.ts'),
  },
  login: { summary: 'enroll this engineer machine (device login)', load: () => import('./login.ts') },
  connect: {
    summary: 'forward a local port to a service through the overlay',
    load: () => import('./connect.ts'),
  },
  status: {
    summary: "the running agent's peers, paths, handshakes, RTT, bytes",
    load: () => import('./status.ts'),
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
  audit: { summary: 'verify an exported audit log offline', load: () => import('./audit.ts') },
};

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length)) + 2;
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}${c.summary}`);
  return `sallyport — outbound-only overlay and just-in-time access for BYOC deployments

usage: sallyport <command> [options]        sallyport <command> --help

commands:
${lines.join('\n')}
  ${'version'.padEnd(width)}print the version

Examples:
  sallyport lab
  sallyport relay --help
`;
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

/** Runs one CLI invocation; returns the process exit code (0 ok, 1 failed, 2 usage error). */
export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === 'help' || cmd === '--help' || cmd === '-h') {
    process.stdout.write(usage());
    return cmd === undefined ? 2 : 0;
  }
  if (cmd === 'version' || cmd === '--version') {
    process.stdout.write(`sallyport ${version()}\n`);
    return 0;
  }
  const entry = COMMANDS[cmd];
  if (!entry) {
    process.stderr.write(`sallyport: unknown command '${cmd}'. Run 'sallyport --help' for the list.\n`);
    return 2;
  }
  const command = await entry.load();
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(command.help.endsWith('\n') ? command.help : command.help + '\n');
    return 0;
  }
  return command.run(rest);
}
