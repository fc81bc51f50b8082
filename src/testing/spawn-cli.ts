// A `sallyport` command as its own process, run from the source tree through tsx (test-only):
// what a user starts, with its own signals, exit code and output.
import { spawn, type ChildProcessByStdio, type StdioOptions } from 'node:child_process';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** Starts `sallyport NAME ARGS…` (src/cli/NAME.ts's `run`); stdout and stderr are pipes unless `stderr` says. */
export function spawnCli(
  name: string,
  args: string[],
  stderr: 'pipe' | 'inherit' = 'pipe',
  env?: Record<string, string>,
): ChildProcessByStdio<null, Readable, Readable> {
  const entry = `const m = await import(${JSON.stringify(`./src/cli/${name}.ts`)}); process.exitCode = await m.run(process.argv.slice(1));`;
  const stdio: StdioOptions = ['ignore', 'pipe', stderr];
  return spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', entry, '--', ...args], {
    cwd: root,
    stdio,
    ...(env ? { env: { ...process.env, ...env } } : {}),
  }) as ChildProcessByStdio<null, Readable, Readable>;
}
