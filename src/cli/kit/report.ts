// The one error printer of the CLI: a typed error (one with a `code`) becomes one message on
// stderr, `sallyport CMD: …`, and the command's exit code; bad usage adds where the options are.
// An error that is none of these (a bug) is not reported here: the caller rethrows it, and
// main.ts prints it as an unexpected error.
import { CliError } from './errors.ts';
import { EXIT, type ExitCode } from './exit-codes.ts';

/** A failure as one message (with what to do next) and its exit code. */
export interface Failure {
  code: ExitCode;
  message: string;
}

export interface ReportOptions {
  /** Codes of other modules' errors that mean the command line cannot work (exit 2), e.g. INGRESS_CONFIG. */
  usageCodes?: readonly string[];
  /** Codes of other modules' errors that mean it failed (exit 1), reported with their message. */
  failedCodes?: readonly string[];
  /** Classifies what the codes do not: the coordinator's answers (exit.ts `apiFailure`), a module's own. */
  classify?: (e: unknown) => Failure | undefined;
}

const codeOf = (e: unknown): string | undefined => {
  const c = (e as { code?: unknown } | null)?.code;
  return typeof c === 'string' ? c : undefined;
};

/** Where to read about the command's options, after a usage error. */
export const usageHint = (cmd: string): string => `(see sallyport ${cmd} --help)`;

/** The failure `e` means for `sallyport CMD`, or undefined when it is not one a command reports. */
export function failureOf(cmd: string, e: unknown, o: ReportOptions = {}): Failure | undefined {
  const code = codeOf(e);
  const message = (e as Error).message;
  const usage = (m: string): Failure => ({ code: EXIT.USAGE, message: `${m}\n${usageHint(cmd)}` });
  if (e instanceof CliError) return e.exit === EXIT.USAGE ? usage(message) : { code: e.exit, message };
  if (code !== undefined && o.usageCodes?.includes(code)) return usage(message);
  if (code !== undefined && o.failedCodes?.includes(code)) return { code: EXIT.FAILED, message };
  return o.classify?.(e);
}

/**
 * Writes `sallyport CMD: MESSAGE` for `e` and returns its exit code; undefined (nothing written)
 * when `e` is not a failure a command reports: the caller rethrows it.
 */
export function reportError(
  cmd: string,
  e: unknown,
  stderr: (s: string) => void,
  o: ReportOptions = {},
): ExitCode | undefined {
  const f = failureOf(cmd, e, o);
  if (!f) return undefined;
  stderr(`sallyport ${cmd}: ${f.message}\n`);
  return f.code;
}
