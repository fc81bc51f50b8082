// Exit codes and error reports shared by every `sallyport` command: one table, so a script can tell
// "the server said no" from "I typed it wrong" from "the server is not there" from "log in again".
import { ApiError } from '../control/api-client.ts';
import { ControlError } from '../control/errors.ts';
import { EXIT, reportError, type ExitCode, type Failure, type ReportOptions } from './kit/index.ts';

export { EXIT, type ExitCode, type Failure } from './kit/index.ts';

/** The lines `sallyport --help` prints about exit codes. */
export const EXIT_CODES_HELP = `exit codes (every command):
  0  ok (a long-running command: stopped by SIGINT/SIGTERM)
  1  refused or failed: the server or the agent said no (its error code is printed), a check failed,
     the local agent is not running, or a process could not start
  2  bad usage: unknown option, missing argument, no server or token given; nothing was sent
  3  cannot reach the coordinator: connection refused, unknown host, TLS handshake failed
  4  the coordinator rejected your token (expired or revoked): log in again
  130  interrupted by Ctrl-C before the work was done (e.g. the lab's story)`;

/** The exit-code line of the help of every command that talks to the coordinator's API. */
export const API_EXIT_CODES =
  'exit codes: 0 ok, 1 refused by the server, 2 bad usage, 3 coordinator unreachable, 4 token rejected (log in again)';

/** What to run to get a token. */
export const LOGIN_HINT =
  "sign in with 'sallyport login https://COORDINATOR' (or pass --token TOKEN / SALLYPORT_TOKEN)";

const TLS_TRUST_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT',
  'CERT_UNTRUSTED',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** The errno-style code of an error or of its cause. */
function causeCode(e: unknown): string | undefined {
  for (let x: unknown = e, i = 0; x && i < 4; x = (x as { cause?: unknown }).cause, i++) {
    const c = (x as { code?: unknown }).code;
    if (typeof c === 'string' && c !== 'CONNECT') return c;
  }
  return undefined;
}

/**
 * Classifies an error from talking to the coordinator; undefined for an error that is not about the
 * API (the caller rethrows it). `server` is the URL, named in the hints.
 */
export function apiFailure(e: unknown, server?: string): Failure | undefined {
  if (e instanceof ApiError) {
    if (e.status === 401)
      return {
        code: EXIT.UNAUTHENTICATED,
        message: `${e.code} (HTTP 401): ${e.message}\nyour token is missing, expired or revoked: ${LOGIN_HINT}`,
      };
    const hint =
      e.status === 403
        ? '\nyou are signed in but may not do this: ask an administrator (sallyport admin groups add …)'
        : e.status === 404
          ? '\nnot found: check the name or ID (the list commands show them)'
          : '';
    return { code: EXIT.FAILED, message: `${e.code} (HTTP ${e.status}): ${e.message}${hint}` };
  }
  if (!(e instanceof ControlError)) return undefined;
  const where = server ? ` at ${server}` : '';
  if (e.code === 'TLS_PIN')
    return {
      code: EXIT.FAILED,
      message: `${e.message}\nthe server is not the one you pinned: compare --fingerprint / SALLYPORT_FINGERPRINT with the fingerprint 'sallyport coordinator' printed`,
    };
  if (e.code === 'CONNECT') {
    const c = causeCode(e);
    const hint =
      c && TLS_TRUST_CODES.has(c)
        ? `the coordinator's TLS certificate is not trusted (${c}): pass --ca FILE (its DATA/tls/cert.pem) or --fingerprint HEX (printed at its start)`
        : c === 'ECONNREFUSED'
          ? `nothing listens${where}: is 'sallyport coordinator' running? check --server / SALLYPORT_SERVER`
          : c === 'ENOTFOUND' || c === 'EAI_AGAIN'
            ? 'the host name does not resolve: check --server / SALLYPORT_SERVER'
            : `check --server / SALLYPORT_SERVER and that the coordinator is running${where}`;
    return { code: EXIT.UNREACHABLE, message: `cannot reach the coordinator: ${e.message}\n${hint}` };
  }
  return { code: EXIT.FAILED, message: `${e.code}: ${e.message}` };
}

/** The error printer's options for a command that talks to the coordinator at `server`. */
export const apiErrors = (server?: string): ReportOptions => ({ classify: (e) => apiFailure(e, server) });

/**
 * Reports an API failure of `sallyport CMD` on `err` and returns its exit code; undefined (nothing
 * written) when `e` is not about the API.
 */
export function reportApiFailure(
  cmd: string,
  e: unknown,
  err: (s: string) => void,
  server?: string,
): ExitCode | undefined {
  return apiFailure(e, server) ? reportError(cmd, e, err, apiErrors(server)) : undefined;
}
