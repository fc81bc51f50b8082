// The shipped Prometheus rules and Alertmanager configuration pass the tools' own checks:
// `promtool check rules` on every rule file, `promtool test rules` on the unit tests beside them,
// and `amtool check-config` on the Alertmanager configuration.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { needs } from '../../src/testing/require.ts';

const root = new URL('../..', import.meta.url).pathname;
const rulesDir = join(root, 'deploy/prometheus/rules');

function which(bin: string): string | undefined {
  for (const d of (process.env.PATH ?? '').split(':')) if (d && existsSync(join(d, bin))) return join(d, bin);
  return undefined;
}

function run(bin: string, args: string[]): { status: number | null; out: string } {
  const r = spawnSync(bin, args, { encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

const ruleFiles = readdirSync(rulesDir)
  .filter((f) => f.endsWith('.yml'))
  .map((f) => join(rulesDir, f));

test('promtool check rules: every shipped rule file is clean', (t) => {
  if (!needs(t, which('promtool') ? undefined : 'promtool missing (Debian package prometheus)')) return;
  assert.ok(ruleFiles.length >= 5, `rule files: ${ruleFiles.join(', ')}`);
  for (const f of ruleFiles) {
    const r = run('promtool', ['check', 'rules', f]);
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, /SUCCESS/);
  }
});

test('promtool test rules: the unit tests of the shipped rules pass', (t) => {
  if (!needs(t, which('promtool') ? undefined : 'promtool missing (Debian package prometheus)')) return;
  const r = run('promtool', ['test', 'rules', join(root, 'deploy/prometheus/tests/rules.test.yml')]);
  assert.equal(r.status, 0, r.out);
  assert.match(r.out, /SUCCESS/);
});

test('every alert carries a severity label and a summary annotation', () => {
  let alerts = 0;
  for (const f of ruleFiles) {
    const text = readFileSync(f, 'utf8');
    // Each rule block runs from "- alert:" to the next one; no YAML dependency needed for this check.
    for (const block of text.split(/\n\s+- alert: /).slice(1)) {
      alerts += 1;
      const name = block.split('\n')[0];
      assert.match(block, /\n\s+severity: (critical|warning|info)\n/, `${name} in ${f}: severity`);
      assert.match(block, /\n\s+summary: /, `${name} in ${f}: summary`);
    }
  }
  assert.ok(alerts >= 15, `alerts: ${alerts}`);
});

test('amtool check-config: the shipped Alertmanager configuration is valid and routes to the coordinator', (t) => {
  const file = join(root, 'deploy/alertmanager/alertmanager.yml');
  const text = readFileSync(file, 'utf8');
  assert.match(text, /\/api\/v1\/alerts\/alertmanager/);
  assert.match(text, /credentials_file: /);
  assert.match(text, /send_resolved: true/);
  if (!needs(t, which('amtool') ? undefined : 'amtool missing (Debian package prometheus-alertmanager)'))
    return;
  const r = run('amtool', ['check-config', file]);
  assert.equal(r.status, 0, r.out);
});
