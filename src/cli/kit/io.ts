// Where a command reads its environment and writes its output: the process's by default, a test's
// own when it passes one.
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
