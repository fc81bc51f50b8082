// What every command shares: where it reads its environment and writes its output (tests pass
// their own), and the two failures decided before asking anyone — bad usage (exit 2) and a
// refusal decided here (exit 1).
export interface CommandIo {
  env: Record<string, string | undefined>;
  stdout: (s: string) => void;
  stderr: (s: string) => void;
}

export const processIo: CommandIo = {
  env: process.env,
  stdout: (s) => void process.stdout.write(s),
  stderr: (s) => void process.stderr.write(s),
};

/** Bad usage: the command line is wrong (exit 2). */
export class UsageError extends Error {}
/** A refusal decided here, before asking the server (exit 1). */
export class Failed extends Error {}
