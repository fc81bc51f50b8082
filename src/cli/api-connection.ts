// How API-backed commands (admin, access commands, audit list/export) reach the coordinator:
// flags first, then SALLYPORT_SERVER / SALLYPORT_TOKEN / SALLYPORT_CA / SALLYPORT_FINGERPRINT.
import { readFileSync } from 'node:fs';
import { ApiClient } from '../control/api-client.ts';

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
  if (!server) return 'no server: --server https://HOST:PORT or SALLYPORT_SERVER';
  const token = o.token ?? env.SALLYPORT_TOKEN;
  if (opts.requireToken && !token)
    return 'no token: --token or SALLYPORT_TOKEN (sallyport admin login --user NAME)';
  const caFile = o.ca ?? env.SALLYPORT_CA;
  const fingerprint = o.fingerprint ?? env.SALLYPORT_FINGERPRINT;
  return new ApiClient({
    server,
    ...(opts.maxBody ? { maxBody: opts.maxBody } : {}),
    ...(caFile ? { ca: readFileSync(caFile, 'utf8') } : {}),
    ...(fingerprint ? { fingerprint } : {}),
    ...(token ? { token } : {}),
  });
}
