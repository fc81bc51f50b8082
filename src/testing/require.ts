import type { TestContext } from 'node:test';

/** True when CI demands that every environment-dependent test runs (SALLYPORT_REQUIRE_ALL=1). */
export const requireAll = process.env.SALLYPORT_REQUIRE_ALL === '1';

/** True for the heavy variants (SALLYPORT_FULL=1). */
export const fullRun = process.env.SALLYPORT_FULL === '1';

/**
 * Skips the test loudly when `missing` names something the environment lacks (root, a binary,
 * a namespace); under SALLYPORT_REQUIRE_ALL=1 the skip is a failure instead. Returns true when the
 * test should go on.
 */
export function needs(t: TestContext, missing: string | undefined): boolean {
  if (!missing) return true;
  const msg = `SKIPPED ${t.name}: ${missing}`;
  if (requireAll) throw new Error(`${msg} (SALLYPORT_REQUIRE_ALL=1 forbids skipping)`);
  process.stderr.write(`\n*** ${msg} ***\n\n`);
  t.skip(missing);
  return false;
}

/** Undefined when running as root, else the reason. */
export function rootMissing(): string | undefined {
  return process.getuid?.() === 0 ? undefined : 'needs root (network namespaces)';
}
