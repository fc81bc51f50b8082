// Runs a command's in-process `run()` with stderr captured (test-only).

/** Resolves with `fn`'s value and everything written to stderr meanwhile (not shown). */
export async function quiet<T>(fn: () => Promise<T>): Promise<{ value: T; err: string }> {
  const w = process.stderr.write;
  let err = '';
  process.stderr.write = ((s: string) => ((err += s), true)) as typeof w;
  try {
    return { value: await fn(), err };
  } finally {
    process.stderr.write = w;
  }
}
