// `sallyport completion bash|zsh` run in the shells themselves: commands complete, each command's
// flags (read from its --help) complete, and a flag that takes a file completes files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { needs } from '../../src/testing/require.ts';
import { run } from '../../src/cli/completion.ts';

async function script(shell: string): Promise<string> {
  let out = '';
  assert.equal(await run([shell], { env: {}, stdout: (s) => (out += s), stderr: () => {} }), 0);
  const file = join(mkdtempSync(join(tmpdir(), 'sallyport-completion-')), shell);
  writeFileSync(file, out);
  return file;
}

const sh = (bin: string, code: string) => {
  const r = spawnSync(bin, ['-c', code], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim();
};
const missing = (bin: string) =>
  spawnSync('sh', ['-c', `command -v ${bin}`]).status === 0
    ? undefined
    : `${bin} missing (apt-get install ${bin})`;

test('bash: commands, flags per command, files after a file flag', async (t) => {
  if (!needs(t, missing('bash'))) return;
  const f = await script('bash');
  const complete = (words: string[]) =>
    sh(
      'bash',
      `source ${f}; COMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _sallyport; echo "\${COMPREPLY[@]}"`,
    );
  assert.equal(complete(['sallyport', 'req']), 'request requests');
  assert.equal(complete(['sallyport', 'request', '--w']), '--wait');
  assert.equal(complete(['sallyport', 'login', '--co']), '--coordinator-key');
  assert.ok(complete(['sallyport', 'coordinator', '--oidc-i']).split(' ').includes('--oidc-issuer'));
  assert.ok(complete(['sallyport', 'login', '--ca', join(f, '..')]).length > 0, 'files after --ca');
});

test('zsh: the same table, through compadd', async (t) => {
  if (!needs(t, missing('zsh'))) return;
  const f = await script('zsh');
  const stub = `compdef(){}; _files(){ print FILES }; compadd(){ [[ $1 == -a ]] && print -rl -- \${(P)2} }; source ${f};`;
  const commands = sh('zsh', `${stub} words=(sallyport req); CURRENT=2; PREFIX=req; _sallyport`).split('\n');
  assert.ok(commands.includes('request') && commands.includes('clickhouse') && commands.includes('whoami'));
  const flags = sh('zsh', `${stub} words=(sallyport request --w); CURRENT=3; PREFIX=--w; _sallyport`).split(
    '\n',
  );
  assert.ok(flags.includes('--wait') && flags.includes('--service'), flags.join(' '));
  assert.equal(sh('zsh', `${stub} words=(sallyport request x); CURRENT=3; PREFIX=x; _sallyport`), 'FILES');
  assert.equal(spawnSync('zsh', ['-n', f]).status, 0);
});
