// `sallyport logout`: ends the session at the coordinator and removes the profile's token.
import { parseArgs } from 'node:util';
import { ApiClient, ApiError } from '../control/api-client.ts';
import { reportApiFailure } from './exit.ts';
import { processIo, type CommandIo } from './io.ts';
import { loadProfile, profilePath, removeProfile } from './profile.ts';

export const help = `usage: sallyport logout

Ends your session at the coordinator (the token stops working at once, audited as user.logout) and
removes your profile (${'$'}XDG_CONFIG_HOME/sallyport/profile.json). When the coordinator cannot be
reached, the profile is removed anyway and the token ends at its expiry.

example:
  sallyport logout

exit codes: 0 signed out, 2 bad usage
`;

export async function run(argv: string[], io: CommandIo = processIo): Promise<number> {
  let p;
  try {
    p = parseArgs({ args: argv, options: { help: { type: 'boolean' } }, strict: true });
  } catch (e) {
    io.stderr(`sallyport logout: ${(e as Error).message}\n`);
    return 2;
  }
  if (p.values.help) {
    io.stdout(help);
    return 0;
  }
  const profile = loadProfile(io.env);
  if (typeof profile !== 'object') {
    if (typeof profile === 'string') removeProfile(io.env);
    io.stdout('not signed in (no profile)\n');
    return 0;
  }
  const api = new ApiClient({
    server: profile.server,
    token: profile.token,
    ...(profile.ca ? { ca: profile.ca } : {}),
    ...(profile.fingerprint ? { fingerprint: profile.fingerprint } : {}),
  });
  try {
    await api.call('POST', '/api/v1/logout', {});
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 401)) {
      reportApiFailure('logout', e, io.stderr, profile.server);
      io.stderr(
        'sallyport logout: the session could not be ended at the coordinator; it ends at its expiry\n',
      );
    }
  }
  removeProfile(io.env);
  io.stdout(`signed out ${profile.user} from ${profile.server} (removed ${profilePath(io.env)})\n`);
  return 0;
}
