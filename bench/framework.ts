// The benchmark framework: measures operation rates with warm-up, bounded time and the median
// of several runs, and compares ours against a peer measured in the same run (runs interleaved
// round by round — ours, peer / peer, ours / ... — so drift in CPU frequency or load hits both).
//
// A suite is `bench/<name>.bench.ts` exporting `run(b: Bench)` (or a default export of the same
// shape); bench/run.ts finds it, builds the Bench and prints what the suite reports.

/** One reported figure; the JSON line `--json` prints. */
export interface Result {
  suite: string;
  name: string;
  value: number;
  unit: string;
  /** The peer's value, measured in the same run. */
  baseline?: number;
  /** Ours / peer: value / baseline, or with compare() the median of the per-round ratios. */
  ratio?: number;
  /** The goal this figure is held to, as written in the issue that set it (e.g. "≥ 0.5×"). */
  goal?: string;
  /** Whether this run met `goal` (present exactly when `goal` is). */
  met?: boolean;
}

/** A goal and its test on the reported figure (value, baseline and ratio as reported). */
export interface Goal {
  text: string;
  met(r: Result): boolean;
}

/** Goal helpers for the usual shapes: a ratio floor or ceiling, a value ceiling. */
export const goals = {
  ratioAtLeast: (x: number, text = `≥ ${x}×`): Goal => ({ text, met: (r) => (r.ratio ?? NaN) >= x }),
  ratioAtMost: (x: number, text = `≤ ${x}×`): Goal => ({ text, met: (r) => (r.ratio ?? NaN) <= x }),
  valueAtMost: (x: number, text: string): Goal => ({ text, met: (r) => r.value <= x }),
};

/** One call of the operation under test; may be async (awaited, so prefer sync where possible). */
export type Op = () => unknown;

export interface Timing {
  /** Time spent running the operation before measuring (ms). Default 300. */
  warmupMs: number;
  /** Length of one timed run (ms). Default 400. */
  runMs: number;
  /** Timed runs per measurement; the median is reported. Default 5. */
  runs: number;
}

export const DEFAULT_TIMING: Timing = { warmupMs: 300, runMs: 400, runs: 5 };
/** `--quick`: enough to smoke-test a suite, not to quote. */
export const QUICK_TIMING: Timing = { warmupMs: 30, runMs: 50, runs: 3 };

export interface RateOptions {
  /**
   * Amount of the reported unit one call represents (default 1): 1 for "ops/s", or bytes / 1e6
   * per call for "MB/s". The reported value is calls per second × per.
   */
  per?: number;
  /** The figure's goal: the result carries `goal` and `met`. */
  goal?: Goal;
}

/** What a suite receives. */
export interface Bench {
  readonly suite: string;
  readonly timing: Timing;
  /** False when `--filter` excludes this name: the suite may skip its setup. */
  wants(name: string): boolean;
  /** Measures `fn` alone and reports `name` with its median rate. */
  measure(name: string, unit: string, fn: Op, opts?: RateOptions): Promise<number | undefined>;
  /** Measures ours and the peer interleaved and reports ours with `baseline` and `ratio`. */
  compare(name: string, unit: string, ours: Op, peer: Op, opts?: RateOptions): Promise<Result | undefined>;
  /** Reports a figure measured by the suite itself; with `goal`, also whether it was met. */
  report(result: Omit<Result, 'suite' | 'ratio' | 'goal' | 'met'>, goal?: Goal): Result | undefined;
  /** A progress line or caveat for the reader (stderr; never mixed into --json output). */
  note(message: string): void;
}

/** Median of a non-empty list. */
export function median(xs: number[]): number {
  if (xs.length === 0) throw new RangeError('median of nothing');
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** The time source: performance.now() unless a test supplies its own. */
export type Now = () => number;

/**
 * A calibrated runner for one operation: `batch` calls between two readings of the clock,
 * chosen during warm-up so a batch lasts about `batchMs`, keeping the clock's cost out of the rate.
 */
class Runner {
  batch = 1;
  #async: boolean | undefined;

  constructor(
    readonly fn: Op,
    readonly now: Now,
  ) {}

  /** Runs `n` calls. */
  async #calls(n: number): Promise<void> {
    const fn = this.fn;
    if (this.#async === undefined) {
      const r = fn();
      this.#async = typeof (r as { then?: unknown } | undefined)?.then === 'function';
      if (this.#async) await r;
      n--;
    }
    if (this.#async) for (let i = 0; i < n; i++) await fn();
    else for (let i = 0; i < n; i++) fn();
  }

  /** Runs for about `ms`, growing the batch until one lasts `batchMs`. */
  async warmup(ms: number, batchMs: number): Promise<void> {
    const end = this.now() + ms;
    do {
      const t0 = this.now();
      await this.#calls(this.batch);
      const took = this.now() - t0;
      if (took < batchMs) this.batch = Math.min(this.batch * 2, 1 << 24);
    } while (this.now() < end);
  }

  /** Calls per second over one timed run of about `ms`. */
  async run(ms: number): Promise<number> {
    let calls = 0;
    const t0 = this.now();
    let t = t0;
    do {
      await this.#calls(this.batch);
      calls += this.batch;
      t = this.now();
    } while (t - t0 < ms);
    return (calls * 1000) / (t - t0);
  }
}

export interface BenchDeps {
  suite: string;
  timing?: Timing;
  /** Only names containing this substring (case-insensitive) are measured. */
  filter?: string;
  emit(result: Result): void;
  note?(message: string): void;
  now?: Now;
  /** Target length of one batch between clock readings (ms). Default 2. */
  batchMs?: number;
}

/** Builds the Bench a suite receives. */
export function createBench(deps: BenchDeps): Bench {
  const timing = deps.timing ?? DEFAULT_TIMING;
  const now = deps.now ?? (() => performance.now());
  const batchMs = deps.batchMs ?? 2;
  const note = deps.note ?? (() => {});
  const filter = deps.filter?.toLowerCase();
  const wants = (name: string) => !filter || name.toLowerCase().includes(filter);

  /** Rates of each runner's timed runs (calls/s), interleaved round by round. */
  async function rates(runners: Runner[]): Promise<number[][]> {
    for (const r of runners) await r.warmup(timing.warmupMs, batchMs);
    const samples: number[][] = runners.map(() => []);
    for (let i = 0; i < timing.runs; i++) {
      // Alternate who goes first, so neither always runs right after the other's garbage.
      const order = i % 2 ? [...runners.keys()].reverse() : [...runners.keys()];
      for (const k of order) samples[k].push(await runners[k].run(timing.runMs));
    }
    return samples;
  }

  const emit = (r: Result) => deps.emit(r);
  return {
    suite: deps.suite,
    timing,
    wants,
    note,
    async measure(name, unit, fn, opts = {}) {
      if (!wants(name)) return undefined;
      note(`measuring ${name}`);
      const [calls] = await rates([new Runner(fn, now)]);
      const value = median(calls) * (opts.per ?? 1);
      emit(withGoal({ suite: deps.suite, name, value, unit }, opts.goal));
      return value;
    },
    async compare(name, unit, ours, peer, opts = {}) {
      if (!wants(name)) return undefined;
      note(`measuring ${name}`);
      const [a, b] = await rates([new Runner(ours, now), new Runner(peer, now)]);
      const per = opts.per ?? 1;
      // The ratio is the median of each round's ours/peer: a slowdown that hits both runs of a
      // round (another process, a frequency change) cancels out.
      const ratio = median(a.map((x, i) => x / b[i]));
      const result = withGoal(
        { suite: deps.suite, name, value: median(a) * per, unit, baseline: median(b) * per, ratio },
        opts.goal,
      );
      emit(result);
      return result;
    },
    report(r, goal) {
      if (!wants(r.name)) return undefined;
      const result: Result = { suite: deps.suite, ...r };
      if (r.baseline !== undefined) result.ratio = r.value / r.baseline;
      const out = withGoal(result, goal);
      emit(out);
      return out;
    },
  };
}

/** `r` with `goal` and `met` set from `goal` (unchanged without one). */
export function withGoal(r: Result, goal: Goal | undefined): Result {
  if (!goal) return r;
  return { ...r, goal: goal.text, met: goal.met(r) };
}

/** Rounds to 4 significant digits for output; exact figures are not worth more. */
export function round(x: number): number {
  return Number.isFinite(x) ? Number(x.toPrecision(4)) : x;
}

/** One JSON line. */
export function jsonLine(r: Result): string {
  const out: Result = { suite: r.suite, name: r.name, value: round(r.value), unit: r.unit };
  if (r.baseline !== undefined) out.baseline = round(r.baseline);
  if (r.ratio !== undefined) out.ratio = round(r.ratio);
  if (r.goal !== undefined) {
    out.goal = r.goal;
    out.met = r.met ?? false;
  }
  return JSON.stringify(out);
}

/** 1234567 → "1.235 M". */
export function human(x: number): string {
  const a = Math.abs(x);
  for (const [d, s] of [
    [1e9, ' G'],
    [1e6, ' M'],
    [1e3, ' k'],
  ] as const) {
    if (a >= d) return `${(x / d).toPrecision(4)}${s}`;
  }
  return x.toPrecision(4);
}

const COLS = [12, 12, 12, 10];

/** The readable table's header (the name comes last so that long names need no column). */
export function tableHeader(): string {
  return [...['value', 'unit', 'peer', 'ours/peer'].map((c, i) => c.padStart(COLS[i])), '  name'].join(' ');
}

/** One row of the readable table. */
export function tableRow(r: Result): string {
  const cells = [
    human(r.value),
    r.unit,
    r.baseline === undefined ? '' : human(r.baseline),
    r.ratio === undefined ? '' : `${r.ratio.toFixed(r.ratio < 10 ? 3 : 1)}×`,
  ];
  const goal = r.goal === undefined ? '' : `  [goal ${r.goal}: ${r.met ? 'met' : 'NOT met'}]`;
  return [...cells.map((c, i) => c.padStart(COLS[i])), `  ${r.name}${goal}`].join(' ');
}
