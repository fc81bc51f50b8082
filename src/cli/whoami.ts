// `sallyport whoami`: who the coordinator says you are, with your groups and how you signed in.
import { routes } from '../control/routes/index.ts';
import { CONNECTION_FLAGS, requireApiClient } from './api-connection.ts';
import { API_EXIT_CODES, apiErrors } from './exit.ts';
import { optionLines, processIo, runCommand, type CommandIo, type FlagTable } from './kit/index.ts';
import { loadProfile } from './profile.ts';

const FLAGS = {
  json: { type: 'boolean', help: "the coordinator's answer as JSON" },
  ...CONNECTION_FLAGS,
} as const satisfies FlagTable;

export const help = `usage: sallyport whoami [--json]

Asks the coordinator who your token is: user name, groups, administrator or not, how and when you
signed in (an approval needs a recent sign-in), and where the session is kept.

examples:
  sallyport whoami
  sallyport whoami --json | jq -r '.groups[]'

options:
${optionLines(FLAGS, 24, [
  'json',
  {
    group: ['server', 'token', 'ca', 'fingerprint'],
    help: "as for every API command (default: your profile from 'sallyport login')",
  },
])}${API_EXIT_CODES}`;

export function run(argv: string[], io: CommandIo = processIo): Promise<number> {
  return runCommand(
    { name: 'whoami', flags: FLAGS, help },
    argv,
    io,
    async ({ values: o }) => {
      const api = requireApiClient(o, io.env, { requireToken: true });
      const w = await api.route(routes.whoami);
      if (o.json) {
        io.stdout(JSON.stringify(w, null, 2) + '\n');
        return 0;
      }
      const profile = loadProfile(io.env);
      const at = w.signIn ? new Date(w.signIn.authTime).toISOString().replace(/\.\d{3}Z$/, 'Z') : '-';
      const how = w.signIn?.method === 'oidc' ? 'identity provider' : 'local password';
      io.stdout(
        [
          `user:       ${w.name}${w.isAdmin ? ' (administrator)' : ''}`,
          `groups:     ${w.groups.join(', ') || '-'}`,
          `signed in:  ${w.signIn ? `${how} at ${at}` : '-'}`,
          ...(typeof profile === 'object' && !o.token ? [`server:     ${profile.server}`] : []),
        ].join('\n') + '\n',
      );
      return 0;
    },
    ({ values: o }) => apiErrors(o.server),
  );
}
