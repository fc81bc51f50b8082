// Runs a sallyport command module in-process with its stderr captured (the install tests feed
// documented config files to the commands this way).
export async function stderrOf(cmd: string, args: string[]): Promise<{ code: number; err: string }> {
  const { run } = (await import(`../../src/cli/${cmd}.ts`)) as { run: (a: string[]) => Promise<number> };
  const w = process.stderr.write;
  let err = '';
  process.stderr.write = ((s: string) => ((err += s), true)) as typeof w;
  try {
    return { code: await run(args), err };
  } finally {
    process.stderr.write = w;
  }
}
