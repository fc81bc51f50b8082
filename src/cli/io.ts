// What every command shares: where it reads its environment and writes its output (tests pass
// their own), and the two failures decided before asking anyone — bad usage (exit 2) and a
// refusal decided here (exit 1). All of it is the CLI kit's (kit/); this is its old address.
export { Failed, UsageError, processIo, type CommandIo } from './kit/index.ts';
