// `sallyport whoami`: who the coordinator says you are, with your groups and how you signed in.
import { parseArgs } from 'node:util';
import { CONNECTION_OPTIONS, apiClientFrom } from './api-connection.ts';
import { API_EXIT_CODES, reportApiFailure } from './exit.ts';
import { processIo, type CommandIo } from './io.ts';
import { loadProfile } from './profile.ts';

export const help = `usage: sallyport whoami [--json]

Asks the coordinator who your token is: user name, groups, administrator or not, how and when you
signed in (an approval needs a recent sign-in), and where the session is kept.

examples:
  sallyport whoami
  sallyport whoami --json | jq -r '.groups[]'

options:
  --json                the coordinator's answer as JSON
  --server URL, --token TOKEN, --ca FILE, --fingerprint HEX
                        as for every API command (default: your profile from 'sallyport login')
${API_EXIT_CODES}`;

interface Who {
  name: string;
  isAdmin: boolean;
  groups: string[];
  signIn?: { method: string; authTime: number };
}

export async function run(argv: string[], io: CommandIo = processIo): Promise<number> {
  let p;
  try {
    p = parseArgs({
      args: argv,
      options: { ...CONNECTION_OPTIONS, json: { type: 'boolean' }, help: { type: 'boolean' } },
      strict: true,
    });
  } catch (e) {
    io.stderr(`sallyport whoami: ${(e as Error).message}\n`);
    return 2;
  }
  if (p.values.help) {
    io.stdout(help);
    return 0;
  }
  const api = apiClientFrom(p.values, io.env, { requireToken: true });
  if (typeof api === 'string') {
    io.stderr(`sallyport whoami: ${api}\n`);
    return 2;
  }
  try {
    const w = await api.call<Who>('GET', '/api/v1/whoami');
    if (p.values.json) {
      io.stdout(JSON.stringify(w, null, 2) + '\n');
      return 0;
    }
    const profile = loadProfile(io.env);
    const at = w.signIn ? new Date(w.signIn.authTime).toISOString().replace(/\.\d{3}Z$/, 'Z') : '-';
    io.stdout(
      [
        `user:       ${w.name}${w.isAdmin ? ' (administrator)' : ''}`,
        `groups:     ${w.groups.join(', ') || '-'}`,
        `signed in:  ${w.signIn ? `${w.signIn.method === 'oidc' ? 'identity provider' : 'local password'} at ${at}` : '-'}`,
        ...(typeof profile === 'object' && !p.values.token && !io.env.SALLYPORT_TOKEN
          ? [`server:     ${profile.server}`]
          : []),
      ].join('\n') + '\n',
    );
    return 0;
  } catch (e) {
    const code = reportApiFailure('whoami', e, io.stderr, p.values.server ?? io.env.SALLYPORT_SERVER);
    if (code !== undefined) return code;
    throw e;
  }
}
