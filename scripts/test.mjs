#!/usr/bin/env node
// Runs the test groups, one node:test process per file, two at a time.
//   node scripts/test.mjs            every group
//   node scripts/test.mjs unit vnet  only those groups
//   node scripts/test.mjs test/relay/relay.test.ts   only those files
// Groups: unit (src/**/*.test.ts), bench (the benchmark framework's own tests), and one per folder
// under test/ (vnet, interop, netlab, ...).
//
// Each file runs in a process group of its own with a time limit; a file that hangs (a test that
// never settles, a handle left open) is cut at the limit and counted as failed, and whatever it left
// running (a server it started) is ended with its group. Output is printed per file as each one
// finishes, with its duration; the slowest files and the totals close the run.
// Settings (environment): SALLYPORT_TEST_FILE_TIMEOUT_S (default 900), SALLYPORT_TEST_BUDGET_S
// (default 2700: files not started by then are reported as not run, and fail the run),
// SALLYPORT_TEST_CONCURRENCY (default 2).
import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawn } from 'node:child_process';
import { setTimeout, clearTimeout } from 'node:timers';

const root = new URL('..', import.meta.url).pathname;

function walk(dir, out = []) {
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.test.ts')) out.push(relative(root, p));
  }
  return out.sort();
}

const groups = { unit: () => walk(join(root, 'src')), bench: () => walk(join(root, 'bench')) };
for (const name of existsSync(join(root, 'test')) ? readdirSync(join(root, 'test')) : []) {
  if (statSync(join(root, 'test', name)).isDirectory()) groups[name] = () => walk(join(root, 'test', name));
}

const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  console.log(`usage: npm test [-- GROUP|FILE...]\ngroups: ${Object.keys(groups).join(', ')}`);
  process.exit(0);
}
const isFile = (a) => a.endsWith('.test.ts') && existsSync(join(root, a));
const unknown = args.filter((g) => !groups[g] && !isFile(g));
if (unknown.length) {
  console.error(`unknown test group(s): ${unknown.join(', ')}; known: ${Object.keys(groups).join(', ')}`);
  process.exit(2);
}
const chosen = args.length ? args : Object.keys(groups);
const files = chosen.flatMap((g) => (isFile(g) ? [g] : groups[g]()));
if (files.length === 0) {
  console.error(`no test files in group(s) ${chosen.join(', ')}`);
  process.exit(1);
}

function positive(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) {
    console.error(`${name}=${raw}: expected a positive number`);
    process.exit(2);
  }
  return n;
}
const fileTimeoutMs = positive('SALLYPORT_TEST_FILE_TIMEOUT_S', 900) * 1000;
const budgetMs = positive('SALLYPORT_TEST_BUDGET_S', 2700) * 1000;
const concurrency = Math.floor(positive('SALLYPORT_TEST_CONCURRENCY', 2));

const started = Date.now();
const elapsed = () => ((Date.now() - started) / 1000).toFixed(0).padStart(4) + 's';
const totals = { pass: 0, fail: 0, cancelled: 0, skipped: 0 };
const results = []; // { file, ms, status, note }
const running = new Map(); // pid -> file

/** The counts of the spec reporter's closing summary (its last one, should a test print a look-alike). */
function countSpec(out) {
  const last = (k) => {
    const all = [...out.matchAll(new RegExp(`^ℹ ${k} (\\d+)$`, 'gm'))];
    return all.length ? Number(all.at(-1)[1]) : 0;
  };
  return { pass: last('pass'), fail: last('fail'), cancelled: last('cancelled'), skipped: last('skipped') };
}
const SUMMARY_END = /^ℹ duration_ms [\d.]+$/m;
const EXIT_GRACE_MS = 30_000;

function killGroup(pid, signal) {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false; // the group is already empty
  }
}

/**
 * The processes still alive in a process group, as "pid comm" (zombies, which are only waiting to be
 * reaped, do not count). Read from /proc; elsewhere the group is only probed.
 */
function liveInGroup(pgid) {
  if (!existsSync('/proc/self/stat')) {
    try {
      process.kill(-pgid, 0);
      return [`group ${pgid}`];
    } catch {
      return [];
    }
  }
  const out = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    // pid (comm) state ppid pgrp ...: comm may hold spaces and parentheses, so split after the last ')'.
    const close = stat.lastIndexOf(')');
    const [state, , pgrp] = stat.slice(close + 2).split(' ');
    if (Number(pgrp) === pgid && state !== 'Z')
      out.push(`${name} ${stat.slice(stat.indexOf('(') + 1, close)}`);
  }
  return out;
}

function runFile(file) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '--test',
        `--test-timeout=${fileTimeoutMs}`,
        '--test-reporter=spec',
        '--test-reporter-destination=stdout',
        file,
      ],
      { cwd: root, env: process.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    running.set(child.pid, file);
    const chunks = [];
    let stdout = '';
    let lingered = false;
    let grace;
    // (node's --test-force-exit would end such a process itself, but on Node 20 it also cuts the
    // reporters' last lines.) A file whose tests are done but whose process stays up has left a
    // handle open: it is ended after a grace period and named, rather than hanging the run.
    child.stdout.on('data', (c) => {
      chunks.push(c);
      if (grace) return;
      stdout = (stdout + c.toString('utf8')).slice(-4096);
      if (SUMMARY_END.test(stdout)) {
        grace = setTimeout(() => {
          lingered = true;
          killGroup(child.pid, 'SIGKILL');
        }, EXIT_GRACE_MS);
      }
    });
    child.stderr.on('data', (c) => chunks.push(c));
    let cut = false;
    // node's own --test-timeout cuts a hung file; this is the backstop if the runner itself hangs.
    const backstop = setTimeout(() => {
      cut = true;
      killGroup(child.pid, 'SIGTERM');
      setTimeout(() => killGroup(child.pid, 'SIGKILL'), 5000).unref();
    }, fileTimeoutMs + 60_000);
    child.on('exit', (code, signal) => {
      clearTimeout(backstop);
      clearTimeout(grace);
      running.delete(child.pid);
      const ms = Date.now() - t0;
      // Let any last bytes arrive and the group's last members exit, then count and print the
      // file's output as one block. Whatever the file left behind in its group (a server it
      // started) ends with it, and is named.
      setTimeout(() => {
        const left = liveInGroup(child.pid);
        if (left.length) killGroup(child.pid, 'SIGKILL');
        const leftovers = left.length ? left.join(', ') : '';
        const out = Buffer.concat(chunks).toString('utf8').trimEnd();
        const n = countSpec(out);
        for (const k of Object.keys(totals)) totals[k] += n[k];
        let note = '';
        if (cut) note = `cut after ${(ms / 1000).toFixed(0)} s (no result from node's own timeout)`;
        else if (lingered) note = '';
        else if (code !== 0 && n.fail + n.cancelled === 0)
          note = `exited ${signal ?? code} without a failing test`;
        const failed = cut || (!lingered && code !== 0) || n.fail + n.cancelled > 0;
        if (note) totals.fail += 1;
        const status = failed ? 'FAIL' : 'ok';
        console.log(
          `\n── ${elapsed()} ${status} ${file} (${(ms / 1000).toFixed(1)} s)${leftovers ? ` [ended what it left running: ${leftovers}]` : ''}`,
        );
        if (out) console.log(out);
        if (note) console.log(`✖ ${file}: ${note}`);
        if (lingered)
          console.log(
            `⚠ ${file}: its tests ended but its process stayed up ${EXIT_GRACE_MS / 1000} s (a handle left open): ended`,
          );
        results.push({ file, ms, status, note, leftovers, lingered });
        resolve();
      }, 300);
    });
  });
}

function stopAll() {
  for (const pid of running.keys()) killGroup(pid, 'SIGKILL');
}
process.on('SIGINT', () => (stopAll(), process.exit(130)));
process.on('SIGTERM', () => (stopAll(), process.exit(143)));

const queue = [...files];
const notRun = [];
async function worker() {
  for (;;) {
    const next = queue.shift();
    if (!next) return;
    if (Date.now() - started > budgetMs) {
      notRun.push(next);
      continue;
    }
    await runFile(next);
  }
}
console.log(
  `${files.length} test files, ${concurrency} at a time; a file is cut after ${fileTimeoutMs / 1000} s`,
);
await Promise.all(Array.from({ length: Math.min(concurrency, files.length) }, worker));

const slowest = [...results].sort((a, b) => b.ms - a.ms).slice(0, 15);
console.log('\nslowest files:');
for (const r of slowest) console.log(`  ${(r.ms / 1000).toFixed(1).padStart(7)} s  ${r.file}`);
const bad = results.filter((r) => r.status !== 'ok');
if (bad.length) {
  console.log('\nfailed files:');
  for (const r of bad) console.log(`  ${r.file}${r.note ? ` — ${r.note}` : ''}`);
}
const lingering = results.filter((r) => r.lingered);
if (lingering.length)
  console.log(
    `\nfiles whose process stayed up after their tests (ended): ${lingering.map((r) => r.file).join(', ')}`,
  );
const leaky = results.filter((r) => r.leftovers);
if (leaky.length)
  console.log(`\nfiles that left processes running (ended): ${leaky.map((r) => r.file).join(', ')}`);
if (notRun.length) {
  console.log(`\nnot run (the ${budgetMs / 1000} s budget was spent): ${notRun.join(', ')}`);
  totals.fail += notRun.length;
}
const failed = totals.fail + totals.cancelled;
console.log(
  `\ntests: ${totals.pass} passed, ${failed} failed, ${totals.skipped} skipped (${files.length} files in ${elapsed().trim()})`,
);
process.exit(failed > 0 || bad.length > 0 ? 1 : 0);
