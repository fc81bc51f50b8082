// The systemd units in deploy/systemd: each passes `systemd-analyze verify`, carries the hardening
// every unit must have, runs the installed bin with a config file, never sets
// MemoryDenyWriteExecute (V8's JIT needs W+X memory), and rates "OK" or better in
// `systemd-analyze security`.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { needs } from '../../src/testing/require.ts';

const dir = fileURLToPath(new URL('../../deploy/systemd/', import.meta.url));
const BIN = '/opt/sallyport/node_modules/.bin/sallyport';
const ROLES = ['coordinator', 'relay', 'agent', 'ingress'];

/** The unit's [Service] settings: key → every value it is given (in order). */
function settings(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith('[')) continue;
    const eq = line.indexOf('=');
    const k = line.slice(0, eq);
    out.set(k, [...(out.get(k) ?? []), line.slice(eq + 1)]);
  }
  return out;
}

function analyzeMissing(): string | undefined {
  const r = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? undefined : 'needs systemd-analyze (Debian package systemd)';
}

/** Copies the units with ExecStart's binary replaced by one that exists here (verify checks it). */
function staged(t: TestContext): string {
  const tmp = mkdtempSync(join(tmpdir(), 'sallyport-units-'));
  t.after(() => rmSync(tmp, { recursive: true, force: true }));
  for (const r of ROLES) {
    const text = readFileSync(join(dir, `sallyport-${r}.service`), 'utf8');
    writeFileSync(join(tmp, `sallyport-${r}.service`), text.replaceAll(BIN, process.execPath));
  }
  return tmp;
}

test('deploy/systemd has one unit per role', () => {
  assert.deepEqual(
    readdirSync(dir)
      .filter((f) => f.endsWith('.service'))
      .sort(),
    ROLES.map((r) => `sallyport-${r}.service`).sort(),
  );
});

for (const role of ROLES) {
  test(`sallyport-${role}.service: hardening, state directory, installed bin and config file`, () => {
    const s = settings(readFileSync(join(dir, `sallyport-${role}.service`), 'utf8'));
    const one = (k: string) => s.get(k)?.at(-1);
    const expected: Record<string, string> = {
      DynamicUser: 'yes',
      ProtectSystem: 'strict',
      ProtectHome: 'yes',
      PrivateTmp: 'yes',
      NoNewPrivileges: 'yes',
      CapabilityBoundingSet: '',
      AmbientCapabilities: '',
      LockPersonality: 'yes',
      StateDirectory: `sallyport-${role}`,
      UMask: '0077',
    };
    for (const [k, v] of Object.entries(expected)) assert.equal(one(k), v, `${k}=${v}`);
    const families = (one('RestrictAddressFamilies') ?? '').split(/\s+/).sort();
    const allowed = ['AF_INET', 'AF_INET6', 'AF_UNIX', ...(role === 'agent' ? ['AF_NETLINK'] : [])].sort();
    assert.deepEqual(families, allowed);
    assert.equal(
      s.has('MemoryDenyWriteExecute'),
      false,
      'V8 needs W+X memory: MemoryDenyWriteExecute breaks node',
    );
    const exec = one('ExecStart') ?? '';
    assert.ok(exec.startsWith(`${BIN} ${role} `), exec);
    assert.match(exec, new RegExp(`--config %d/${role}\\.json`));
    assert.ok(
      (s.get('LoadCredential') ?? []).includes(`${role}.json:/etc/sallyport/${role}.json`),
      'the config file comes in as a credential',
    );
    assert.match(exec, new RegExp(`/var/lib/sallyport-${role}\\b`), 'state under the StateDirectory');
  });
}

test('systemd-analyze verify accepts every unit', (t) => {
  if (!needs(t, analyzeMissing())) return;
  const tmp = staged(t);
  const r = spawnSync(
    'systemd-analyze',
    ['verify', ...ROLES.map((x) => join(tmp, `sallyport-${x}.service`))],
    {
      encoding: 'utf8',
      timeout: 60_000,
    },
  );
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.equal(r.stderr.trim(), '', 'no warnings');
});

test('systemd-analyze verify fails on a unit whose binary is missing (the check is real)', (t) => {
  if (!needs(t, analyzeMissing())) return;
  const r = spawnSync('systemd-analyze', ['verify', join(dir, 'sallyport-relay.service')], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /not executable|No such file/);
});

test('systemd-analyze security rates every unit OK (exposure below 2.0)', (t) => {
  if (!needs(t, analyzeMissing())) return;
  const tmp = staged(t);
  for (const role of ROLES) {
    const r = spawnSync(
      'systemd-analyze',
      ['security', '--offline=yes', '--no-pager', join(tmp, `sallyport-${role}.service`)],
      { encoding: 'utf8', timeout: 60_000 },
    );
    const m = /Overall exposure level for \S+: ([\d.]+)/.exec(r.stdout);
    assert.ok(m, r.stdout + r.stderr);
    assert.ok(Number(m[1]) < 2, `${role}: exposure ${m[1]}`);
  }
});
