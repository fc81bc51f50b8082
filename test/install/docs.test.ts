// docs/installing.md stays true: every shell block runs as written (from a scratch directory that
// sees the repository's deploy/ and a `sallyport` on PATH) unless it is marked "not runnable here"
// with the test that covers it, and every config example is accepted by the command it configures.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { needs } from '../../src/testing/require.ts';
import { stderrOf } from './stderr-of.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const doc = readFileSync(join(root, 'docs', 'installing.md'), 'utf8');

/** The fenced blocks: language, body, and the HTML comment right before the fence (if any). */
function blocks(): { lang: string; body: string; marker: string | undefined }[] {
  return [...doc.matchAll(/(?:<!-- ([^>]*) -->\n\n)?```(\w*)\n([\s\S]*?)```/g)].map((m) => ({
    marker: m[1],
    lang: m[2],
    body: m[3],
  }));
}

test('every shell block is run below or marked not runnable, with the reason', () => {
  const sh = blocks().filter((b) => b.lang === 'sh');
  assert.ok(sh.length >= 5);
  for (const b of sh.filter((x) => x.marker)) {
    // The reason: what it needs, and which test covers the same steps (or that none does).
    assert.match(b.marker!, /^not runnable here: \S.{10,}/, b.body);
    assert.match(b.marker!, /test\/install\/\S+\.test\.ts|needs/, b.marker);
  }
  assert.ok(
    sh.some((b) => !b.marker),
    'at least one block runs',
  );
});

test('the runnable shell blocks run as written', (t) => {
  const runnable = blocks().filter((b) => b.lang === 'sh' && !b.marker);
  if (runnable.some((b) => /\bkubectl\b/.test(b.body))) {
    const k = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' });
    if (!needs(t, k.status === 0 ? undefined : 'needs kubectl')) return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'sallyport-docs-install-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  symlinkSync(join(root, 'deploy'), join(dir, 'deploy'));
  const bin = join(dir, '.bin');
  spawnSync('mkdir', [bin]);
  writeFileSync(
    join(bin, 'sallyport'),
    `#!/bin/sh\nexec "${process.execPath}" "${root}bin/sallyport.js" "$@"\n`,
  );
  chmodSync(join(bin, 'sallyport'), 0o755);
  for (const b of runnable) {
    const r = spawnSync('bash', ['-euo', 'pipefail', '-c', b.body], {
      cwd: dir,
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, PATH: `${bin}:${process.env.PATH}` },
    });
    assert.equal(r.status, 0, `${b.body}\n${r.stdout}\n${r.stderr}`);
    if (/grep -c '\^kind: NetworkPolicy'/.test(b.body)) assert.equal(r.stdout.trim(), '1');
  }
});

test('the config examples are accepted by their commands', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sallyport-docs-config-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const configs = blocks().filter((b) => b.lang === 'jsonc' || b.lang === 'json');
  assert.equal(configs.length, 3);
  // Each stops at the first thing the example leaves to the unit or the operator, after the file.
  const expect: [string, string[], RegExp][] = [
    ['coordinator', [], /--data DIR is required/],
    ['relay', [], /--key-file FILE is required/],
    ['agent', ['--kind', 'engineer'], /an engineer node serves no services/],
  ];
  for (const [i, [cmd, extra, stop]] of expect.entries()) {
    const file = join(dir, `${cmd}.json`);
    writeFileSync(file, configs[i].body);
    const r = await stderrOf(cmd, ['--config', file, ...extra]);
    assert.equal(r.code, 2, r.err);
    assert.match(r.err, stop, `${cmd}: ${r.err}`);
  }
});
