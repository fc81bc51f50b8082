// Passwords typed at a terminal are not echoed: `sallyport admin login` and `sallyport login --user`
// on a real pseudo-terminal (python3's pty module), the password typed after the prompt appears.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startFixture, ADMIN, type Fixture } from '../control/fixture.ts';
import { needs } from '../../src/testing/require.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
let f: Fixture;
let ca = '';

before(async () => {
  f = await startFixture();
  ca = join(f.dir, 'listener.pem');
  writeFileSync(ca, f.coord.tls.cert);
});
after(() => f.stop());

const python = spawnSync('sh', ['-c', 'command -v python3']).status === 0 ? undefined : 'python3 missing';

/** Runs `sallyport ARGS` on a pty, types `secret` + Enter once `prompt` shows; returns all output. */
function onPty(
  args: string[],
  prompt: string,
  secret: string,
  env: Record<string, string> = {},
): Promise<{ code: number; out: string }> {
  const argv = [process.execPath, join(root, 'bin', 'sallyport.js'), ...args];
  const py = `
import os, pty, sys, time, select
pid, fd = pty.fork()
if pid == 0:
    os.execvpe(${JSON.stringify(argv[0])}, ${JSON.stringify(argv)}, dict(os.environ, **${JSON.stringify(env)}))
out = b''
typed = False
deadline = time.time() + 60
while time.time() < deadline:
    r, _, _ = select.select([fd], [], [], 0.2)
    if r:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    if not typed and ${JSON.stringify(prompt)}.encode() in out:
        time.sleep(0.2)
        os.write(fd, ${JSON.stringify(secret)}.encode() + b'\\r')
        typed = True
_, status = os.waitpid(pid, 0)
sys.stdout.write(out.decode('utf-8', 'replace'))
sys.exit(os.waitstatus_to_exitcode(status))
`;
  // Not spawnSync: the coordinator answering the command runs in this process.
  return new Promise<{ code: number; out: string }>((resolve) => {
    const p = spawn('python3', ['-c', py], { cwd: root });
    let out = '';
    p.stdout.on('data', (c: Buffer) => (out += c.toString()));
    p.stderr.on('data', (c: Buffer) => (out += c.toString()));
    p.on('close', (code) => resolve({ code: code ?? -1, out }));
  });
}

test('admin login: a prompt, the password not echoed, the token printed', async (t) => {
  if (!needs(t, python)) return;
  const r = await onPty(
    ['admin', 'login', '--user', ADMIN.name, '--server', f.coord.url, '--ca', ca],
    'Password: ',
    ADMIN.password,
  );
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /Password: /);
  assert.match(r.out, /spt_[A-Za-z0-9_-]{20,}/);
  assert.ok(!r.out.includes(ADMIN.password), `the password was echoed:\n${r.out}`);
});

test('login --user: the same prompt, and the profile written', async (t) => {
  if (!needs(t, python)) return;
  const home = mkdtempSync(join(tmpdir(), 'sallyport-prompt-'));
  const r = await onPty(
    ['login', f.coord.url, '--ca', ca, '--user', ADMIN.name],
    `Password for ${ADMIN.name}: `,
    ADMIN.password,
    {
      HOME: home,
      XDG_CONFIG_HOME: join(home, '.config'),
    },
  );
  assert.equal(r.code, 0, r.out);
  assert.ok(!r.out.includes(ADMIN.password), `the password was echoed:\n${r.out}`);
  assert.match(r.out, new RegExp(`signed in as ${ADMIN.name} \\(local password\\)`));
  const p = JSON.parse(readFileSync(join(home, '.config', 'sallyport', 'profile.json'), 'utf8')) as {
    method: string;
  };
  assert.equal(p.method, 'password');
});
