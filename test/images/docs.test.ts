// docs/images.md stays honest: every shell block is marked "not runnable here" with its reason
// (they need root, podman and a Debian mirror), and the steps the reason names exist: the options
// and variables it documents are the ones scripts/images.sh reads, the healthcheck path is the file
// the images run, and each run example passes the arguments to the image of a role that has them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('../..', import.meta.url).pathname;
const doc = readFileSync(join(root, 'docs', 'images.md'), 'utf8');
const script = readFileSync(join(root, 'scripts', 'images.sh'), 'utf8');

test('docs/images.md: every shell block is marked not runnable, with the test that covers it', () => {
  const sh = [...doc.matchAll(/(?:<!-- ([^>]*) -->\n\n)?```sh\n([\s\S]*?)```/g)];
  assert.ok(sh.length >= 5);
  for (const [, marker, body] of sh) {
    assert.match(marker ?? '', /^not runnable here: \S.{10,}/, body);
    const named = /test\/images\/\S+\.test\.ts/.exec(marker!)?.[0];
    if (named) assert.ok(existsSync(join(root, named)), named);
    else assert.match(marker!, /no test covers it/);
  }
});

test('docs/images.md: the options, variables and files it names are the ones the script uses', () => {
  for (const [, opt] of doc.matchAll(/^\| `(--[a-z]+)/gm)) assert.ok(script.includes(`${opt})`), opt);
  for (const [v] of doc.matchAll(/SALLYPORT_(?:IMAGES_[A-Z]+|NODE)\b/g)) assert.ok(script.includes(v), v);
  assert.ok(existsSync(join(root, 'deploy', 'images', 'healthcheck.mjs')));
  assert.ok(script.includes('deploy/images/healthcheck.mjs'));
  const help = spawnSync('bash', [join(root, 'scripts', 'images.sh'), '--help'], { encoding: 'utf8' });
  assert.equal(help.status, 0, help.stderr);
  assert.match(help.stdout, /^usage: scripts\/images\.sh/m);
});

test('docs/images.md: each run example gives its role only flags that role knows', () => {
  const examples = [
    ...doc.matchAll(/localhost\/sallyport-(coordinator|relay|agent):[\d.]+ ((?:\\\n|[^\n])*)/g),
  ];
  assert.ok(examples.length >= 3, 'the coordinator, relay and agent examples');
  for (const [, role, args] of examples) {
    const help = spawnSync(process.execPath, [join(root, 'bin', 'sallyport.js'), role, '--help'], {
      encoding: 'utf8',
    });
    assert.equal(help.status, 0, help.stderr);
    for (const [flag] of args.matchAll(/--[a-z-]+/g))
      assert.ok(help.stdout.includes(flag), `${role} ${flag}`);
  }
});
