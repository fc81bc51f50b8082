// "Did you mean": the known words close to a mistyped one (short words only).

/** Levenshtein distance. */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++)
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length];
}

/** The words within two edits of `typed`, or starting with it. */
export function near(typed: string, words: Iterable<string>): string[] {
  return [...words].filter((w) => editDistance(w, typed) <= 2 || w.startsWith(typed));
}
