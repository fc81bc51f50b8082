// How API-backed commands (admin, access commands, audit list/export) reach the coordinator:
// flags first, then SALLYPORT_SERVER / SALLYPORT_TOKEN / SALLYPORT_CA / SALLYPORT_FINGERPRINT,
// then the profile `sallyport login` wrote (profile.ts). The profile's token goes only to the
// profile's own server: with another server named, it is not used.
import { readFileSync } from 'node:fs';
import { ApiClient } from '../control/api-client.ts';
import { LOGIN_HINT } from './exit.ts';
import { UsageError, type FlagTable } from './kit/index.ts';
import { loadProfile, sameServer } from './profile.ts';

/** The flags every API-backed command accepts, each with its SALLYPORT_* variable. */
export const CONNECTION_FLAGS = {
  server: {
    type: 'string',
    value: 'URL',
    env: 'SALLYPORT_SERVER',
    help: 'coordinator URL (env SALLYPORT_SERVER)',
  },
  token: {
    type: 'string',
    value: 'TOKEN',
    env: 'SALLYPORT_TOKEN',
    help: 'bearer token (env SALLYPORT_TOKEN)',
  },
  ca: {
    type: 'string',
    value: 'FILE',
    env: 'SALLYPORT_CA',
    help: 'PEM CA or self-signed certificate to trust (env SALLYPORT_CA)',
  },
  fingerprint: {
    type: 'string',
    value: 'HEX',
    env: 'SALLYPORT_FINGERPRINT',
    help: 'pin the listener certificate instead (env SALLYPORT_FINGERPRINT)',
  },
} as const satisfies FlagTable;

/** The token flag's help where the commands say where to get one. */
export const TOKEN_HELP = "bearer token (env SALLYPORT_TOKEN; get one with 'sallyport admin login')";

export interface ConnectionFlags {
  server?: string;
  token?: string;
  ca?: string;
  fingerprint?: string;
}

/**
 * An ApiClient from the flags, else the environment; a string saying what is missing when the
 * server (or, with `requireToken`, the token) is not given: the caller reports it as a usage error.
 */
export function apiClientFrom(
  o: ConnectionFlags,
  env: Record<string, string | undefined>,
  opts: { requireToken?: boolean; maxBody?: number } = {},
): ApiClient | string {
  const named = o.server ?? env.SALLYPORT_SERVER;
  const loaded = loadProfile(env);
  if (typeof loaded === 'string' && !named) return loaded;
  const profile =
    typeof loaded === 'object' && (!named || sameServer(named, loaded.server)) ? loaded : undefined;
  const server = named ?? profile?.server;
  if (!server)
    return "no coordinator given: run 'sallyport login https://HOST:PORT', or pass --server https://HOST:PORT (env SALLYPORT_SERVER)";
  if (!/^https:\/\/[^/]/.test(server))
    return `--server / SALLYPORT_SERVER must be an https:// URL, got '${server}'`;
  const token = o.token ?? env.SALLYPORT_TOKEN ?? profile?.token;
  if (opts.requireToken && !token) return `not logged in (no token): ${LOGIN_HINT}`;
  const caFile = o.ca ?? env.SALLYPORT_CA;
  const fingerprint =
    o.fingerprint ?? env.SALLYPORT_FINGERPRINT ?? (caFile ? undefined : profile?.fingerprint);
  let ca: string | undefined;
  try {
    ca = caFile ? readFileSync(caFile, 'utf8') : fingerprint ? undefined : profile?.ca;
  } catch (e) {
    return `cannot read the CA file ${caFile} (--ca / SALLYPORT_CA): ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`;
  }
  return new ApiClient({
    server,
    ...(opts.maxBody ? { maxBody: opts.maxBody } : {}),
    ...(ca ? { ca } : {}),
    ...(fingerprint ? { fingerprint } : {}),
    ...(token ? { token } : {}),
  });
}

/** apiClientFrom, with what is missing as a UsageError (exit 2). */
export function requireApiClient(
  o: ConnectionFlags,
  env: Record<string, string | undefined>,
  opts: { requireToken?: boolean; maxBody?: number } = {},
): ApiClient {
  const api = apiClientFrom(o, env, opts);
  if (typeof api === 'string') throw new UsageError(api);
  return api;
}
