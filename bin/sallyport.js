#!/usr/bin/env node
// The sallyport command. Runs the TypeScript sources directly through tsx, so a clone needs no
// build step: `npm ci` and go.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
