// The `ssh -L` peer: an OpenSSH server on 127.0.0.1 with a temporary host key and a temporary
// authorized key, and an `ssh -N -L` client forwarding a local port to a target through it. Both
// are started here and stopped by PID; the directory holding the keys is removed afterwards.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

const SSHD = '/usr/sbin/sshd';
/** Debian's OpenSSH refuses to start without its privilege-separation directory (compiled in). */
const PRIVSEP_DIR = '/run/sshd';

/** Why the peer cannot run here, or undefined. */
export function sshMissing(): string | undefined {
  if (!existsSync(SSHD)) return `${SSHD} is not installed (openssh-server)`;
  for (const bin of ['ssh', 'ssh-keygen'])
    if (spawnSync(bin, ['-V']).error) return `${bin} is not installed (openssh-client)`;
  if (!existsSync(PRIVSEP_DIR) && process.getuid?.() !== 0)
    return `${PRIVSEP_DIR} is missing and we are not root`;
  return undefined;
}

/** A free TCP port on 127.0.0.1 (closed again at once: a small race, fine on a test machine). */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

async function stopProc(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  const exited = once(p, 'exit');
  p.kill('SIGTERM');
  const t = setTimeout(() => p.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(t);
}

/** Resolves once something accepts TCP connections on 127.0.0.1:port. */
async function waitListening(port: number, ms: number, what: () => string): Promise<void> {
  const end = performance.now() + ms;
  for (;;) {
    const ok = await new Promise<boolean>((r) => {
      const s = connect(port, '127.0.0.1', () => {
        s.destroy();
        r(true);
      });
      s.on('error', () => r(false));
    });
    if (ok) return;
    if (performance.now() > end) throw new Error(`nothing listens on ${port} after ${ms} ms: ${what()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export interface SshTunnel {
  /** The local end of `ssh -L`. */
  localPort: number;
  /** sshd's and ssh's process ids (sshd forks a child per connection: count descendants too). */
  pids: number[];
  stop(): Promise<void>;
}

/** sshd on 127.0.0.1 and an `ssh -L 127.0.0.1:LOCAL:127.0.0.1:targetPort` through it. */
export async function sshTunnel(targetPort: number): Promise<SshTunnel> {
  if (!existsSync(PRIVSEP_DIR)) mkdirSync(PRIVSEP_DIR, { mode: 0o755 });
  const dir = mkdtempSync(join(tmpdir(), 'sallyport-bench-ssh-'));
  const procs: ChildProcess[] = [];
  let log = '';
  const stop = async () => {
    for (const p of procs.reverse()) await stopProc(p);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const keygen = (file: string) => {
      const r = spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, file)]);
      if (r.status !== 0) throw new Error(`ssh-keygen: ${r.stderr}`);
    };
    keygen('host');
    keygen('id');
    writeFileSync(join(dir, 'authorized_keys'), spawnSync('cat', [join(dir, 'id.pub')]).stdout, {
      mode: 0o600,
    });
    const sshdPort = await freePort();
    writeFileSync(
      join(dir, 'sshd_config'),
      [
        `Port ${sshdPort}`,
        'ListenAddress 127.0.0.1',
        `HostKey ${join(dir, 'host')}`,
        `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
        `PidFile ${join(dir, 'sshd.pid')}`,
        'StrictModes no',
        'UsePAM no',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'PermitRootLogin prohibit-password',
        'AllowTcpForwarding yes',
        'LogLevel ERROR',
        '',
      ].join('\n'),
    );
    const sshd = spawn(SSHD, ['-D', '-e', '-f', join(dir, 'sshd_config')], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    procs.push(sshd);
    sshd.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    await waitListening(sshdPort, 10_000, () => `sshd: ${log}`);
    const localPort = await freePort();
    const ssh = spawn(
      'ssh',
      [
        '-N',
        '-L',
        `127.0.0.1:${localPort}:127.0.0.1:${targetPort}`,
        '-i',
        join(dir, 'id'),
        '-p',
        String(sshdPort),
        '-o',
        'BatchMode=yes',
        '-o',
        'StrictHostKeyChecking=no',
        '-o',
        'UserKnownHostsFile=/dev/null',
        '-o',
        'ExitOnForwardFailure=yes',
        '-o',
        'LogLevel=ERROR',
        `${userInfo().username}@127.0.0.1`,
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    procs.push(ssh);
    ssh.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    await waitListening(localPort, 15_000, () => `ssh -L: ${log}`);
    return { localPort, pids: [sshd.pid!, ssh.pid!], stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
