// The CLI's own errors: each has a stable `code` and the exit code the command ends with. Callers
// check the code (or the class), never the message; report.ts turns them into one line on stderr.
//
//   code               class        exit  what
//   USAGE              UsageError   2     the command line is wrong (a message says what to change)
//   UNKNOWN_OPTION     UsageError   2     a flag the command does not have
//   MISSING_VALUE      UsageError   2     a flag that takes a value was given none
//   UNEXPECTED_VALUE   UsageError   2     a boolean flag was given one (--json=yes)
//   BAD_VALUE          UsageError   2     a value that does not convert (a number, a duration, a choice)
//   MISSING_FLAG       UsageError   2     a required flag is missing
//   BAD_ARGUMENTS      UsageError   2     too few or too many positional arguments
//   FAILED             Failed       1     refused here, before asking anyone (no grant, no agent)
//   CONFIG_*           ConfigFileError (config-file.ts), exit 2
import { SallyportError } from '../../util/index.ts';
import { EXIT, type ExitCode } from './exit-codes.ts';

export type UsageCode =
  | 'USAGE'
  | 'UNKNOWN_OPTION'
  | 'MISSING_VALUE'
  | 'UNEXPECTED_VALUE'
  | 'BAD_VALUE'
  | 'MISSING_FLAG'
  | 'BAD_ARGUMENTS';

/** An error a command reports as one message and ends with `exit`. */
export class CliError extends SallyportError {
  readonly exit: ExitCode;

  constructor(code: string, message: string, exit: ExitCode, opts: { cause?: unknown } = {}) {
    super(code, message, opts);
    this.exit = exit;
  }
}

/** Bad usage: the command line is wrong and nothing was done (exit 2). */
export class UsageError extends CliError {
  constructor(message: string, opts: { code?: UsageCode; cause?: unknown } = {}) {
    super(opts.code ?? 'USAGE', message, EXIT.USAGE, opts);
  }
}

/** A refusal decided here, before asking the server (exit 1). */
export class Failed extends CliError {
  constructor(message: string, opts: { cause?: unknown } = {}) {
    super('FAILED', message, EXIT.FAILED, opts);
  }
}
