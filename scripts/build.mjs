#!/usr/bin/env node
// `npm run build`: src/ → dist/ for the published package. Empties dist/ (no stale modules from a
// renamed file), compiles with tsc -p tsconfig.build.json, then copies the non-TypeScript files that
// the built code reads at run time beside the modules that read them.
import { cpSync, existsSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
// Every non-TypeScript file that production code locates relative to its own module (import.meta.url).
const ASSETS = ['control/console/assets'];

rmSync(join(root, 'dist'), { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const r = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
if (r.status !== 0) process.exit(r.status ?? 1);
for (const rel of ASSETS) {
  const from = join(root, 'src', rel);
  if (!existsSync(from)) throw new Error(`build: ${rel} is missing under src/`);
  cpSync(from, join(root, 'dist', rel), { recursive: true });
}
