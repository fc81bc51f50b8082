// `sallyport lab --netns` as a user runs it (root): every party in its own namespace behind real
// NAT, the real CLI in each. With --once --json every step must be ok in the story's order, the path
// must go relay → direct through both NATs, the console must answer from the host, and nothing the
// lab created may be left: no namespace or link named after its PID, no process it started
// (ClickHouse and Prometheus run as grandchildren, inside the customer namespace). Without root it
// must refuse with exit 2 and say why.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { needs, rootMissing } from '../../src/testing/require.ts';
import { missingBinary } from '../../src/testing/netns.ts';

const BIN = fileURLToPath(new URL('../../bin/sallyport.js', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const STORY = ['enrol', 'request', 'approve', 'certificate', 'path', 'query', 'refused', 'audit', 'inbox'];

interface LabEvent {
  step: string;
  chapter: number;
  status: string;
  message: string;
  detail?: Record<string, unknown>;
  t: number;
}

/** pid → ppid of every process now. */
function processTable(): Map<number, number> {
  const m = new Map<number, number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      m.set(Number(d), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      /* gone meanwhile */
    }
  }
  return m;
}

/** Every descendant of `pid` now. */
function descendants(pid: number): number[] {
  const t = processTable();
  const out: number[] = [];
  const walk = (p: number): void => {
    for (const [c, pp] of t)
      if (pp === p) {
        out.push(c);
        walk(c);
      }
  };
  walk(pid);
  return out;
}

function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

const sh = (argv: string[]): string => execFileSync(argv[0], argv.slice(1), { encoding: 'utf8' });

/** Runs the lab as a child, collecting its events and every process below it while it runs. */
async function runLab(args: string[], onEvent: (e: LabEvent, kill: () => void) => void = () => {}) {
  const child = spawn(process.execPath, [BIN, 'lab', '--netns', '--json', ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const pid = child.pid!;
  const seen = new Map<number, string>();
  const watch = setInterval(() => {
    for (const p of descendants(pid))
      if (!seen.has(p))
        try {
          seen.set(p, readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').slice(0, 4).join(' '));
        } catch {
          /* gone */
        }
  }, 200);
  const events: LabEvent[] = [];
  const bad: string[] = [];
  let buf = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (s: string) => {
    buf += s;
    for (let i; (i = buf.indexOf('\n')) >= 0;) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (!line) continue;
      try {
        const e = JSON.parse(line) as LabEvent;
        events.push(e);
        onEvent(e, () => child.kill('SIGINT'));
      } catch {
        bad.push(line);
      }
    }
  });
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (s: string) => (stderr += s));
  const killer = setTimeout(() => child.kill('SIGINT'), 130_000);
  const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  clearTimeout(killer);
  clearInterval(watch);
  return { pid, code, events, bad, stderr, seen };
}

/** Asserts that no process, namespace or root link of the lab run `pid` is left. */
async function nothingLeft(pid: number, seen: Map<number, string>): Promise<void> {
  const end = Date.now() + 3000;
  let left = [...seen.keys()].filter(alive);
  while (left.length && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 100));
    left = left.filter(alive);
  }
  assert.deepEqual(
    left.map((p) => `${p} ${seen.get(p)}`),
    [],
    'no process the lab started is left',
  );
  assert.doesNotMatch(sh(['ip', 'netns', 'list']), new RegExp(`spl-${pid}-`), 'no namespace left');
  const tag = `spl${pid.toString(36).padStart(5, '0')}`;
  assert.ok(!sh(['ip', '-o', 'link', 'show']).includes(tag), 'no link left in the root namespace');
}

const rootAndTools = (): string | undefined => rootMissing() ?? missingBinary('ip', 'nft', 'curl');

test(
  'sallyport lab --netns --once --json: the story across real NAT; nothing left',
  { timeout: 150_000 },
  async (t) => {
    if (!needs(t, rootAndTools())) return;
    const { pid, code, events, bad, stderr, seen } = await runLab(['--once']);
    const last = new Map<string, string>();
    const order: string[] = [];
    for (const e of events) {
      if (!last.has(e.step)) order.push(e.step);
      if (e.status !== 'info') last.set(e.step, e.status);
    }
    t.diagnostic(order.map((s) => `${s}:${last.get(s)}`).join(' '));
    for (const e of events.filter((x) => x.status === 'failed'))
      t.diagnostic(`${e.step} failed: ${e.message} ${JSON.stringify(e.detail ?? {})}`);
    t.diagnostic(`took ${events.at(-1)?.t} ms; processes seen: ${seen.size}`);
    assert.deepEqual(bad, [], 'stdout holds only JSON lines');
    assert.equal(code, 0, `exit code (stderr: ${stderr})`);
    const idx = STORY.map((s) => order.indexOf(s));
    assert.ok(
      idx.every((v) => v >= 0),
      `every story step present: ${order.join(',')}`,
    );
    assert.deepEqual(
      [...idx].sort((a, b) => a - b),
      idx,
      'story steps in order',
    );
    for (const s of order) assert.equal(last.get(s) ?? 'info', s === 'stop' ? 'info' : 'ok', `step ${s}`);
    assert.equal(order.at(-1), 'done');
    const ev = (step: string) => events.find((e) => e.step === step && e.status === 'ok')!;

    // each party in its own namespace, named after the lab's PID
    const ns = (ev('setup').detail?.netns as { namespaces: Record<string, string> }).namespaces;
    for (const site of ['vendor', 'customer', 'engineer', 'custrtr', 'engrtr'])
      assert.match(ns[site], new RegExp(`^spl-${pid}-\\d+-\\d-${site}$`));
    // chapter 2: the CLI refused alice's own approval; bob approved
    const self = ev('request').detail?.selfApproval as { exit: number; http?: number };
    assert.notEqual(self.exit, 0);
    assert.equal(self.http, 403);
    assert.equal(ev('approve').detail?.approver, 'bob');
    // chapter 3: relay first, then a direct path through both NATs
    const path = ev('path').detail as { paths: string[]; direct: boolean };
    assert.match(path.paths[0], /^relay /, `paths: ${path.paths.join(' → ')}`);
    assert.equal(path.direct, true, `paths: ${path.paths.join(' → ')}`);
    // chapter 4: what the main service answered through curl in the engineer namespace
    const main = (ev('enrol').detail?.services as { name: string }[])[0];
    const refused = (ev('refused').detail?.results as { http: number; summary: string }[])[0];
    if (main.name === 'clickhouse') assert.match(refused.summary, /291/);
    else assert.equal(refused.http, 403);
    // chapter 5
    const audit = ev('audit').detail as {
      coordinator: { ok: boolean; trusted: boolean };
      connector: { ok: boolean };
    };
    assert.equal(audit.coordinator.ok && audit.coordinator.trusted && audit.connector.ok, true);
    // the console, from the host
    const ready = ev('ready').detail!;
    assert.match(String(ready.console), /^https:\/\/198\.18\.\d+\.\d+:\d+\/console\/$/);
    assert.equal(ready.consoleHttpStatus, 200);

    // nothing left: processes, namespaces, links
    t.diagnostic(`processes the lab started: ${[...seen.values()].join('; ')}`);
    assert.ok(
      [...seen.values()].some((c) => / agent /.test(c)),
      'the agents were seen as processes',
    );
    await nothingLeft(pid, seen);
  },
);

test(
  'sallyport lab --netns: Ctrl-C in the middle of the story tears everything down',
  { timeout: 150_000 },
  async (t) => {
    if (!needs(t, rootAndTools())) return;
    let signalled = false;
    const { pid, code, events, stderr, seen } = await runLab([], (e, kill) => {
      // the agents, ClickHouse and Prometheus are all up by now
      if (e.step === 'path' && e.status === 'running' && !signalled) {
        signalled = true;
        kill();
      }
    });
    t.diagnostic(
      `last events: ${events
        .slice(-3)
        .map((e) => `${e.step}:${e.status}`)
        .join(' ')}`,
    );
    assert.ok(signalled, `the story reached 'path' (stderr: ${stderr})`);
    assert.equal(code, 130, stderr);
    assert.ok(events.some((e) => e.step === 'stop'));
    assert.equal(events.at(-1)?.step, 'done');
    await nothingLeft(pid, seen);
  },
);

test('sallyport lab --netns without root: exit 2 and what to do', async (t) => {
  if (!needs(t, rootMissing() ?? missingBinary('setpriv'))) return;
  // drop to nobody for this one run
  const child = spawn(
    'setpriv',
    ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, BIN, 'lab', '--netns', '--once'],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (s: string) => (stderr += s));
  const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  assert.equal(code, 2, stderr);
  assert.match(stderr, /needs root/);
  assert.match(stderr, /without --netns/);
});
