// The layer order of DESIGN.md §3, enforced: a module may import its own layer and the layers
// below it, never one above. src/testing is for tests only and never imported by production code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const srcDir = dirname(fileURLToPath(import.meta.url));

/** Rank of each top-level folder of src/: imports may go to an equal or lower rank only. */
export const RANK: Record<string, number> = {
  util: 0,
  clock: 1,
  crypto: 2,
  egress: 2, // telemetry egress: util and clock only (checked below), never the overlay's layers
  proto: 3,
  replay: 3,
  session: 4,
  pki: 4,
  access: 4,
  audit: 4,
  store: 4,
  stream: 5,
  certs: 5, // listener certificates (files, ACME): util, clock, pki
  paths: 6,
  relay: 6,
  ingress: 6, // the customer's database ingress: util, clock, certs only (checked below)
  targets: 7,
  agent: 8,
  control: 8,
  cli: 9,
  lab: 9,
  testing: 10,
};

function files(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) files(p, out);
    else if (/\.(ts|js|mjs)$/.test(name)) out.push(p);
  }
  return out;
}

function layerOf(root: string, file: string): string | undefined {
  const rel = relative(root, file);
  if (rel.startsWith('..')) return undefined;
  return rel.includes(sep) ? rel.split(sep)[0] : '(root)';
}

/** Every import under `root` (a src/ tree) that breaks the layer order, as readable lines. */
export function violations(root = srcDir): string[] {
  const found: string[] = [];
  for (const file of files(root)) {
    const from = layerOf(root, file)!;
    if (from === '(root)') continue;
    const isTest = file.endsWith('.test.ts');
    const text = readFileSync(file, 'utf8');
    const specs = [...text.matchAll(/(?:from\s+|import\s*\(\s*|import\s+)['"]([^'"]+)['"]/g)].map(
      (m) => m[1],
    );
    for (const spec of specs) {
      if (!spec.startsWith('.')) continue;
      const to = layerOf(root, resolve(dirname(file), spec));
      const where = `${relative(root, file)} imports ${spec}`;
      if (to === undefined) {
        if (!isTest) found.push(`${where}: production code reaches outside src/`);
        continue;
      }
      if (to === '(root)' || to === from) continue;
      if (!(from in RANK)) found.push(`${where}: folder src/${from} has no place in the layer order`);
      else if (!(to in RANK)) found.push(`${where}: folder src/${to} has no place in the layer order`);
      else if (to === 'testing') {
        if (!isTest && from !== 'testing') found.push(`${where}: production code imports src/testing`);
      } else if (RANK[to] > RANK[from])
        found.push(`${where}: ${from} (rank ${RANK[from]}) may not import ${to} (rank ${RANK[to]})`);
    }
  }
  return found;
}

test('no import goes up the layer order', () => {
  assert.deepEqual(violations(), []);
});

test('egress imports only util and clock from src/', () => {
  const bad = files(join(srcDir, 'egress'))
    .filter((f) => !f.endsWith('.test.ts'))
    .flatMap((f) =>
      [...readFileSync(f, 'utf8').matchAll(/from\s+['"](\.\.\/[^'"]+)['"]/g)]
        .map((m) => m[1])
        .filter((spec) => !/^\.\.\/(util|clock)\//.test(spec))
        .map((spec) => `${relative(srcDir, f)} imports ${spec}`),
    );
  assert.deepEqual(bad, []);
});

test('ingress imports only util, clock and certs: the overlay never carries query traffic, and the ingress knows nothing of it', () => {
  const bad = files(join(srcDir, 'ingress'))
    .filter((f) => !f.endsWith('.test.ts'))
    .flatMap((f) =>
      [...readFileSync(f, 'utf8').matchAll(/from\s+['"](\.\.\/[^'"]+)['"]/g)]
        .map((m) => m[1])
        .filter((spec) => !/^\.\.\/(util|clock|certs)\//.test(spec))
        .map((spec) => `${relative(srcDir, f)} imports ${spec}`),
    );
  assert.deepEqual(bad, []);
});

test('the checker catches upward imports, testing imports and unknown folders', async (t) => {
  const { mkdtempSync, mkdirSync, writeFileSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(join(tmpdir(), 'layers-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const d of ['crypto', 'session', 'testing', 'mystery']) mkdirSync(join(dir, d));
  writeFileSync(join(dir, 'session', 'a.ts'), "import { b } from '../crypto/b.ts';\nexport const a = b;\n");
  writeFileSync(join(dir, 'crypto', 'b.ts'), "import { a } from '../session/a.ts';\nexport const b = a;\n");
  writeFileSync(join(dir, 'testing', 'f.ts'), 'export const f = 1;\n');
  writeFileSync(join(dir, 'session', 'g.ts'), "import { f } from '../testing/f.ts';\nexport const g = f;\n");
  writeFileSync(join(dir, 'session', 'g.test.ts'), "import { f } from '../testing/f.ts';\nvoid f;\n");
  writeFileSync(join(dir, 'mystery', 'm.ts'), "import { b } from '../crypto/b.ts';\nexport const m = b;\n");
  const got = violations(dir).sort();
  assert.equal(got.length, 3, JSON.stringify(got, null, 1));
  assert.match(got[0], /^crypto.*crypto \(rank 2\) may not import session/);
  assert.match(got[1], /^mystery.*no place in the layer order/);
  assert.match(got[2], /^session.g\.ts.*production code imports src\/testing/);
});

/** Imports from src/`from` into src/`to` (production files), optionally allowing some target files. */
function edges(from: string, to: string, allowed: readonly string[] = []): string[] {
  return files(join(srcDir, from))
    .filter((f) => !f.endsWith('.test.ts'))
    .flatMap((f) =>
      [...readFileSync(f, 'utf8').matchAll(/(?:from\s+|import\s*\(\s*)['"](\.[^'"]+)['"]/g)]
        .map((m) => relative(srcDir, resolve(dirname(f), m[1])))
        .filter(
          (target) => target.split(sep)[0] === to && !allowed.includes(target.split(sep).slice(1).join('/')),
        )
        .map((target) => `${relative(srcDir, f)} imports ${target}`),
    );
}

test('siblings stay apart: the agent uses only the coordinator client of control/, control never the agent; session, stream and paths not one another', () => {
  assert.deepEqual(edges('agent', 'control', ['client.ts']), []);
  assert.deepEqual(edges('control', 'agent'), []);
  for (const from of ['relay', 'targets', 'paths', 'stream', 'session'])
    for (const to of ['agent', 'control']) assert.deepEqual(edges(from, to), [], `${from} → ${to}`);
  // The data plane's three layers do not import one another (DESIGN.md §3): the agent composes
  // them; what they share (the typed endpoint, the session-payload table) is in proto/link/.
  for (const from of ['session', 'stream', 'paths'])
    for (const to of ['session', 'stream', 'paths'])
      if (from !== to) assert.deepEqual(edges(from, to), [], `${from} → ${to}`);
  // And the checker sees an edge when there is one (this file's own folder layout).
  assert.ok(edges('cli', 'control').length > 0);
});
