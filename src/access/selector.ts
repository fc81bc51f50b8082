import type { Labelled, Selector } from './policy.ts';

/** Whether `selector` picks `item` (see `Selector`). */
export function matches(selector: Selector, item: Labelled): boolean {
  if (selector === '*') return true;
  if (selector.names !== undefined && selector.names.includes(item.name)) return true;
  if (selector.labels !== undefined) {
    const have = item.labels ?? {};
    const want = Object.entries(selector.labels);
    if (want.length > 0 && want.every(([k, v]) => Object.hasOwn(have, k) && have[k] === v)) return true;
  }
  return false;
}
