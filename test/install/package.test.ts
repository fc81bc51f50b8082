// The published package: `npm run build` + `npm pack` give a tarball that installs into an empty
// directory with `--omit=optional` (what a connector or relay host does) and runs with plain node,
// no tsx and no TypeScript; the coordinator, whose database drivers are the optional dependencies,
// refuses to start there with the install command to run.
import { before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { get } from 'node:https';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cert, coordinator } from '../relay/fixture.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
let dir = '';
let app = '';
let packed: string[] = [];

function sh(cmd: string, args: string[], cwd: string, timeout = 150_000) {
  const r = spawnSync(cmd, args, {
    cwd,
    encoding: 'utf8',
    timeout,
    env: { ...process.env, npm_config_loglevel: 'error' },
  });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** Runs the installed `sallyport` with plain node (no --import tsx). */
function sallyport(args: string[]) {
  return spawnSync(
    process.execPath,
    [join(app, 'node_modules', 'sallyport', 'bin', 'sallyport.js'), ...args],
    {
      cwd: app,
      encoding: 'utf8',
      timeout: 30_000,
      env: { ...process.env, NODE_OPTIONS: '' },
    },
  );
}

before(
  () => {
    dir = mkdtempSync(join(tmpdir(), 'sallyport-install-'));
    sh(process.execPath, ['scripts/build.mjs'], root);
    const out = sh(npm, ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], root);
    const [info] = JSON.parse(out) as { filename: string; files: { path: string }[] }[];
    packed = info.files.map((f) => f.path);
    app = join(dir, 'app');
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'install-test', private: true }));
    sh(
      npm,
      ['install', '--prefer-offline', '--no-audit', '--no-fund', '--omit=optional', join(dir, info.filename)],
      app,
    );
  },
  { timeout: 240_000 },
);

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('the tarball holds dist/, bin/ and the console assets; no sources, tests or test helpers', () => {
  assert.ok(packed.includes('bin/sallyport.js'));
  assert.ok(packed.includes('dist/cli/main.js'));
  assert.ok(packed.includes('dist/control/console/assets/index.html'), 'console assets are copied into dist');
  const bad = packed.filter(
    (p) => p.startsWith('src/') || /\.test\.js$/.test(p) || p.startsWith('dist/testing/'),
  );
  assert.deepEqual(bad, []);
  assert.deepEqual(
    packed.filter((p) => p.endsWith('.ts')),
    [],
    'no TypeScript in the package',
  );
});

test('the install has no tsx, no TypeScript and none of the optional database drivers', () => {
  const nm = join(app, 'node_modules');
  assert.ok(existsSync(join(nm, 'sallyport', 'dist', 'cli', 'main.js')));
  for (const p of ['tsx', 'typescript', 'esbuild', 'better-sqlite3', 'pg'])
    assert.equal(existsSync(join(nm, p)), false, `${p} was installed`);
});

test('sallyport --help and sallyport agent --help run from the install with plain node', () => {
  const top = sallyport(['--help']);
  assert.equal(top.status, 0, top.stderr);
  assert.match(top.stdout, /usage: sallyport <command>/);
  const agent = sallyport(['agent', '--help']);
  assert.equal(agent.status, 0, agent.stderr);
  assert.match(agent.stdout, /sallyport agent/);
  const v = sallyport(['version', '--json']);
  assert.equal(
    JSON.parse(v.stdout).version,
    JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version,
  );
});

/** Every module reachable from `entry` through static imports (relative specifiers only). */
function staticGraph(entry: string): Set<string> {
  const seen = new Set<string>();
  const todo = [resolve(entry)];
  while (todo.length) {
    const f = todo.pop()!;
    if (seen.has(f)) continue;
    seen.add(f);
    const src = readFileSync(f, 'utf8');
    // tsc writes the specifiers it rewrites with double quotes.
    for (const m of src.matchAll(/^\s*(?:import|export)\s[^;]*?from\s+(['"])(\.[^'"]+)\1/gm))
      todo.push(resolve(dirname(f), m[2]));
    for (const m of src.matchAll(/^\s*import\s+(['"])(\.[^'"]+)\1/gm)) todo.push(resolve(dirname(f), m[2]));
  }
  return seen;
}

test('the agent and the relay never load the store (its drivers) through a static import', () => {
  const dist = join(app, 'node_modules', 'sallyport', 'dist');
  // The walk does find the store where it is imported: the coordinator's own graph holds it.
  assert.ok(
    [...staticGraph(join(dist, 'cli/coordinator.js'))].some((f) => f.startsWith(join(dist, 'store') + '/')),
  );
  for (const entry of ['cli/agent.js', 'cli/relay.js']) {
    const graph = staticGraph(join(dist, entry));
    assert.ok(graph.size > 10, `${entry}: the import walk found its modules`);
    const store = [...graph].filter((f) => f.startsWith(join(dist, 'store') + '/'));
    assert.deepEqual(store, [], `${entry} imports the store statically`);
  }
});

test('the coordinator without its optional drivers refuses to start and names the install command', () => {
  const r = sallyport([
    'coordinator',
    '--data',
    join(dir, 'coord'),
    '--suffix',
    'byoc.example.com',
    '--listen',
    '127.0.0.1:0',
  ]);
  assert.equal(r.status, 1, r.stdout + r.stderr);
  assert.match(r.stderr, /the coordinator needs better-sqlite3 .*npm install better-sqlite3@12/);
  const pg = sallyport([
    'coordinator',
    '--data',
    join(dir, 'coord-pg'),
    '--db',
    'postgres://127.0.0.1:1/none',
    '--suffix',
    'byoc.example.com',
    '--listen',
    '127.0.0.1:0',
  ]);
  assert.equal(pg.status, 1, pg.stdout + pg.stderr);
  assert.match(pg.stderr, /the coordinator needs pg .*npm install pg@8/);
});

test(
  'a relay runs from the install with plain node: /health answers, SIGTERM stops it',
  { timeout: 30_000 },
  async () => {
    const c = await cert();
    const rd = join(dir, 'relay');
    mkdirSync(rd);
    writeFileSync(join(rd, 'tls.crt'), c.certPem);
    writeFileSync(join(rd, 'tls.key'), c.keyPem);
    const p = spawn(
      process.execPath,
      [
        join(app, 'node_modules', 'sallyport', 'bin', 'sallyport.js'),
        'relay',
        '--listen',
        '127.0.0.1:0',
        '--tls-cert',
        join(rd, 'tls.crt'),
        '--tls-key',
        join(rd, 'tls.key'),
        '--trust-key',
        coordinator.verifyKey.base64(),
        '--region',
        'install-test',
        '--key-file',
        join(rd, 'relay.key'),
        '--log-level',
        'silent',
      ],
      { cwd: app, stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, NODE_OPTIONS: '' } },
    );
    try {
      let out = '';
      p.stdout.setEncoding('utf8');
      const port = await new Promise<number>((res, rej) => {
        p.stdout.on('data', (d: string) => {
          out += d;
          const m = /listening on [^:]+:(\d+)/.exec(out);
          if (m) res(Number(m[1]));
        });
        p.on('exit', (code) => rej(new Error(`relay exited early (${code}): ${out}`)));
      });
      const health = await new Promise<{ ok: boolean; region: string }>((res, rej) => {
        get({ host: '127.0.0.1', port, path: '/health', ca: c.certPem, agent: false }, (r) => {
          let b = '';
          r.on('data', (d) => (b += d));
          r.on('end', () => res(JSON.parse(b)));
        }).on('error', rej);
      });
      assert.deepEqual([health.ok, health.region], [true, 'install-test']);
      const exited = new Promise<number | null>((r) => p.on('exit', (code) => r(code)));
      p.kill('SIGTERM');
      assert.equal(await exited, 0);
    } finally {
      if (p.exitCode === null) p.kill('SIGKILL');
    }
  },
);
