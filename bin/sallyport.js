#!/usr/bin/env node
// The sallyport command. An installed package runs the compiled JavaScript in dist/ with plain node.
// A clone of the repository (src/ beside bin/) runs the TypeScript sources through tsx instead, so
// development needs no build step and a stale dist/ is never picked up by mistake.
import { existsSync } from 'node:fs';

const here = (p) => new URL(p, import.meta.url);
let main;
if (existsSync(here('../src/cli/main.ts'))) {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../src/cli/main.ts'));
} else if (existsSync(here('../dist/cli/main.js'))) {
  ({ main } = await import('../dist/cli/main.js'));
} else {
  process.stderr.write(
    'sallyport: this copy has neither dist/ nor src/; run `npm run build` in the repository\n',
  );
  process.exit(1);
}
process.exitCode = await main(process.argv.slice(2));
