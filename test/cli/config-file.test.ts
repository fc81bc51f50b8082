// `--config FILE` on the long-running commands: a relay starts from its file alone (comments and
// trailing commas included), flags override the file, an unknown key stops every command with
// exit 2 naming the key, and an agent's file may hold flags as well as its services.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { get } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cert, coordinator } from '../relay/fixture.ts';

const dir = mkdtempSync(join(tmpdir(), 'sallyport-config-cli-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

/** Runs a command module's run() with stdout/stderr captured. */
async function capture(
  fn: () => Promise<number>,
  onOut?: (s: string) => void,
): Promise<{ code: number; out: string; err: string }> {
  const [w1, w2] = [process.stdout.write, process.stderr.write];
  let out = '';
  let err = '';
  process.stdout.write = ((s: string) => ((out += s), onOut?.(out), true)) as typeof w1;
  process.stderr.write = ((s: string) => ((err += s), true)) as typeof w2;
  try {
    return { code: await fn(), out, err };
  } finally {
    process.stdout.write = w1;
    process.stderr.write = w2;
  }
}

test('a relay runs from --config alone; a flag overrides the file', { timeout: 30_000 }, async () => {
  const { run } = await import('../../src/cli/relay.ts');
  const c = await cert();
  writeFileSync(join(dir, 'tls.crt'), c.certPem);
  writeFileSync(join(dir, 'tls.key'), c.keyPem);
  const file = join(dir, 'relay.json');
  writeFileSync(
    file,
    `// relay in eu-west-1
{
  "listen": "127.0.0.1:0",
  "tls-cert": ${JSON.stringify(join(dir, 'tls.crt'))},
  "tls-key": ${JSON.stringify(join(dir, 'tls.key'))},
  "trust-key": [${JSON.stringify(coordinator.verifyKey.base64())}], /* the coordinator's signing key */
  "region": "from-file",
  "key-file": ${JSON.stringify(join(dir, 'relay.key'))},
  "log-level": "silent",
}
`,
  );
  for (const [args, region] of [
    [['--config', file], 'from-file'],
    [['--config', file, '--region', 'from-flag'], 'from-flag'],
  ] as const) {
    const stop = new AbortController();
    let port = 0;
    const running = capture(
      () => run([...args], { signal: stop.signal }),
      (out) => {
        const m = /listening on [^:]+:(\d+)/.exec(out);
        if (m) port = Number(m[1]);
      },
    );
    let ended = false;
    void running.then(() => (ended = true));
    while (!port && !ended) await new Promise((r) => setTimeout(r, 20));
    if (!port) assert.fail(`the relay did not start: ${(await running).err}`);
    const health = await new Promise<{ region: string }>((res, rej) => {
      get({ host: '127.0.0.1', port, path: '/health', ca: c.certPem, agent: false }, (r) => {
        let b = '';
        r.on('data', (d) => (b += d));
        r.on('end', () => res(JSON.parse(b)));
      }).on('error', rej);
    });
    stop.abort();
    const r = await running;
    assert.equal(r.code, 0, r.err);
    assert.equal(health.region, region);
  }
});

test('an unknown key in --config stops coordinator, relay and agent with exit 2, naming the key', async () => {
  const file = join(dir, 'typo.json');
  writeFileSync(file, '{ "lisen": "0.0.0.0:8443" }');
  for (const cmd of ['coordinator', 'relay', 'agent']) {
    const { run } = (await import(`../../src/cli/${cmd}.ts`)) as { run: (a: string[]) => Promise<number> };
    const r = await capture(() => run(['--config', file]));
    assert.equal(r.code, 2, `${cmd}: ${r.err}`);
    assert.match(r.err, /typo\.json: unknown key 'lisen'/, cmd);
  }
});

test('an agent file holds flags and services; with flags only it needs no "services"', async () => {
  const { run } = await import('../../src/cli/agent.ts');
  const state = join(dir, 'agent-state');
  const flagsOnly = join(dir, 'agent-flags.json');
  writeFileSync(flagsOnly, JSON.stringify({ state, kind: 'engineer', 'udp-port': 70000 }));
  const r1 = await capture(() => run(['--config', flagsOnly]));
  assert.equal(r1.code, 2);
  assert.match(r1.err, /--udp-port must be 0\.\.65535/, 'the file value reached the command');
  const withServices = join(dir, 'agent.json');
  writeFileSync(
    withServices,
    JSON.stringify({
      state,
      'no-direct': true,
      services: [{ name: 'web', address: '127.0.0.1:8080', tls: 'passthrough' }],
    }),
  );
  const r2 = await capture(() => run(['--config', withServices, '--kind', 'engineer']));
  assert.equal(r2.code, 2);
  assert.match(r2.err, /an engineer node serves no services/, 'the services were read from the same file');
});
