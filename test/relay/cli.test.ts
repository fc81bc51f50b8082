// `sallyport relay`: usage errors, the key file (created 0600, then reused), and a real process
// that serves /health and stops on SIGTERM.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { get } from 'node:https';
import { parseHostPort, run } from '../../src/cli/relay.ts';
import { cert, coordinator } from './fixture.ts';
import { quiet } from '../../src/testing/stderr.ts';
import { spawnCli } from '../../src/testing/spawn-cli.ts';

test('usage errors exit 2 and say what is missing', async () => {
  const r1 = await quiet(() => run(['--listen', 'nonsense']));
  assert.equal(r1.value, 2);
  assert.match(r1.err, /HOST:PORT/);
  const r2 = await quiet(() => run(['--bogus']));
  assert.equal(r2.value, 2);
  const r3 = await quiet(() =>
    run([
      '--listen',
      '127.0.0.1:0',
      '--tls-cert',
      'a',
      '--tls-key',
      'b',
      '--key-file',
      'c',
      '--region',
      'r',
      '--trust-key',
      'nope',
    ]),
  );
  assert.equal(r3.value, 2);
  assert.match(r3.err, /trust-key/);
  assert.deepEqual(parseHostPort('[::1]:443'), { host: '::1', port: 443 });
  assert.deepEqual(parseHostPort('0.0.0.0:3340'), { host: '0.0.0.0', port: 3340 });
});

test(
  'a relay process: key file 0600, /health answers, SIGTERM stops it with exit 0',
  { timeout: 30_000 },
  async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sallyport-relay-cli-'));
    try {
      const c = await cert();
      await writeFile(join(dir, 'tls.crt'), c.certPem);
      await writeFile(join(dir, 'tls.key'), c.keyPem);
      const args = [
        '--listen',
        '127.0.0.1:0',
        '--tls-cert',
        join(dir, 'tls.crt'),
        '--tls-key',
        join(dir, 'tls.key'),
        '--trust-key',
        coordinator.verifyKey.base64(),
        '--region',
        'cli-test',
        '--key-file',
        join(dir, 'relay.key'),
        '--stun-port',
        '0',
        '--log-level',
        'silent',
      ];
      const once = async (): Promise<{ serverKey: string; health: { ok: boolean; region: string } }> => {
        const p = spawnCli('relay', args, 'inherit');
        let out = '';
        p.stdout.setEncoding('utf8');
        const listening = new Promise<{ port: number; serverKey: string }>((resolve, reject) => {
          p.stdout.on('data', (d: string) => {
            out += d;
            const m = /listening on [^:]+:(\d+).*\nserver key (\S+)/s.exec(out);
            if (m) resolve({ port: Number(m[1]), serverKey: m[2] });
          });
          p.on('exit', (code) => reject(new Error(`relay exited early (${code}): ${out}`)));
        });
        const { port, serverKey } = await listening;
        const health = await new Promise<{ ok: boolean; region: string }>((resolve, reject) => {
          get({ host: '127.0.0.1', port, path: '/health', ca: c.certPem, agent: false }, (res) => {
            let b = '';
            res.on('data', (d) => (b += d));
            res.on('end', () => resolve(JSON.parse(b)));
          }).on('error', reject);
        });
        const exited = new Promise<number | null>((r) => p.on('exit', (code) => r(code)));
        p.kill('SIGTERM');
        assert.equal(await exited, 0);
        return { serverKey, health };
      };
      const first = await once();
      assert.equal(first.health.ok, true);
      assert.equal(first.health.region, 'cli-test');
      const st = await stat(join(dir, 'relay.key'));
      assert.equal(st.mode & 0o777, 0o600);
      assert.equal(Buffer.from((await readFile(join(dir, 'relay.key'), 'utf8')).trim(), 'base64').length, 32);
      const second = await once();
      assert.equal(second.serverKey, first.serverKey, 'the key file is reused');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
);
