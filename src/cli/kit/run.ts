// One command invocation on the kit: parse the command line, print --help, run the body, and
// report what it throws through the one error printer (report.ts).
import { EXIT } from './exit-codes.ts';
import type { FlagTable } from './flags.ts';
import type { CommandIo } from './io.ts';
import { HELP, parse, type CommandSpec, type Parsed } from './parse.ts';
import { reportError, type ReportOptions } from './report.ts';

/** A command's declaration and its --help text. */
export interface CommandDef<F extends FlagTable> extends CommandSpec<F> {
  readonly help: string;
}

/** Text as printed: ending in one newline. */
export const withNewline = (s: string): string => (s.endsWith('\n') ? s : s + '\n');

/**
 * Runs `body` on the parsed command line; --help prints the help (exit 0). What it throws is
 * reported (`report`, or the options made from the parsed line) and becomes the exit code;
 * an error that is no failure a command reports (a bug) is rethrown.
 */
export async function runCommand<F extends FlagTable>(
  def: CommandDef<F>,
  argv: readonly string[],
  io: CommandIo,
  body: (p: Parsed<F>) => Promise<number> | number,
  report: ReportOptions | ((p: Parsed<F>) => ReportOptions) = {},
): Promise<number> {
  let parsed: Parsed<F> | undefined;
  try {
    const p = parse(def, argv, io.env);
    if (p === HELP) {
      io.stdout(withNewline(def.help));
      return EXIT.OK;
    }
    parsed = p;
    return await body(p);
  } catch (e) {
    const o = typeof report === 'function' ? (parsed ? report(parsed) : {}) : report;
    const code = reportError(def.name, e, io.stderr, o);
    if (code === undefined) throw e;
    return code;
  }
}
