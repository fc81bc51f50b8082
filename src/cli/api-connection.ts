// How API-backed commands (admin, access commands, audit list/export) reach the coordinator:
// flags first, then SALLYPORT_SERVER / SALLYPORT_TOKEN / SALLYPORT_CA / SALLYPORT_FINGERPRINT.
import { readFileSync } from 'node:fs';
import { ApiClient } from '../control/api-client.ts';
import { LOGIN_HINT } from './exit.ts';

/** The parseArgs options every API-backed command accepts. */
export const CONNECTION_OPTIONS = {
  server: { type: 'string' },
  token: { type: 'string' },
  ca: { type: 'string' },
  fingerprint: { type: 'string' },
} as const;

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
  const server = o.server ?? env.SALLYPORT_SERVER;
  if (!server)
    return "no coordinator given: pass --server https://HOST:PORT or export SALLYPORT_SERVER (the URL 'sallyport coordinator' printed)";
  if (!/^https:\/\/[^/]/.test(server))
    return `--server / SALLYPORT_SERVER must be an https:// URL, got '${server}'`;
  const token = o.token ?? env.SALLYPORT_TOKEN;
  if (opts.requireToken && !token) return `not logged in (no token): ${LOGIN_HINT}`;
  const caFile = o.ca ?? env.SALLYPORT_CA;
  const fingerprint = o.fingerprint ?? env.SALLYPORT_FINGERPRINT;
  let ca: string | undefined;
  try {
    ca = caFile ? readFileSync(caFile, 'utf8') : undefined;
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
