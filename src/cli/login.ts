// `sallyport login URL`: signs the person in and keeps the session in their profile (profile.ts) —
// through the company's identity provider (device authorization grant: a URL and a code to open in
// a browser), or with a local password typed at a prompt (--user). With --coordinator-key it
// enrolls this machine's node key instead (device login, src/control/device-login.ts): approved at
// once when the profile is signed in to the same coordinator, else by a code someone approves.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { realClock } from '../clock/index.ts';
import { PublicKey } from '../crypto/index.ts';
import { ApiClient, ApiError, deviceStartBody, routes } from '../control/index.ts';
import { loadOrCreateNodeKey, writeSettings } from '../agent/index.ts';
import { stateDir } from './agent-common.ts';
import { EXIT, apiFailure } from './exit.ts';
import {
  Failed,
  HELP_FLAG,
  UsageError,
  optionLines,
  parseArgsOptions,
  processIo,
  runCommand,
  type CommandIo,
  type Failure,
  type FlagTable,
} from './kit/index.ts';
import { loadProfile, saveProfile, sameServer, type Profile } from './profile.ts';
import { PromptAborted, readSecret } from './prompt.ts';

const FLAGS = {
  ca: {
    type: 'string',
    value: 'FILE',
    help: "PEM certificate(s) to trust for the coordinator's TLS (kept in the profile)",
  },
  fingerprint: { type: 'string', value: 'HEX', help: "pin the coordinator's certificate (SHA-256) instead" },
  user: { type: 'string', value: 'NAME', help: 'sign in with a local password' },
  timeout: {
    type: 'string',
    value: 'SECONDS',
    help: "give up waiting after this long (default: the code's lifetime)",
  },
  'coordinator-key': {
    type: 'string',
    value: 'KEY',
    help: "enroll this machine: the coordinator's channel key (it prints it)",
  },
  state: {
    type: 'string',
    value: 'DIR',
    env: 'SALLYPORT_STATE',
    help: 'with --coordinator-key: state directory (env SALLYPORT_STATE; default ~/.sallyport)',
  },
  name: {
    type: 'string',
    value: 'NAME',
    help: 'with --coordinator-key: device name (default: the host name)',
  },
  ...HELP_FLAG,
} as const satisfies FlagTable;

/** The flags as a node:util parseArgs table (docs tests read the examples with it). */
export const OPTIONS = parseArgsOptions(FLAGS);

export const help = `usage: sallyport login URL [--ca FILE | --fingerprint HEX] [--user NAME] [--timeout SECONDS]
       sallyport login URL --coordinator-key KEY [--ca FILE] [--state DIR] [--name NAME]

Signs you in to the coordinator at URL and keeps the session in your profile
($XDG_CONFIG_HOME/sallyport/profile.json, default ~/.config/sallyport; 0600): every command then
finds the coordinator, trusts its certificate and sends your token with no flags and no exports
(--server/--token and SALLYPORT_* still win; the token is only ever sent to this coordinator).

When the coordinator has your company's identity provider, this prints a URL and a code: open the
URL in any browser, check the code, sign in there, and the command finishes by itself. --user NAME
signs in with a local password instead (break-glass administrators): typed at a prompt with no
echo, or SALLYPORT_PASSWORD, or the first line of stdin.

--coordinator-key KEY enrolls this machine as an engineer node instead: it creates the node key in
the state directory (0600), proves it to the coordinator (a MAC keyed by the node key and the
pinned coordinator key, so a wrong key is refused at once) and saves the coordinator in the state
directory for 'sallyport agent'. Signed in to the same coordinator, you approve it at once;
otherwise it prints a code that a signed-in user approves ('sallyport admin device approve CODE').

options:
${optionLines(FLAGS, 25)}
examples:
  sallyport login https://coord.example.com:8443
  sallyport login https://coord.example.com:8443 --user admin
  sallyport login https://coord.example.com:8443 --coordinator-key 3q2+7w...

exit codes: 0 signed in (or approved), 1 refused, denied or expired, 2 bad usage, 3 coordinator unreachable
`;

const sleep = (ms: number): Promise<void> => new Promise((r) => realClock.setTimeout(r, ms));

const COMMAND = {
  name: 'login',
  flags: FLAGS,
  help,
  positionals: { min: 1, max: 1, usage: 'want one https:// coordinator URL' },
};

export function run(argv: string[], io: CommandIo = processIo): Promise<number> {
  return runCommand(
    COMMAND,
    argv,
    io,
    async ({ values: a, positionals: [url] }) => {
      if (!/^https:\/\/[^/]/.test(url)) throw new UsageError('want one https:// coordinator URL');
      if (a.timeout !== undefined && !(Number(a.timeout) > 0))
        throw new UsageError('--timeout wants a number of seconds');
      let ca: string | undefined;
      try {
        ca = a.ca ? readFileSync(a.ca, 'utf8') : undefined;
      } catch (e) {
        const why = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
        throw new UsageError(`cannot read --ca ${a.ca}: ${why}`, { cause: e });
      }
      const api = new ApiClient({
        server: url,
        ...(ca ? { ca } : {}),
        ...(a.fingerprint ? { fingerprint: a.fingerprint } : {}),
      });
      if (a['coordinator-key'] !== undefined) return await enroll(io, api, url, a);
      return await signIn(io, api, url, a, ca);
    },
    ({ positionals: [url] }) => ({ classify: (e) => loginFailure(e, url) }),
  );
}

/** Whatever stops a sign-in or an enrolment, as what to tell the person. */
function loginFailure(e: unknown, url: string): Failure {
  if (e instanceof PromptAborted) return { code: EXIT.FAILED, message: e.message };
  if (e instanceof ApiError && (e.code === 'PROOF' || e.code === 'CHALLENGE'))
    return {
      code: EXIT.FAILED,
      message:
        `the coordinator refused this device's proof of its node key (${e.code}): ${e.message}\n` +
        "check --coordinator-key against the key 'sallyport coordinator' printed, then run 'sallyport login' again",
    };
  if (e instanceof ApiError && e.status === 401) return { code: EXIT.FAILED, message: e.message };
  return apiFailure(e, url) ?? { code: EXIT.FAILED, message: (e as Error).message };
}

async function signIn(
  io: CommandIo,
  api: ApiClient,
  url: string,
  a: { user?: string; fingerprint?: string; timeout?: string },
  ca: string | undefined,
): Promise<number> {
  const keep = (r: { token: string; expiresAt: number; user: string }, method: string): string =>
    saveProfile(io.env, {
      server: new URL(url).origin,
      token: r.token,
      expiresAt: r.expiresAt,
      user: r.user,
      method,
      ...(ca ? { ca } : {}),
      ...(a.fingerprint ? { fingerprint: a.fingerprint } : {}),
    } satisfies Profile);
  if (a.user !== undefined) {
    const password = io.env.SALLYPORT_PASSWORD || (await readSecret(`Password for ${a.user}: `));
    if (!password) throw new PromptAborted('no password given');
    const r = await api.route(routes.login, { body: { user: a.user, password } });
    const path = keep({ token: r.token, expiresAt: r.expiresAt, user: r.user.name }, 'password');
    io.stdout(`signed in as ${r.user.name} (local password) until ${iso(r.expiresAt)}; profile ${path}\n`);
    return 0;
  }
  const methods = await api.route(routes.authMethods);
  if (!methods.oidc || !methods.oidc.device)
    throw new UsageError(
      `${url} offers no sign-in through an identity provider${methods.oidc ? ' for the command line (no device flow)' : ''}: ` +
        'sign in with a local password (--user NAME)',
    );
  const d = await api.route(routes.authDevice, { body: {} });
  io.stdout(
    `To sign in with ${methods.oidc.name}, open this URL in a browser:\n\n` +
      `  ${d.verificationUriComplete ?? d.verificationUri}\n\n` +
      `and check that it shows the code ${d.userCode}   (valid for ${d.expiresIn} s)\nwaiting for the sign-in...\n`,
  );
  const limit = realClock.now() + 1000 * (a.timeout ? Number(a.timeout) : d.expiresIn);
  for (;;) {
    const r = await api.route(routes.authDevicePoll, { body: { handle: d.handle } });
    if (r.status === 'approved') {
      const path = keep(r, 'oidc');
      io.stdout(
        `signed in as ${r.user}${r.groups.length ? ` (groups: ${r.groups.join(', ')})` : ''} until ${iso(r.expiresAt)}; profile ${path}\n`,
      );
      return 0;
    }
    if (r.status === 'failed') throw new Failed(r.message);
    if (realClock.now() >= limit)
      throw new Failed("timed out waiting for the sign-in: run 'sallyport login' again");
  }
}

async function enroll(
  io: CommandIo,
  api: ApiClient,
  url: string,
  a: { 'coordinator-key'?: string; ca?: string; state?: string; name?: string; timeout?: string },
): Promise<number> {
  try {
    PublicKey.fromBase64(a['coordinator-key']!);
  } catch (e) {
    throw new UsageError('--coordinator-key is not a base64 X25519 key', { cause: e });
  }
  const dir = stateDir(a.state);
  const name = a.name ?? hostname();
  const { key } = loadOrCreateNodeKey(dir);
  // Prove the node key: a MAC over the coordinator's fresh challenge, keyed by X25519 with the
  // pinned coordinator key (a wrong --coordinator-key is refused here, before any code is shown).
  const { challenge } = await api.route(routes.deviceChallenge);
  const start = await api.route(routes.deviceStart, {
    body: deviceStartBody(key, PublicKey.fromBase64(a['coordinator-key']!), challenge, name),
  });
  const profile = loadProfile(io.env);
  const signedIn =
    typeof profile === 'object' && sameServer(profile.server, url) && profile.expiresAt > realClock.wallMs();
  if (signedIn) {
    await api.withToken(profile.token).route(routes.deviceApprove, { body: { userCode: start.userCode } });
    io.stdout(`this device (${name}, key ${key.publicKey.fingerprint()}) is enrolled as ${profile.user}'s\n`);
  } else {
    io.stdout(
      `To approve this device (${name}, key ${key.publicKey.fingerprint()}), a signed-in user runs:\n\n` +
        `  ${start.verificationUri.replace('CODE', start.userCode)}\n\n` +
        `user code: ${start.userCode}   (valid for ${start.expiresIn} s)\nwaiting for approval...\n`,
    );
  }
  let polls = 0;
  const limit = realClock.now() + 1000 * (a.timeout ? Number(a.timeout) : start.expiresIn);
  for (;;) {
    const r = await api.route(routes.devicePoll, { body: { deviceCode: start.deviceCode } });
    if (r.status === 'approved') break;
    if (r.status !== 'pending')
      throw new Failed(`the device code is ${r.status}: run 'sallyport login' again for a new code`);
    const left = Math.ceil((limit - realClock.now()) / 1000);
    if (left <= 0)
      throw new Failed(
        "timed out waiting for approval: run 'sallyport login' again, and have the code approved sooner",
      );
    if (++polls % 30 === 0) io.stderr(`still waiting for approval (${left} s left)…\n`);
    await sleep(1000);
  }
  writeSettings(dir, {
    coordinator: url,
    coordinatorKey: a['coordinator-key']!,
    ...(a.ca ? { ca: a.ca } : {}),
    name,
  });
  io.stdout(`approved. Start the node with: sallyport agent --state ${dir} --socks5 127.0.0.1:1055\n`);
  return 0;
}

const iso = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
