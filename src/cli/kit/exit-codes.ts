// The process exit codes of every `sallyport` command, one table, so a script can tell "the server
// said no" from "I typed it wrong" from "the server is not there" from "log in again".

/** The process exit codes of every command (documented in `sallyport --help`). */
export const EXIT = {
  /** Done (a long-running command: stopped by a signal). */
  OK: 0,
  /** Refused or failed: the server or the agent said no, a check failed, or a process could not start. */
  FAILED: 1,
  /** Bad usage: unknown flag, missing argument, missing server or token. Nothing was sent. */
  USAGE: 2,
  /** The coordinator could not be reached: connection refused, name not found, TLS handshake failed. */
  UNREACHABLE: 3,
  /** The coordinator rejected the credentials (HTTP 401): the token expired or was revoked. */
  UNAUTHENTICATED: 4,
  /** Interrupted (SIGINT) before the work was done, e.g. the lab's story (128 + SIGINT). */
  INTERRUPTED: 130,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];
