// The agent's commands refuse bad usage with exit code 2 and a missing agent with 1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as agent from '../../src/cli/agent.ts';
import * as connect from '../../src/cli/connect.ts';
import * as status from '../../src/cli/status.ts';
import * as login from '../../src/cli/login.ts';

test('usage errors exit 2, no running agent exits 1, --help exits 0', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sp-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const err = process.stderr.write.bind(process.stderr);
  const out = process.stdout.write.bind(process.stdout);
  let text = '';
  process.stderr.write = ((c: string) => ((text += c), true)) as typeof process.stderr.write;
  process.stdout.write = ((c: string) => ((text += c), true)) as typeof process.stdout.write;
  try {
    assert.equal(await agent.run(['--bogus']), 2);
    assert.equal(await agent.run(['--state', dir]), 2);
    assert.match(text, /--coordinator and --coordinator-key are required/);
    assert.equal(await agent.run(['--state', dir, '--serve', 'bad']), 2);
    assert.equal(
      await agent.run(['--state', dir, '--coordinator', 'https://x:1', '--coordinator-key', 'nope']),
      2,
    );
    assert.equal(await agent.run(['--help']), 0);
    assert.equal(await connect.run(['nope']), 2);
    assert.equal(await connect.run(['a/b']), 2);
    assert.equal(await connect.run(['a/b', '--local', '127.0.0.1:0', '--state', dir]), 1);
    assert.equal(await status.run(['--state', dir]), 1);
    assert.match(text, /is 'sallyport agent' running/);
    assert.equal(await login.run(['http://insecure']), 2);
    assert.equal(await login.run(['--help']), 0);
  } finally {
    process.stderr.write = err;
    process.stdout.write = out;
  }
});
