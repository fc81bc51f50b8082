// The CLI kit every `sallyport` command is written on: declared flags (flags.ts) read by one parser
// (parse.ts), option listings for --help made from the same declarations (help.ts), typed errors
// with codes (errors.ts) and the one printer that turns them into a message and an exit code
// (report.ts), around one invocation (run.ts).
export { EXIT, type ExitCode } from './exit-codes.ts';
export { CliError, Failed, UsageError, type UsageCode } from './errors.ts';
export {
  DURATION_UNITS,
  HELP_FLAG,
  flagLabel,
  parseArgsOptions,
  type DurationUnit,
  type FlagSpec,
  type FlagTable,
  type FlagType,
  type FlagValue,
  type FlagValues,
  type ParseArgsOptions,
} from './flags.ts';
export { ConfigFileError, applyConfigFile, readConfigObject } from './config-file.ts';
export { HELP, parse, type CommandSpec, type Env, type Parsed } from './parse.ts';
export { optionLines, type ListingEntry } from './help.ts';
export { processIo, type CommandIo } from './io.ts';
export { failureOf, reportError, usageHint, type Failure, type ReportOptions } from './report.ts';
export { runCommand, withNewline, type CommandDef } from './run.ts';
export { near } from './suggest.ts';
