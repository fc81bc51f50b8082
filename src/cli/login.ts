// `sallyport login URL`: signs the person in and keeps the session in their profile (profile.ts) —
// through the company's identity provider (device authorization grant: a URL and a code to open in
// a browser), or with a local password typed at a prompt (--user). With --coordinator-key it
// enrolls this machine's node key instead (device login, src/control/device-login.ts): approved at
// once when the profile is signed in to the same coordinator, else by a code someone approves.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { realClock } from '../clock/index.ts';
import { PublicKey } from '../crypto/index.ts';
import { ApiClient, ApiError, deviceStartBody } from '../control/index.ts';
import { loadOrCreateNodeKey, writeSettings } from '../agent/index.ts';
import { stateDir } from './agent-common.ts';
import { EXIT, apiFailure } from './exit.ts';
import { processIo, type CommandIo } from './io.ts';
import { loadProfile, saveProfile, sameServer, type Profile } from './profile.ts';
import { PromptAborted, readSecret } from './prompt.ts';

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
  --ca FILE              PEM certificate(s) to trust for the coordinator's TLS (kept in the profile)
  --fingerprint HEX      pin the coordinator's certificate (SHA-256) instead
  --user NAME            sign in with a local password
  --timeout SECONDS      give up waiting after this long (default: the code's lifetime)
  --coordinator-key KEY  enroll this machine: the coordinator's channel key (it prints it)
  --state DIR            with --coordinator-key: state directory (env SALLYPORT_STATE; default ~/.sallyport)
  --name NAME            with --coordinator-key: device name (default: the host name)
  --help                 this text

examples:
  sallyport login https://coord.example.com:8443
  sallyport login https://coord.example.com:8443 --user admin
  sallyport login https://coord.example.com:8443 --coordinator-key 3q2+7w...

exit codes: 0 signed in (or approved), 1 refused, denied or expired, 2 bad usage, 3 coordinator unreachable
`;

export const OPTIONS = {
  'coordinator-key': { type: 'string' },
  ca: { type: 'string' },
  fingerprint: { type: 'string' },
  user: { type: 'string' },
  state: { type: 'string' },
  name: { type: 'string' },
  timeout: { type: 'string' },
  help: { type: 'boolean' },
} as const;

const sleep = (ms: number): Promise<void> => new Promise((r) => realClock.setTimeout(r, ms));

interface DeviceStart {
  handle: string;
  userCode: string;
  verificationUri: string;
  verificationUriComplete: string | null;
  expiresIn: number;
}
type DevicePoll =
  | { status: 'pending' }
  | { status: 'approved'; token: string; expiresAt: number; user: string; groups: string[] }
  | { status: 'failed'; message: string };

export async function run(argv: string[], io: CommandIo = processIo): Promise<number> {
  let p;
  try {
    p = parseArgs({
      args: argv,
      options: OPTIONS,
      strict: true,
      allowPositionals: true,
    });
  } catch (e) {
    io.stderr(`sallyport login: ${(e as Error).message}\n\n${help}`);
    return 2;
  }
  const a = p.values;
  if (a.help) {
    io.stdout(help);
    return 0;
  }
  const url = p.positionals[0];
  const usage = (m: string): number => (io.stderr(`sallyport login: ${m}\n`), 2);
  if (!url || !/^https:\/\/[^/]/.test(url) || p.positionals.length > 1)
    return usage('want one https:// coordinator URL');
  if (a.timeout !== undefined && !(Number(a.timeout) > 0))
    return usage('--timeout wants a number of seconds');
  let ca: string | undefined;
  try {
    ca = a.ca ? readFileSync(a.ca, 'utf8') : undefined;
  } catch (e) {
    return usage(`cannot read --ca ${a.ca}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const api = new ApiClient({
    server: url,
    ...(ca ? { ca } : {}),
    ...(a.fingerprint ? { fingerprint: a.fingerprint } : {}),
  });
  try {
    if (a['coordinator-key'] !== undefined) return await enroll(io, api, url, a);
    return await signIn(io, api, url, a, ca);
  } catch (e) {
    if (e instanceof PromptAborted) {
      io.stderr(`sallyport login: ${e.message}\n`);
      return EXIT.FAILED;
    }
    if (e instanceof ApiError && (e.code === 'PROOF' || e.code === 'CHALLENGE')) {
      io.stderr(
        `sallyport login: the coordinator refused this device's proof of its node key (${e.code}): ${e.message}\n` +
          "check --coordinator-key against the key 'sallyport coordinator' printed, then run 'sallyport login' again\n",
      );
      return EXIT.FAILED;
    }
    if (e instanceof ApiError && e.status === 401) {
      io.stderr(`sallyport login: ${e.message}\n`);
      return EXIT.FAILED;
    }
    const f = apiFailure(e, url);
    io.stderr(`sallyport login: ${f?.message ?? (e as Error).message}\n`);
    return f?.code ?? EXIT.FAILED;
  }
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
    const r = await api.call<{ token: string; expiresAt: number; user: { name: string } }>(
      'POST',
      '/api/v1/login',
      { user: a.user, password },
    );
    const path = keep({ token: r.token, expiresAt: r.expiresAt, user: r.user.name }, 'password');
    io.stdout(`signed in as ${r.user.name} (local password) until ${iso(r.expiresAt)}; profile ${path}\n`);
    return 0;
  }
  const methods = await api.call<{ oidc: { name: string; device: boolean } | null }>(
    'GET',
    '/api/v1/auth/methods',
  );
  if (!methods.oidc || !methods.oidc.device) {
    io.stderr(
      `sallyport login: ${url} offers no sign-in through an identity provider${methods.oidc ? ' for the command line (no device flow)' : ''}: ` +
        'sign in with a local password (--user NAME)\n',
    );
    return 2;
  }
  const d = await api.call<DeviceStart>('POST', '/api/v1/auth/device', {});
  io.stdout(
    `To sign in with ${methods.oidc.name}, open this URL in a browser:\n\n` +
      `  ${d.verificationUriComplete ?? d.verificationUri}\n\n` +
      `and check that it shows the code ${d.userCode}   (valid for ${d.expiresIn} s)\nwaiting for the sign-in...\n`,
  );
  const limit = realClock.now() + 1000 * (a.timeout ? Number(a.timeout) : d.expiresIn);
  for (;;) {
    const r = await api.call<DevicePoll>('POST', '/api/v1/auth/device/poll', { handle: d.handle });
    if (r.status === 'approved') {
      const path = keep(r, 'oidc');
      io.stdout(
        `signed in as ${r.user}${r.groups.length ? ` (groups: ${r.groups.join(', ')})` : ''} until ${iso(r.expiresAt)}; profile ${path}\n`,
      );
      return 0;
    }
    if (r.status === 'failed') {
      io.stderr(`sallyport login: ${r.message}\n`);
      return EXIT.FAILED;
    }
    if (realClock.now() >= limit) {
      io.stderr("sallyport login: timed out waiting for the sign-in: run 'sallyport login' again\n");
      return EXIT.FAILED;
    }
  }
}

async function enroll(
  io: CommandIo,
  api: ApiClient,
  url: string,
  a: { 'coordinator-key'?: string; ca?: string; state?: string; name?: string; timeout?: string },
): Promise<number> {
  const usage = (m: string): number => (io.stderr(`sallyport login: ${m}\n`), 2);
  try {
    PublicKey.fromBase64(a['coordinator-key']!);
  } catch {
    return usage('--coordinator-key is not a base64 X25519 key');
  }
  const dir = stateDir(a.state);
  const name = a.name ?? hostname();
  const { key } = loadOrCreateNodeKey(dir);
  // Prove the node key: a MAC over the coordinator's fresh challenge, keyed by X25519 with the
  // pinned coordinator key (a wrong --coordinator-key is refused here, before any code is shown).
  const { challenge } = await api.call<{ challenge: string }>('GET', '/api/v1/device/challenge');
  const start = await api.call<{
    deviceCode: string;
    userCode: string;
    verificationUri: string;
    expiresIn: number;
  }>(
    'POST',
    '/api/v1/device/start',
    deviceStartBody(key, PublicKey.fromBase64(a['coordinator-key']!), challenge, name),
  );
  const profile = loadProfile(io.env);
  const signedIn =
    typeof profile === 'object' && sameServer(profile.server, url) && profile.expiresAt > realClock.wallMs();
  if (signedIn) {
    await api.withToken(profile.token).call('POST', '/api/v1/device/approve', { userCode: start.userCode });
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
    const r = await api.call<{ status: string }>('POST', '/api/v1/device/poll', {
      deviceCode: start.deviceCode,
    });
    if (r.status === 'approved') break;
    if (r.status !== 'pending') {
      io.stderr(
        `sallyport login: the device code is ${r.status}: run 'sallyport login' again for a new code\n`,
      );
      return EXIT.FAILED;
    }
    const left = Math.ceil((limit - realClock.now()) / 1000);
    if (left <= 0) {
      io.stderr(
        "sallyport login: timed out waiting for approval: run 'sallyport login' again, and have the code approved sooner\n",
      );
      return EXIT.FAILED;
    }
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
