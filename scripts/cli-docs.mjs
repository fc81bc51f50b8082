#!/usr/bin/env node
// Writes docs/cli.md from every command's --help text (see src/cli/reference.ts), formatted the way
// `npm run lint` (prettier --check) wants it.
//   node scripts/cli-docs.mjs           rewrite docs/cli.md
//   node scripts/cli-docs.mjs --check   exit 1 if docs/cli.md is stale (test/cli/docs.test.ts runs this)
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';
import * as prettier from 'prettier';

register();
const { renderReference, REFERENCE_FILE } = await import('../src/cli/reference.ts');
const file = fileURLToPath(new URL(`../${REFERENCE_FILE}`, import.meta.url));
const options = (await prettier.resolveConfig(file)) ?? {};
const text = await prettier.format(await renderReference(), { ...options, filepath: file });
if (process.argv.includes('--check')) {
  let old = '';
  try {
    old = readFileSync(file, 'utf8');
  } catch {
    /* missing: stale */
  }
  if (old !== text) {
    console.error(`${REFERENCE_FILE} is stale: run 'node scripts/cli-docs.mjs' and commit the result`);
    process.exit(1);
  }
  console.log(`${REFERENCE_FILE} is up to date`);
} else {
  writeFileSync(file, text);
  console.log(`wrote ${REFERENCE_FILE}`);
}
