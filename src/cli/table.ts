// Listings for people: a header line, then one line per row; each column as wide as its widest
// cell, two spaces between columns, no trailing blanks. (--json prints the rows themselves.)

/** A column: its header and how a row's cell reads. */
export type Column<R> = readonly [header: string, cell: (row: R) => string];

export function table<R>(rows: readonly R[], cols: readonly Column<R>[]): string {
  const data = rows.map((r) => cols.map(([, cell]) => cell(r)));
  const widths = cols.map(([h], i) => Math.max(h.length, ...data.map((d) => d[i].length)));
  const line = (xs: readonly string[]): string =>
    xs
      .map((x, i) => x.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  return [line(cols.map(([h]) => h)), ...data.map(line)].join('\n') + '\n';
}

/** An epoch-ms time as ISO 8601 to the second (UTC), '-' when there is none. */
export const isoTime = (ms: unknown): string =>
  typeof ms === 'number' ? new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z') : '-';
