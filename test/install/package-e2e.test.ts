// The clean-install walkthrough: `npm run build` + `npm pack`, the tarball installed into an empty
// directory WITH the optional coordinator driver, then docs/quickstart.sh's steps run from that
// install only (plain node, no tsx, no source tree, cwd outside the repository): a coordinator, a
// relay, the admin commands, a connector serving a local HTTP file server as `web`
// (kind=http,tls=passthrough) and an engineer agent with a SOCKS5 proxy; curl fetches the file
// through the overlay and its sha256 must equal the served bytes'.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { needs } from '../../src/testing/require.ts';
import { cert } from '../relay/fixture.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The environment of every process started from the install: no tsx loader, no repo paths. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_OPTIONS: '', npm_config_loglevel: 'error', ...extra };
  for (const k of Object.keys(env)) if (k.startsWith('SALLYPORT_') && !(k in extra)) delete env[k];
  return env;
}

function sh(cmd: string, args: string[], cwd: string, timeout = 150_000, env = cleanEnv()) {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout, env });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

function has(cmd: string): boolean {
  return spawnSync(cmd, ['--version'], { stdio: 'ignore' }).status === 0;
}

async function freeTcpPort(): Promise<number> {
  const s = createNetServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

test(
  'from the installed tarball only: coordinator, relay, connector and engineer move a file byte-exact',
  { timeout: 420_000 },
  async (t) => {
    if (!needs(t, has(npm) ? undefined : 'needs npm')) return;
    if (!needs(t, has('curl') ? undefined : 'needs curl')) return;

    const dir = mkdtempSync(join(tmpdir(), 'sallyport-install-e2e-'));
    const procs: ChildProcess[] = [];
    const web = createHttpServer();
    try {
      // Build, pack, install into an empty directory with the optional drivers.
      sh(process.execPath, ['scripts/build.mjs'], root);
      const out = sh(npm, ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], root);
      const [info] = JSON.parse(out) as { filename: string }[];
      const app = join(dir, 'app');
      mkdirSync(app);
      writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'install-e2e', private: true }));
      const t0 = performance.now();
      sh(
        npm,
        ['install', '--prefer-offline', '--no-audit', '--no-fund', join(dir, info.filename)],
        app,
        240_000,
      );
      t.diagnostic(
        `npm install of the tarball with optional drivers: ${Math.round(performance.now() - t0)} ms`,
      );

      const nm = join(app, 'node_modules');
      const pkg = join(nm, 'sallyport');
      for (const p of ['tsx', 'typescript', 'esbuild'])
        assert.equal(existsSync(join(nm, p)), false, `${p} was installed`);
      assert.equal(existsSync(join(pkg, 'src')), false, 'the install holds our src/');
      assert.ok(existsSync(join(nm, 'better-sqlite3')), 'the optional SQLite driver was installed');
      const bin = join(nm, '.bin', 'sallyport');
      assert.ok(existsSync(bin), 'node_modules/.bin/sallyport exists');

      const W = join(dir, 'w');
      mkdirSync(W);
      const run = (args: string[], extra: Record<string, string> = {}, input?: string) =>
        spawnSync(process.execPath, [bin, ...args], {
          cwd: W,
          encoding: 'utf8',
          timeout: 30_000,
          env: cleanEnv(extra),
          input,
        });
      const runOk = (args: string[], extra: Record<string, string> = {}, input?: string) => {
        const r = run(args, extra, input);
        assert.equal(
          r.status,
          0,
          `sallyport ${args.join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`,
        );
        return r.stdout.trim();
      };
      const logs = new Map<ChildProcess, { name: string; text: string }>();
      const start = (name: string, args: string[], extra: Record<string, string> = {}) => {
        const p = spawn(process.execPath, [bin, ...args], {
          cwd: W,
          env: cleanEnv(extra),
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        const log = { name, text: '' };
        logs.set(p, log);
        p.stdout!.setEncoding('utf8').on('data', (d: string) => (log.text += d));
        p.stderr!.setEncoding('utf8').on('data', (d: string) => (log.text += d));
        procs.push(p);
        return { p, log };
      };
      const dump = () => [...logs.values()].map((l) => `--- ${l.name}\n${l.text.slice(-3000)}`).join('\n');
      const waitFor = async (what: string, ok: () => boolean, ms = 30_000) => {
        const end = performance.now() + ms;
        while (!ok()) {
          for (const [p, l] of logs)
            if (p.exitCode !== null || p.signalCode !== null)
              assert.fail(
                `${l.name} exited (${p.exitCode ?? p.signalCode}) while waiting for ${what}\n${dump()}`,
              );
          if (performance.now() > end) assert.fail(`timed out waiting for ${what}\n${dump()}`);
          await sleep(200);
        }
      };

      const [coordPort, relayPort, stunPort, socksPort] = [
        await freeTcpPort(),
        await freeTcpPort(),
        await freeUdpPort(),
        await freeTcpPort(),
      ];

      // 1. The coordinator.
      const coord = start('coordinator', [
        'coordinator',
        '--data',
        join(W, 'coord'),
        '--suffix',
        'byoc.example.com',
        '--listen',
        `127.0.0.1:${coordPort}`,
        '--relay',
        `local-1=https://127.0.0.1:${relayPort},stun=${stunPort}`,
      ]);
      await waitFor('the coordinator', () => /relay trust key/.test(coord.log.text));
      const channelKey = /channel key[^\n]*?(\S+)\s*$/m.exec(coord.log.text)![1];
      const trustKey = /relay trust key[^\n]*?(\S+)\s*$/m.exec(coord.log.text)![1];

      // It really is the installed copy that runs: its script path is under the install.
      const cmdline = readFileSync(`/proc/${coord.p.pid}/cmdline`, 'utf8').split('\0');
      assert.equal(cmdline[0], process.execPath);
      assert.ok(cmdline[1].startsWith(app + sep), `the coordinator runs ${cmdline[1]}`);
      assert.ok(!cmdline.some((a) => /tsx/.test(a)), cmdline.join(' '));
      assert.ok(!cmdline[1].startsWith(root), 'the coordinator runs from the source tree');

      // 2. The relay.
      const c = await cert();
      writeFileSync(join(W, 'relay.crt'), c.certPem);
      writeFileSync(join(W, 'relay.key'), c.keyPem);
      const relay = start('relay', [
        'relay',
        '--listen',
        `127.0.0.1:${relayPort}`,
        '--tls-cert',
        join(W, 'relay.crt'),
        '--tls-key',
        join(W, 'relay.key'),
        '--trust-key',
        trustKey,
        '--region',
        'local-1',
        '--key-file',
        join(W, 'relay-node.key'),
        '--stun-port',
        String(stunPort),
      ]);
      await waitFor('the relay', () => /listening on/.test(relay.log.text));
      writeFileSync(
        join(W, 'trust.pem'),
        readFileSync(join(W, 'coord', 'tls', 'cert.pem'), 'utf8') + c.certPem,
      );

      // 3. The administrator.
      const admin = {
        SALLYPORT_SERVER: `https://127.0.0.1:${coordPort}`,
        SALLYPORT_CA: join(W, 'coord', 'tls', 'cert.pem'),
      };
      const password = readFileSync(join(W, 'coord', 'initial-admin-password'), 'utf8').trim();
      const token = runOk(['admin', 'login', '--user', 'admin'], { ...admin, SALLYPORT_PASSWORD: password });
      const as = { ...admin, SALLYPORT_TOKEN: token };
      runOk(['admin', 'deployments', 'create', 'acme-prod', '--region', 'us-east-1', '--cloud', 'aws'], as);
      const connectorKey = runOk(
        ['admin', 'keys', 'create', '--deployment', 'acme-prod', '--expires', '1h'],
        as,
      );
      runOk(['admin', 'users', 'create', 'alice'], as, 'correct horse battery staple\n');
      const engineerKey = runOk(['admin', 'keys', 'create', '--user', 'alice', '--expires', '1h'], as);
      runOk(
        [
          'admin',
          'grants',
          'create',
          '--user',
          'alice',
          '--deployment',
          'acme-prod',
          '--service',
          'web',
          '--expires',
          '1h',
        ],
        as,
      );

      // 4. The internal HTTP service and the connector in front of it.
      const body = randomBytes(4 * 1024 * 1024);
      web.on('request', (req, res) => {
        if (req.url !== '/big') return res.writeHead(404).end();
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length });
        res.end(body);
      });
      await new Promise<void>((r) => web.listen(0, '127.0.0.1', r));
      const webPort = (web.address() as { port: number }).port;
      const common = [
        '--coordinator',
        `https://127.0.0.1:${coordPort}`,
        '--coordinator-key',
        channelKey,
        '--ca',
        join(W, 'trust.pem'),
      ];
      start(
        'connector',
        [
          'agent',
          '--state',
          join(W, 'conn'),
          ...common,
          '--name',
          'conn-1',
          '--serve',
          `web=127.0.0.1:${webPort},kind=http,tls=passthrough`,
        ],
        { SALLYPORT_PREAUTH_KEY: connectorKey },
      );

      // 5. The engineer's agent with a SOCKS5 proxy; ready when it sees a peer (as quickstart.sh).
      start(
        'engineer',
        [
          'agent',
          '--state',
          join(W, 'eng'),
          ...common,
          '--name',
          'alice-laptop',
          '--kind',
          'engineer',
          '--socks5',
          `127.0.0.1:${socksPort}`,
        ],
        { SALLYPORT_PREAUTH_KEY: engineerKey },
      );
      await waitFor(
        'the engineer to see the connector',
        () => {
          const r = run(['status', '--state', join(W, 'eng'), '--json']);
          if (r.status !== 0) return false;
          try {
            return ((JSON.parse(r.stdout) as { peers?: unknown[] }).peers ?? []).length > 0;
          } catch {
            return false;
          }
        },
        60_000,
      );

      // 6. Through the overlay, byte-exact.
      const got = join(W, 'got');
      // curl runs asynchronously: the file server lives in this process's event loop.
      const curl = await new Promise<{ status: number | null; stderr: string }>((res) => {
        const p = spawn(
          'curl',
          [
            '-sS',
            '--fail',
            '--max-time',
            '60',
            '--socks5-hostname',
            `127.0.0.1:${socksPort}`,
            'http://web.acme-prod.us-east-1.aws.byoc.example.com/big',
            '-o',
            got,
          ],
          { stdio: ['ignore', 'ignore', 'pipe'], timeout: 70_000, env: cleanEnv() },
        );
        let stderr = '';
        p.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
        p.on('close', (status) => res({ status, stderr }));
      });
      assert.equal(curl.status, 0, `curl failed (${curl.status}): ${curl.stderr}\n${dump()}`);
      const received = readFileSync(got);
      assert.equal(received.length, body.length);
      assert.equal(sha256(received), sha256(body), 'the file came through the overlay byte-exact');
      // The comparison can fail: one flipped byte changes the hash.
      const corrupt = Buffer.from(received);
      corrupt[corrupt.length >> 1] ^= 1;
      assert.notEqual(sha256(corrupt), sha256(body));

      // Every process started from the install, none from the repository's tree.
      for (const p of procs) {
        const argv = readFileSync(`/proc/${p.pid}/cmdline`, 'utf8').split('\0');
        assert.ok(argv[1].startsWith(app + sep), `${logs.get(p)!.name} runs ${argv[1]}`);
      }
    } finally {
      const exits = procs.map((p) =>
        p.exitCode !== null || p.signalCode !== null
          ? Promise.resolve()
          : new Promise<void>((r) => p.once('exit', () => r())),
      );
      for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGTERM');
      const killer = setTimeout(() => {
        for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
      }, 5_000);
      await Promise.race([Promise.all(exits), sleep(10_000)]);
      clearTimeout(killer);
      web.close();
      web.closeAllConnections();
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
