// The container images (scripts/images.sh): builds them, checks the OCI layout and the image
// configs (non-root numeric user, entrypoint, healthcheck, volume), then runs them with podman,
// read-only root and /tmp on tmpfs: the relay answers /health and its HEALTHCHECK passes, the
// coordinator keeps its data on a volume (owned by the image's uid, keys 0600) and prints its keys,
// the agent's --help runs; every process is uid 10001 and the root refuses writes.
// Where podman cannot run containers, the same image root is run with unshare + chroot instead,
// read-only bind-mounted, as uid 10001 (the test says which it used).
//
// The first build downloads a Debian root with mmdebstrap (minutes on a slow mirror), so the test
// runs only with SALLYPORT_FULL=1. The root is cached in .tmp/images; later builds take 1 to 2.5 min.
// SALLYPORT_IMAGES_PACKAGE=TGZ builds from that npm pack tarball instead of packing this checkout;
// SALLYPORT_IMAGES_REUSE=1 uses the images already built; SALLYPORT_IMAGES_RUNNER=chroot takes the
// unshare + chroot path even where podman works.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fullRun, needs, rootMissing } from '../../src/testing/require.ts';

const root = new URL('../..', import.meta.url).pathname;
const cache = join(root, '.tmp', 'images');
const oci = join(cache, 'oci');
const UID = 10001;
const ROLES = ['coordinator', 'relay', 'agent'] as const;

function run(cmd: string, args: string[], timeoutMs = 60_000): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, { encoding: 'utf8', timeout: timeoutMs });
}
function ok(cmd: string, args: string[], timeoutMs?: number): string {
  const r = run(cmd, args, timeoutMs);
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')} → ${r.status}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}
const have = (bin: string) => run('sh', ['-c', `command -v ${bin}`]).status === 0;

function missingTools(): string | undefined {
  if (!fullRun) return undefined;
  const m = rootMissing();
  if (m) return 'needs root (buildah, mmdebstrap)';
  const gone = ['mmdebstrap', 'buildah', 'openssl'].filter((b) => !have(b));
  return gone.length ? `needs ${gone.join(', ')} (apt-get install ${gone.join(' ')})` : undefined;
}

let version = '';
let built = false;
function build(): void {
  if (built) return;
  if (process.env.SALLYPORT_IMAGES_REUSE === '1') {
    // The images of an earlier images.sh run (same checkout), as it is.
    version = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version;
    ok('buildah', ['inspect', '--type', 'image', `localhost/sallyport-agent:${version}`]);
    built = true;
    return;
  }
  const args = [join(root, 'scripts', 'images.sh')];
  if (process.env.SALLYPORT_IMAGES_PACKAGE) args.push('--package', process.env.SALLYPORT_IMAGES_PACKAGE);
  const t0 = performance.now();
  const r = run('bash', args, 20 * 60_000);
  assert.equal(r.status, 0, `images.sh failed:\n${r.stdout}\n${r.stderr}`);
  process.stderr.write(`images.sh took ${Math.round((performance.now() - t0) / 1000)} s\n${r.stdout}`);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 3, r.stdout);
  version = /sallyport-coordinator:(\S+)/.exec(r.stdout)?.[1] ?? '';
  assert.ok(version, r.stdout);
  built = true;
}

// podman's defaults raise RLIMIT_NOFILE/NPROC, which a sandbox without CAP_SYS_RESOURCE refuses:
// ask for what this process already has. crun refuses hybrid cgroup v1/v2 hosts; runc does not.
function podmanArgs(): string[] | undefined {
  if (process.env.SALLYPORT_IMAGES_RUNNER === 'chroot' || !have('podman')) return undefined;
  const nofile = run('sh', ['-c', 'echo $(ulimit -n):$(ulimit -Hn)']).stdout.trim();
  const base = ['--ulimit', `nofile=${nofile}`, '--ulimit', 'nproc=4096:4096'];
  for (const rt of [[], ['--runtime', 'runc']]) {
    const r = run('podman', [
      ...rt,
      'run',
      '--rm',
      ...base,
      '--entrypoint',
      'true',
      `localhost/sallyport-agent:${version}`,
    ]);
    if (r.status === 0) return [...rt, 'run', ...base];
  }
  return undefined;
}

function readBlob(digest: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(oci, 'blobs', 'sha256', digest.replace(/^sha256:/, '')), 'utf8'));
}

function health(port: number): Promise<number> {
  return new Promise((resolve) => {
    const req = request(
      { host: '127.0.0.1', port, path: '/health', rejectUnauthorized: false, timeout: 2000 },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', () => resolve(0));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}
async function waitHealthy(port: number, ms: number): Promise<boolean> {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    if ((await health(port)) === 200) return true;
    await new Promise((r) => setTimeout(r, 300));
  }
  return false;
}
const freePort = () => 20000 + Math.floor(Math.random() * 20000);

/** A host directory for the image's uid, and one with the relay's TLS files. */
function volumes(): { dir: string; state: string; etc: string } {
  const dir = mkdtempSync(join(tmpdir(), 'sp-images-'));
  chmodSync(dir, 0o755);
  const state = join(dir, 'state');
  const etc = join(dir, 'etc');
  mkdirSync(state, { mode: 0o700 });
  chownSync(state, UID, UID);
  mkdirSync(etc);
  ok('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-days',
    '1',
    '-subj',
    '/CN=relay',
    '-keyout',
    join(etc, 'relay.key'),
    '-out',
    join(etc, 'relay.crt'),
  ]);
  chmodSync(join(etc, 'relay.key'), 0o644);
  return { dir, state, etc };
}
const TRUST = Buffer.alloc(32, 7).toString('base64');

test(
  'images: the OCI layout holds the three roles, non-root, with entrypoints and healthchecks',
  { timeout: 25 * 60_000 },
  (t) => {
    if (!fullRun) return t.skip('image build downloads a Debian root; runs with SALLYPORT_FULL=1');
    if (!needs(t, missingTools())) return;
    build();
    const layout = JSON.parse(readFileSync(join(oci, 'oci-layout'), 'utf8'));
    assert.equal(layout.imageLayoutVersion, '1.0.0');
    const index = JSON.parse(readFileSync(join(oci, 'index.json'), 'utf8'));
    const names = index.manifests.map(
      (m: { annotations?: Record<string, string> }) => m.annotations?.['org.opencontainers.image.ref.name'],
    );
    assert.deepEqual(names.sort(), ROLES.map((r) => `sallyport-${r}-${version}`).sort());
    for (const m of index.manifests) {
      const role = m.annotations['org.opencontainers.image.ref.name'].split('-')[1];
      const manifest = readBlob(m.digest) as { config: { digest: string }; layers: unknown[] };
      assert.ok(manifest.layers.length >= 1);
      const cfg = (readBlob(manifest.config.digest) as { config: Record<string, unknown> }).config;
      assert.equal(cfg.User, `${UID}:${UID}`, role);
      assert.deepEqual(cfg.Entrypoint, ['sallyport', role]);
      assert.equal(cfg.WorkingDir, '/var/lib/sallyport');
      // Each role's listen variable only in its own image.
      const env = (cfg.Env as string[]).map((e) => e.split('=')[0]);
      assert.equal(env.includes('SALLYPORT_LISTEN'), role === 'coordinator', role);
      assert.equal(env.includes('SALLYPORT_RELAY_LISTEN'), role === 'relay', role);
      assert.ok('/var/lib/sallyport' in (cfg.Volumes as object), role);
      // HEALTHCHECK is a Docker image field; the docker-format image in containers-storage has it.
      const inspect = JSON.parse(
        ok('buildah', ['inspect', '--type', 'image', `localhost/sallyport-${role}:${version}`]),
      );
      const hc = inspect.Docker.config.Healthcheck;
      assert.equal(hc.Test[0], 'CMD', role);
      assert.equal(hc.Test[1], role === 'agent' ? 'sallyport' : 'node', JSON.stringify(hc.Test));
      assert.ok(hc.Interval > 0 && hc.Timeout > 0 && hc.Retries > 0, role);
    }
  },
);

test(
  'images: relay, coordinator and agent run non-root on a read-only root',
  { timeout: 25 * 60_000 },
  async (t) => {
    if (!fullRun) return t.skip('image build downloads a Debian root; runs with SALLYPORT_FULL=1');
    if (!needs(t, missingTools())) return;
    build();
    const pod = podmanArgs();
    const v = volumes();
    const names: string[] = [];
    t.after(() => {
      for (const n of names) run('podman', ['rm', '-f', '-t', '2', n]);
      rmSync(v.dir, { recursive: true, force: true });
    });
    if (pod) {
      process.stderr.write('images: running the images with podman\n');
      const ro = ['-d', '--network=host', '--read-only', '--tmpfs', '/tmp'];
      const relayPort = freePort();
      const relay = `sp-relay-${process.pid}`;
      names.push(relay);
      ok('podman', [
        ...pod,
        ...ro,
        '--name',
        relay,
        '-e',
        `SALLYPORT_RELAY_LISTEN=127.0.0.1:${relayPort}`,
        '-v',
        `${v.etc}:/etc/sallyport:ro`,
        '-v',
        `${join(v.state)}:/var/lib/sallyport`,
        `localhost/sallyport-relay:${version}`,
        '--tls-cert',
        '/etc/sallyport/relay.crt',
        '--tls-key',
        '/etc/sallyport/relay.key',
        '--trust-key',
        TRUST,
        '--region',
        'test',
        '--key-file',
        '/var/lib/sallyport/relay.key',
      ]);
      assert.ok(await waitHealthy(relayPort, 30_000), run('podman', ['logs', relay]).stderr);
      assert.equal(run('podman', ['healthcheck', 'run', relay]).status, 0, 'the image HEALTHCHECK passes');
      assert.equal(ok('podman', ['exec', relay, 'id', '-u']).trim(), String(UID));
      const w = run('podman', ['exec', relay, 'touch', '/probe']);
      assert.notEqual(w.status, 0);
      assert.match(w.stderr, /Read-only file system/);
      assert.equal(run('podman', ['exec', relay, 'touch', '/tmp/probe']).status, 0, '/tmp is writable');
      assert.equal(statSync(join(v.state, 'relay.key')).uid, UID);

      const coordPort = freePort() + 1;
      const coord = `sp-coord-${process.pid}`;
      const data = join(v.dir, 'coord');
      mkdirSync(data, { mode: 0o700 });
      chownSync(data, UID, UID);
      names.push(coord);
      ok('podman', [
        ...pod,
        ...ro,
        '--name',
        coord,
        '-e',
        `SALLYPORT_LISTEN=127.0.0.1:${coordPort}`,
        '-v',
        `${data}:/var/lib/sallyport`,
        `localhost/sallyport-coordinator:${version}`,
        '--suffix',
        'test.example',
        '--json',
      ]);
      assert.ok(await waitHealthy(coordPort, 60_000), run('podman', ['logs', coord]).stderr);
      const out = JSON.parse(run('podman', ['logs', coord]).stdout.trim().split('\n')[0]);
      assert.match(out.channelKey, /^[A-Za-z0-9+/]{43}=$/);
      assert.match(out.relayTrustKey, /^[A-Za-z0-9+/]{43}=$/);
      assert.equal(run('podman', ['healthcheck', 'run', coord]).status, 0, 'the image HEALTHCHECK passes');
      assert.equal(ok('podman', ['exec', coord, 'id', '-u']).trim(), String(UID));
      for (const f of ['coordinator.key', 'signing.key', 'coordinator.db']) {
        const st = statSync(join(data, f));
        assert.equal(st.uid, UID, f);
        assert.equal(st.mode & 0o777, 0o600, f);
      }

      const help = run('podman', [
        ...pod,
        '--rm',
        '--network=none',
        '--read-only',
        '--tmpfs',
        '/tmp',
        `localhost/sallyport-agent:${version}`,
        '--help',
      ]);
      assert.equal(help.status, 0, help.stderr);
      assert.match(help.stdout, /usage: sallyport agent/);
      const uid = run('podman', [
        ...pod,
        '--rm',
        '--entrypoint',
        'id',
        `localhost/sallyport-agent:${version}`,
        '-u',
      ]);
      assert.equal(uid.stdout.trim(), String(UID));
      return;
    }

    // No podman that runs containers here: the same image root, chroot'ed in a mount namespace.
    process.stderr.write(
      'images: podman cannot run containers here; running the image root with unshare + chroot\n',
    );
    const c = ok('buildah', ['from', '--quiet', `localhost/sallyport-relay:${version}`]).trim();
    const mnt = ok('buildah', ['mount', c]).trim();
    const relayPort = freePort();
    const script = join(v.dir, 'chroot.sh');
    writeFileSync(
      script,
      `set -e
R=$1
mount --bind "$R" "$R" && mount -o remount,bind,ro "$R"
mount -t tmpfs tmpfs "$R/tmp"
mount --bind ${v.state} "$R/var/lib/sallyport"
mount --bind -o ro ${v.etc} "$R/mnt"
chroot --userspec=${UID}:${UID} "$R" /usr/local/bin/sallyport agent --help | grep -q 'usage: sallyport agent'
chroot --userspec=${UID}:${UID} "$R" /bin/sh -c 'id -u; touch /probe 2>/dev/null && echo writable || echo read-only'
SALLYPORT_RELAY_LISTEN=127.0.0.1:${relayPort} exec chroot --userspec=${UID}:${UID} "$R" /usr/local/bin/sallyport relay \\
  --tls-cert /mnt/relay.crt --tls-key /mnt/relay.key --trust-key ${TRUST} --region test \\
  --key-file /var/lib/sallyport/relay.key
`,
    );
    const child = spawn('unshare', ['--mount', '--propagation', 'private', 'sh', script, mnt], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    t.after(async () => {
      if (child.exitCode === null) {
        const gone = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await gone;
      }
      run('buildah', ['rm', c]);
    });
    assert.ok(await waitHealthy(relayPort, 30_000), stdout);
    assert.match(stdout, new RegExp(`^${UID}\\nread-only\\n`));
  },
);
