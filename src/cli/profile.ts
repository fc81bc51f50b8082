// The signed-in profile `sallyport login URL` writes: the coordinator, how to trust its TLS (CA
// PEM or certificate fingerprint) and the bearer token, in $XDG_CONFIG_HOME/sallyport/profile.json
// (default ~/.config/sallyport; SALLYPORT_CONFIG_DIR overrides), the directory 0700 and the file
// 0600. Every API-backed command uses it when no --server/--token (or SALLYPORT_SERVER/_TOKEN) is
// given; the token is only ever sent to the profile's own server.
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export interface Profile {
  server: string;
  /** PEM to trust for the coordinator's TLS (kept inline: the profile does not follow a file). */
  ca?: string;
  fingerprint?: string;
  token: string;
  /** When the token ends (ms). */
  expiresAt: number;
  user: string;
  /** How the person signed in: `oidc` or `password`. */
  method: string;
}

export function configDir(env: Record<string, string | undefined>): string {
  if (env.SALLYPORT_CONFIG_DIR) return env.SALLYPORT_CONFIG_DIR;
  const base = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config');
  return join(base, 'sallyport');
}

export const profilePath = (env: Record<string, string | undefined>): string =>
  join(configDir(env), 'profile.json');

/** The profile, or undefined when there is none; a string saying what is wrong with a broken one. */
export function loadProfile(env: Record<string, string | undefined>): Profile | undefined | string {
  const path = profilePath(env);
  if (!existsSync(path)) return undefined;
  let p: Partial<Profile>;
  try {
    p = JSON.parse(readFileSync(path, 'utf8')) as Partial<Profile>;
  } catch (e) {
    return `the profile ${path} cannot be read (${(e as Error).message}): run 'sallyport login URL' again`;
  }
  if (
    typeof p !== 'object' ||
    p === null ||
    typeof p.server !== 'string' ||
    !/^https:\/\/[^/]/.test(p.server) ||
    typeof p.token !== 'string' ||
    typeof p.expiresAt !== 'number' ||
    typeof p.user !== 'string'
  )
    return `the profile ${path} is not a sallyport profile: run 'sallyport login URL' again`;
  return {
    server: p.server,
    token: p.token,
    expiresAt: p.expiresAt,
    user: p.user,
    method: typeof p.method === 'string' ? p.method : 'password',
    ...(typeof p.ca === 'string' ? { ca: p.ca } : {}),
    ...(typeof p.fingerprint === 'string' ? { fingerprint: p.fingerprint } : {}),
  };
}

/** Writes the profile (0600, in a 0700 directory), replacing any other in one rename. */
export function saveProfile(env: Record<string, string | undefined>, p: Profile): string {
  const dir = configDir(env);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const path = profilePath(env);
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(p, null, 2) + '\n', { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
  return path;
}

export function removeProfile(env: Record<string, string | undefined>): boolean {
  const path = profilePath(env);
  if (!existsSync(path)) return false;
  rmSync(path);
  return true;
}

/** The same coordinator, whatever the spelling (trailing slash, default port). */
export function sameServer(a: string, b: string): boolean {
  try {
    return new URL(a).origin === new URL(b).origin;
  } catch {
    return false;
  }
}

/** A provider session's profile is renewed when less than this much of it is left. */
export const RENEW_WHEN_LEFT_MS = 4 * 3600_000;

/**
 * Renews the profile's token when it signed in through the identity provider and ends within
 * RENEW_WHEN_LEFT_MS (the coordinator asks the provider first: a person disabled there gets no new
 * token). Only when the command uses the profile (no --token / SALLYPORT_TOKEN, no other server).
 * Returns what happened, for a note on stderr; never throws.
 */
export async function renewProfileIfDue(
  env: Record<string, string | undefined>,
  argv: readonly string[],
  nowMs: number,
): Promise<'renewed' | 'not-due' | string> {
  if (env.SALLYPORT_TOKEN || argv.includes('--token')) return 'not-due';
  const p = loadProfile(env);
  if (typeof p !== 'object' || p.method !== 'oidc') return 'not-due';
  const server = env.SALLYPORT_SERVER;
  if (server && !sameServer(server, p.server)) return 'not-due';
  const left = p.expiresAt - nowMs;
  if (left > RENEW_WHEN_LEFT_MS || left <= 0) return 'not-due';
  try {
    const { ApiClient } = await import('../control/api-client.ts');
    const { routes } = await import('../control/routes/index.ts');
    const api = new ApiClient({
      server: p.server,
      token: p.token,
      ...(p.ca ? { ca: p.ca } : {}),
      ...(p.fingerprint ? { fingerprint: p.fingerprint } : {}),
    });
    const r = await api.route(routes.authRefresh, { body: {} });
    saveProfile(env, { ...p, token: r.token, expiresAt: r.expiresAt });
    return 'renewed';
  } catch (e) {
    return `could not renew the session (${(e as Error).message}); run 'sallyport login ${p.server}' when it ends`;
  }
}
