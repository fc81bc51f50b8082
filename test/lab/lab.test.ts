// `sallyport lab` as a user runs it: a child process, the story as JSON events. With --once every
// step must be ok, in the story's order, and the process must exit 0; without --once it stays up
// after the story and a SIGINT stops it cleanly. In both cases no process the lab started (the
// private ClickHouse, Prometheus …) may outlive it.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../bin/sallyport.js', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

interface LabEvent {
  step: string;
  chapter: number;
  status: string;
  message: string;
  detail?: Record<string, unknown>;
  t: number;
}

/** Direct children of `pid` now (from /proc). */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      // pid (comm) state ppid …; comm may hold spaces: split after the last ')'
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(d));
    } catch {
      /* gone meanwhile */
    }
  }
  return out;
}

/** The pid's state letter from /proc (Z = zombie), or undefined when it is gone. */
function procState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
  } catch {
    return undefined;
  }
}

function commandOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').slice(0, 2).join(' ');
  } catch {
    return '?';
  }
}

/**
 * The processes in `pids` still running `graceMs` after the lab exited (helpers such as tsx's
 * esbuild service end on their own when their parent's pipe closes: give them a moment).
 */
async function leftBehind(pids: Iterable<number>, graceMs = 3000): Promise<number[]> {
  const end = Date.now() + graceMs;
  for (;;) {
    const left = [...pids].filter((p) => {
      const st = procState(p);
      return st !== undefined && st !== 'Z';
    });
    if (left.length === 0 || Date.now() > end) return left;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Runs the lab, collecting its events and every process it spawned while it ran. */
function runLab(args: string[], onEvent?: (e: LabEvent, child: ChildProcess) => void) {
  const child = spawn(process.execPath, [BIN, 'lab', ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const events: LabEvent[] = [];
  const spawned = new Set<number>();
  const commands = new Map<number, string>();
  const watch = setInterval(() => {
    if (child.pid)
      for (const p of childrenOf(child.pid))
        if (!spawned.has(p)) {
          spawned.add(p);
          commands.set(p, commandOf(p));
        }
  }, 100);
  let buf = '';
  let stderr = '';
  const bad: string[] = [];
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (s: string) => {
    buf += s;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (!line) continue;
      try {
        const e = JSON.parse(line) as LabEvent;
        events.push(e);
        onEvent?.(e, child);
      } catch {
        bad.push(line);
      }
    }
  });
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (s: string) => (stderr += s));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => {
      clearInterval(watch);
      resolve({ code, signal });
    }),
  );
  const killer = setTimeout(() => child.kill('SIGKILL'), 120_000);
  return {
    child,
    events,
    spawned,
    commands,
    bad,
    stderr: () => stderr,
    done: done.finally(() => clearTimeout(killer)),
  };
}

/** Each step's final status, in the order the steps first appeared. */
function outcomes(events: LabEvent[]): [string, string][] {
  const order: string[] = [];
  const last = new Map<string, string>();
  for (const e of events) {
    if (!last.has(e.step)) order.push(e.step);
    if (e.status !== 'info') last.set(e.step, e.status);
  }
  return order.map((s) => [s, last.get(s) ?? 'info']);
}

const STORY = ['enrol', 'request', 'approve', 'certificate', 'path', 'query', 'refused', 'audit', 'inbox'];

async function once(t: TestContext, extra: string[]): Promise<LabEvent[]> {
  const lab = runLab(['--once', '--json', ...extra]);
  const { code } = await lab.done;
  const summary = outcomes(lab.events);
  t.diagnostic(summary.map(([s, st]) => `${s}:${st}`).join(' '));
  assert.deepEqual(lab.bad, [], 'stdout holds only JSON lines');
  assert.equal(code, 0, `exit code (stderr: ${lab.stderr()})`);

  for (const e of lab.events) {
    assert.equal(typeof e.t, 'number');
    assert.equal(typeof e.message, 'string');
  }
  const steps = summary.map(([s]) => s);
  // the story's steps appear in its order (optional ones — prometheus, kubernetes — in between)
  const idx = STORY.map((s) => steps.indexOf(s));
  assert.ok(
    idx.every((v) => v >= 0),
    `every story step present: ${steps.join(',')}`,
  );
  assert.deepEqual(
    [...idx].sort((a, b) => a - b),
    idx,
    `story steps in order: ${steps.join(',')}`,
  );
  for (const [s, st] of summary) assert.equal(st, 'ok', `step ${s} is ${st}`);
  const chapters = lab.events.filter((e) => STORY.includes(e.step)).map((e) => e.chapter);
  assert.deepEqual(
    [...chapters].sort((a, b) => a - b),
    chapters,
    'chapters never go back',
  );
  assert.equal(steps.at(-1), 'done');

  const ev = (step: string) => lab.events.find((e) => e.step === step && e.status === 'ok')!;
  // chapter 2: the second person approved; her own approval was refused
  assert.equal(ev('approve').detail?.approver, 'bob');
  const self = ev('request').detail?.selfApproval as { http: number };
  assert.ok(self.http >= 400, 'self-approval refused');
  // chapter 3: a path to the connector
  assert.ok((ev('path').detail?.paths as string[]).length >= 1);
  // chapter 4: what the main service answered
  const main = (ev('enrol').detail?.services as { name: string; demo?: boolean }[])[0];
  const refused = (ev('refused').detail?.results as { http: number; summary: string }[])[0];
  if (main.name === 'clickhouse') assert.match(refused.summary, /291/);
  else assert.equal(refused.http, 403);
  // chapter 5
  const audit = ev('audit').detail as {
    coordinator: { ok: boolean; trusted: boolean };
    connector: { ok: boolean };
  };
  assert.equal(audit.coordinator.ok, true);
  assert.equal(audit.coordinator.trusted, true);
  assert.equal(audit.connector.ok, true);
  // the users the console is for
  const users = (ev('ready').detail?.users as { user: string; password: string }[]).map((u) => u.user);
  assert.deepEqual(users.sort(), ['admin', 'alice', 'bob']);
  assert.equal(ev('ready').detail?.consoleHttpStatus, 200, 'the console answers');

  t.diagnostic(
    `processes the lab started: ${[...lab.commands].map(([p, c]) => `${p} ${c}`).join('; ') || 'none'}`,
  );
  assert.ok(lab.spawned.size >= (main.name === 'clickhouse' ? 1 : 0), 'the private servers were seen');
  assert.deepEqual(await leftBehind(lab.spawned), [], 'no process the lab started is left');
  return lab.events;
}

test('sallyport lab --once --json: every step ok, in order; exit 0; no process left', async (t) => {
  const events = await once(t, []);
  const enrol = events.find((e) => e.step === 'enrol' && e.status === 'ok')!;
  const main = (enrol.detail?.services as { name: string }[])[0];
  t.diagnostic(`main service: ${main.name}`);
});

test('sallyport lab --once --json --demo: the demo service, clearly labelled, tells the same story', async (t) => {
  const events = await once(t, ['--demo']);
  const enrol = events.find((e) => e.step === 'enrol' && e.status === 'ok')!;
  const main = (enrol.detail?.services as { name: string; demo?: boolean; serves: string }[])[0];
  assert.equal(main.name, 'demo');
  assert.equal(main.demo, true);
  assert.match(main.serves, /DEMO/);
});

test('sallyport lab stays up after the story and stops cleanly on SIGINT', async (t) => {
  let signalled = false;
  const lab = runLab(['--json'], (e, child) => {
    if (e.step === 'ready' && !signalled) {
      signalled = true;
      child.kill('SIGINT');
    }
    if (e.status === 'failed') child.kill('SIGTERM');
  });
  const { code } = await lab.done;
  const last = lab.events.at(-1);
  t.diagnostic(`last event: ${JSON.stringify(last)}`);
  assert.ok(signalled, `the story reached 'ready' (stderr: ${lab.stderr()})`);
  const ready = lab.events.find((e) => e.step === 'ready')!;
  assert.match(String(ready.detail?.console), /^https:\/\/127\.0\.0\.1:\d+\/console\/$/);
  assert.ok(lab.events.some((e) => e.step === 'stop'));
  assert.equal(last?.step, 'done');
  assert.equal(code, 0, `exit code after SIGINT (stderr: ${lab.stderr()})`);
  assert.deepEqual(await leftBehind(lab.spawned), [], 'no process the lab started is left');
});
