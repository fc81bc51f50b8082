// Every command reads its command line with the one kit (src/cli/kit): an unknown option or a flag
// without its value exits 2, before anything is started or sent, with one message naming the
// mistake and where the options are.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { commandNames } from '../../src/cli/main.ts';
import { EXIT } from '../../src/cli/exit.ts';

const bin = fileURLToPath(new URL('../../bin/sallyport.js', import.meta.url));

function run(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (b: Buffer) => (out += b.toString()));
    p.stderr.on('data', (b: Buffer) => (err += b.toString()));
    p.on('close', (code) => resolve({ code, out, err }));
  });
}

/** The lab's command line is its own (src/lab). */
const KIT_COMMANDS = commandNames().filter((c) => c !== 'lab');

test('an unknown option: exit 2, the option named, where the options are; nothing on stdout', async () => {
  const runs = await Promise.all(KIT_COMMANDS.map((c) => run([c, '--no-such-flag'])));
  const wrong = KIT_COMMANDS.flatMap((c, i) => {
    const r = runs[i];
    const want = `sallyport ${c}: Unknown option '--no-such-flag'\n(see sallyport ${c} --help)\n`;
    return r.code === EXIT.USAGE && r.err === want && r.out === '' ? [] : [`${c}: ${r.code} ${r.err}`];
  });
  assert.deepEqual(wrong, []);
});

test('a flag without its value, and a near miss, are named', async () => {
  const [state, near] = await Promise.all([
    run(['status', '--state']),
    run(['grants', '--stauts', 'active']),
  ]);
  assert.equal(state.code, EXIT.USAGE);
  assert.equal(
    state.err,
    'sallyport status: --state needs a value: --state DIR\n(see sallyport status --help)\n',
  );
  assert.equal(near.code, EXIT.USAGE);
  assert.match(
    near.err,
    /^sallyport grants: Unknown option '--stauts': did you mean --status or --state\?\n/,
  );
});
