#!/usr/bin/env node
// The sallyport command. An installed package runs the compiled JavaScript in dist/ with plain node.
// A clone of the repository (src/ beside bin/) runs the TypeScript sources through tsx, so
// development needs no build step and a stale dist/ is never picked up by mistake; a clone
// installed without dev dependencies (no tsx) runs dist/ after `npm run build`.
import { existsSync } from 'node:fs';

const here = (p) => new URL(p, import.meta.url);
const hasDist = existsSync(here('../dist/cli/main.js'));
let tsx;
if (existsSync(here('../src/cli/main.ts'))) {
  try {
    tsx = await import('tsx/esm/api');
  } catch (e) {
    if (e?.code !== 'ERR_MODULE_NOT_FOUND' || !hasDist) {
      process.stderr.write(
        'sallyport: this is a source checkout without tsx: run `npm ci` (or `npm run build` to use dist/)\n',
      );
      process.exit(1);
    }
  }
}
let main;
if (tsx) {
  tsx.register();
  ({ main } = await import('../src/cli/main.ts'));
} else if (hasDist) {
  ({ main } = await import('../dist/cli/main.js'));
} else {
  process.stderr.write(
    'sallyport: this copy has neither dist/ nor src/; run `npm run build` in the repository\n',
  );
  process.exit(1);
}
process.exitCode = await main(process.argv.slice(2));
