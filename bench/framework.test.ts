// Tests of the benchmark framework and command. Run: node --import tsx --test bench/framework.test.ts
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createBench, goals, jsonLine, median, tableRow, type Result, type Timing } from './framework.ts';
import { parseArgs } from './run.ts';

const timing: Timing = { warmupMs: 5, runMs: 20, runs: 3 };

/** A bench on a fake time source that each operation advances by its own cost. */
function fakeBench(filter?: string) {
  let t = 0;
  const results: Result[] = [];
  const b = createBench({
    suite: 'x',
    timing,
    filter,
    emit: (r) => results.push(r),
    now: () => t,
    batchMs: 1,
  });
  const op = (costMs: number) => () => {
    t += costMs;
  };
  return { b, results, op };
}

describe('bench framework', () => {
  test('median', () => {
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 3, 2]), 2.5);
    assert.throws(() => median([]));
  });

  test('measure reports calls per second times `per`', async () => {
    const { b, results, op } = fakeBench();
    const v = await b.measure('one', 'MB/s', op(0.002), { per: 0.5 });
    assert.ok(Math.abs(v! - 250_000) < 1, `got ${v}`);
    assert.deepEqual(Object.keys(results[0]).sort(), ['name', 'suite', 'unit', 'value']);
  });

  test('compare reports ours with the peer as baseline and ours/peer as ratio', async () => {
    const { b, results, op } = fakeBench();
    const r = await b.compare('cmp', 'ops/s', op(0.001), op(0.004));
    assert.ok(r);
    assert.ok(Math.abs(r.value - 1e6) < 1e-3 * 1e6, `value ${r.value}`);
    assert.ok(Math.abs(r.baseline! - 250_000) < 1e-3 * 250_000, `baseline ${r.baseline}`);
    assert.ok(Math.abs(r.ratio! - 4) < 1e-3, `ratio ${r.ratio}`);
    assert.equal(results.length, 1);
  });

  test('async operations are awaited', async () => {
    const { b, op } = fakeBench();
    const step = op(0.01);
    let pending = 0;
    const v = await b.measure('async', 'ops/s', async () => {
      pending++;
      await Promise.resolve();
      step();
      pending--;
    });
    assert.equal(pending, 0);
    assert.ok(Math.abs(v! - 100_000) < 100, `got ${v}`);
  });

  test('a filter skips other names and report() computes the ratio', async () => {
    const { b, results, op } = fakeBench('keep');
    assert.equal(await b.measure('drop me', 'ops/s', op(1)), undefined);
    assert.equal(b.wants('KEEP this'), true);
    b.report({ name: 'keep this', value: 3, unit: 'ms', baseline: 6 });
    b.report({ name: 'not this', value: 3, unit: 'ms' });
    assert.deepEqual(results, [
      { suite: 'x', name: 'keep this', value: 3, unit: 'ms', baseline: 6, ratio: 0.5 },
    ]);
  });

  test('a goal adds goal and met, judged on the reported figure', async () => {
    const { b, results, op } = fakeBench();
    await b.compare('fast', 'ops/s', op(0.001), op(0.004), { goal: goals.ratioAtLeast(0.5) });
    await b.compare('slow', 'ops/s', op(0.004), op(0.001), { goal: goals.ratioAtLeast(0.5) });
    const lat = b.report({ name: 'lat', value: 3, unit: 'ms' }, goals.valueAtMost(2, '≤ 2 ms'));
    assert.deepEqual(
      results.map((r) => [r.name, r.goal, r.met]),
      [
        ['fast', '≥ 0.5×', true],
        ['slow', '≥ 0.5×', false],
        ['lat', '≤ 2 ms', false],
      ],
    );
    assert.equal(lat?.met, false);
    const line = JSON.parse(jsonLine(results[0])) as Result;
    assert.equal(line.goal, '≥ 0.5×');
    assert.equal(line.met, true);
    assert.match(tableRow(results[1]), /\[goal ≥ 0\.5×: NOT met\]$/);
    await b.measure('plain', 'ops/s', op(1));
    assert.equal('goal' in results[3], false);
  });

  test('output formats', () => {
    const r: Result = {
      suite: 's',
      name: 'n',
      value: 1234567.891,
      unit: 'ops/s',
      baseline: 1000,
      ratio: 1234.567891,
    };
    assert.deepEqual(JSON.parse(jsonLine(r)), { ...r, value: 1235000, ratio: 1235 });
    assert.match(tableRow(r), /1\.235 M\s+ops\/s\s+1\.000 k\s+1234\.6×\s+n$/);
  });

  test('parseArgs', () => {
    const a = parseArgs(['session', '--json', '--runs', '7', '--filter', 'replay']);
    assert.deepEqual(a.suites, ['session']);
    assert.equal(a.json, true);
    assert.equal(a.timing.runs, 7);
    assert.equal(a.filter, 'replay');
    assert.equal(parseArgs(['--quick']).timing.runMs < a.timing.runMs, true);
    assert.throws(() => parseArgs(['--runs', '0']), /--runs/);
    assert.throws(() => parseArgs(['--bogus']), /unknown option/);
    assert.deepEqual(parseArgs(['--json']).suites, []); // no suite: the command runs them all
  });
});

describe('bench command', () => {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const bench = (...args: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', 'bench/run.ts', ...args], {
      cwd: root,
      encoding: 'utf8',
    });

  test('--help lists the suites; a bad suite is a usage error', () => {
    const h = bench('--help');
    assert.equal(h.status, 0);
    assert.match(h.stdout, /session/);
    const bad = bench('no-such-suite');
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /unknown suite/);
  });

  test('session --json prints one result object per line', () => {
    const r = bench('session', '--json', '--quick', '--filter', 'checkParts');
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, 1, r.stdout);
    const o = JSON.parse(lines[0]) as Result;
    assert.equal(o.suite, 'session');
    assert.match(o.name, /checkParts/);
    assert.equal(o.unit, 'ops/s');
    assert.ok(o.value > 0 && o.baseline! > 0 && o.ratio! > 0);
  });
});
