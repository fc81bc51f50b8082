import { randomInt } from 'node:crypto';
import type { TestContext } from 'node:test';

/**
 * The seed of a vnet test: `SALLYPORT_SEED` when set (decimal or 0x-hex; `random` for a fresh one
 * each run), else derived from the test's name, so runs are reproducible by default.
 */
export function testSeed(name: string): number {
  const env = process.env.SALLYPORT_SEED;
  if (env !== undefined && env !== '') {
    if (env === 'random') return randomInt(0, 0xffffffff);
    const n = Number(env);
    if (!Number.isInteger(n) || n < 0 || n > 0xffffffff)
      throw new RangeError(`SALLYPORT_SEED must be an integer in [0, 2^32) or 'random', got ${env}`);
    return n;
  }
  return fnv1a32(name);
}

/**
 * Runs `fn` with the test's seed; if it fails, prints the seed and how to replay it, and appends
 * the seed to the error's message.
 */
export async function withSeed<T>(t: TestContext, fn: (seed: number) => T | Promise<T>): Promise<T> {
  const seed = testSeed(t.name);
  try {
    return await fn(seed);
  } catch (e) {
    const note = `seed ${seed}; replay: SALLYPORT_SEED=${seed} node --import tsx --test --test-name-pattern=${JSON.stringify(t.name)} <file>`;
    t.diagnostic(note);
    process.stderr.write(`\n*** ${t.name} failed with ${note}\n`);
    if (e instanceof Error && !e.message.includes(`seed ${seed}`)) {
      try {
        e.message += ` [seed ${seed}]`;
      } catch {
        // a frozen error keeps its message; the diagnostic above still names the seed
      }
    }
    throw e;
  }
}

function fnv1a32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}
