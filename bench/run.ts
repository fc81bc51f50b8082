// The benchmark command: `npm run bench -- SUITE... [--json] [options]` (see usage below).
import { readdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { pathToFileURL } from 'node:url';
import {
  createBench,
  DEFAULT_TIMING,
  jsonLine,
  QUICK_TIMING,
  tableHeader,
  tableRow,
  type Bench,
  type Timing,
} from './framework.ts';

const dir = new URL('./', import.meta.url);

/** Suites present: every bench/<name>.bench.ts, with the first line of its opening comment. */
export function suites(): Map<string, string> {
  const found = new Map<string, string>();
  for (const f of readdirSync(dir).sort()) {
    const m = /^(.+)\.bench\.ts$/.exec(f);
    if (!m) continue;
    const first = readFileSync(new URL(f, dir), 'utf8').split('\n', 1)[0];
    found.set(m[1], first.startsWith('//') ? first.replace(/^\/\/\s*/, '') : '');
  }
  return found;
}

function usage(): string {
  const list = [...suites()].map(([n, d]) => `  ${n.padEnd(10)} ${d}`).join('\n');
  return `usage: npm run bench -- [SUITE...] [--json] [--quick] [--runs N] [--run-ms MS] [--warmup-ms MS] [--filter TEXT]

Runs bench/SUITE.bench.ts and prints a table, or with --json one JSON object per line:
  {"suite","name","value","unit"} plus "baseline" (the peer's value, measured in the same run)
  and "ratio" (ours / peer: the median of the per-round ratios) where the suite measured a peer,
  and "goal" (as the issue wrote it) with "met" (true/false) where the figure has a goal.

suites (none named, or "all": every suite):
${list || '  (none found)'}

options:
  --json          JSON lines on stdout (progress goes to stderr)
  --quick         short runs (${QUICK_TIMING.runs} × ${QUICK_TIMING.runMs} ms): a smoke test, not figures to quote
  --runs N        timed runs per measurement, median reported (default ${DEFAULT_TIMING.runs})
  --run-ms MS     length of one timed run (default ${DEFAULT_TIMING.runMs})
  --warmup-ms MS  warm-up before measuring (default ${DEFAULT_TIMING.warmupMs})
  --filter TEXT   only measurements whose name contains TEXT
  --help          this text

example: npm run bench -- session --json
exit codes: 0 done, 1 a suite failed, 2 bad usage`;
}

export interface Args {
  suites: string[];
  json: boolean;
  help: boolean;
  timing: Timing;
  filter?: string;
}

/** Parses the command line; throws an Error whose message is meant for the user. */
export function parseArgs(argv: string[]): Args {
  const a: Args = { suites: [], json: false, help: false, timing: { ...DEFAULT_TIMING } };
  const num = (flag: string, v: string | undefined, min: number): number => {
    const n = Number(v);
    if (v === undefined || !Number.isInteger(n) || n < min)
      throw new Error(`${flag} needs an integer ≥ ${min}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const x = argv[i];
    if (x === '--json') a.json = true;
    else if (x === '--help' || x === '-h') a.help = true;
    else if (x === '--quick') a.timing = { ...QUICK_TIMING };
    else if (x === '--runs') a.timing.runs = num(x, argv[++i], 1);
    else if (x === '--run-ms') a.timing.runMs = num(x, argv[++i], 1);
    else if (x === '--warmup-ms') a.timing.warmupMs = num(x, argv[++i], 0);
    else if (x === '--filter') {
      const v = argv[++i];
      if (v === undefined) throw new Error('--filter needs a text');
      a.filter = v;
    } else if (x.startsWith('-')) throw new Error(`unknown option ${x}`);
    else a.suites.push(x);
  }
  return a;
}

type SuiteFn = (b: Bench) => Promise<void> | void;

async function main(argv: string[]): Promise<number> {
  let args: Args;
  try {
    args = parseArgs(argv);
  } catch (e) {
    console.error(`${(e as Error).message}\n\n${usage()}`);
    return 2;
  }
  if (args.help) {
    console.log(usage());
    return 0;
  }
  const known = suites();
  // No suite named (`npm run bench -- --json`) or "all": every suite.
  const chosen = args.suites.length === 0 || args.suites.includes('all') ? [...known.keys()] : args.suites;
  const unknown = chosen.filter((s) => !known.has(s));
  if (chosen.length === 0 || unknown.length) {
    const what = unknown.length ? `unknown suite(s): ${unknown.join(', ')}` : 'no suites found';
    console.error(`${what}; known: ${[...known.keys()].join(', ') || '(none)'}\n\n${usage()}`);
    return 2;
  }

  const note = (m: string) => process.stderr.write(`[bench] ${m}\n`);
  if (!args.json) {
    const cpu = cpus();
    const t = args.timing;
    console.log(`node ${process.version}, ${cpu[0]?.model ?? 'unknown cpu'} × ${cpu.length}`);
    console.log(`warm-up ${t.warmupMs} ms, median of ${t.runs} runs × ${t.runMs} ms, peers interleaved\n`);
  }
  let failed = 0;
  for (const name of chosen) {
    try {
      const mod = (await import(new URL(`${name}.bench.ts`, dir).href)) as {
        run?: SuiteFn;
        default?: SuiteFn;
      };
      const fn = mod.run ?? mod.default;
      if (typeof fn !== 'function') throw new Error(`bench/${name}.bench.ts exports no run(b) function`);
      if (!args.json) console.log(`${name}\n${tableHeader()}`);
      const bench = createBench({
        suite: name,
        timing: args.timing,
        filter: args.filter,
        note,
        emit: (r) => console.log(args.json ? jsonLine(r) : tableRow(r)),
      });
      await fn(bench);
      if (!args.json) console.log('');
    } catch (e) {
      failed++;
      console.error(`suite ${name} failed: ${(e as Error).stack ?? String(e)}`);
    }
  }
  return failed ? 1 : 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const code = await main(process.argv.slice(2));
  // Done once the figures are printed: a handle a peer left open (a child's pipe, a worker, a
  // timer) must not keep the run alive (issue 20: one run hung at exit). Say what was still open,
  // then exit once stdout has drained.
  const left = process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap' && r !== 'PipeWrap');
  if (left.length)
    process.stderr.write(`[bench] still open at the end: ${left.join(', ')}; exiting anyway\n`);
  process.stdout.write('', () => process.exit(code));
}
