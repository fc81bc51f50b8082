// `sallyport logout`: ends the session at the coordinator and removes the profile's token.
import { ApiClient, ApiError } from '../control/api-client.ts';
import { routes } from '../control/routes/index.ts';
import { reportApiFailure } from './exit.ts';
import { processIo, runCommand, type CommandIo } from './kit/index.ts';
import { loadProfile, profilePath, removeProfile } from './profile.ts';

export const help = `usage: sallyport logout

Ends your session at the coordinator (the token stops working at once, audited as user.logout) and
removes your profile (${'$'}XDG_CONFIG_HOME/sallyport/profile.json). When the coordinator cannot be
reached, the profile is removed anyway and the token ends at its expiry.

example:
  sallyport logout

exit codes: 0 signed out, 2 bad usage
`;

export function run(argv: string[], io: CommandIo = processIo): Promise<number> {
  return runCommand({ name: 'logout', flags: {}, help }, argv, io, () => logout(io));
}

async function logout(io: CommandIo): Promise<number> {
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
    await api.route(routes.logout, { body: {} });
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
