// STUN interop with coturn for the parts sallyport runs: the agent's STUN client (src/paths)
// against coturn's `turnserver`, and coturn's `turnutils_stunclient` against the relay's own STUN
// responder (src/relay), both on loopback.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { realClock } from '../../src/clock/index.ts';
import { StunClient } from '../../src/paths/index.ts';
import { needs } from '../../src/testing/require.ts';
import { missingBinary } from '../../src/testing/netns.ts';
import { startRelay } from '../relay/fixture.ts';

async function udp(): Promise<Socket> {
  const s = createSocket('udp4');
  s.bind(0, '127.0.0.1');
  await once(s, 'listening');
  return s;
}

test("the agent's STUN client against turnserver learns its own socket address", async (t: TestContext) => {
  if (!needs(t, missingBinary('turnserver'))) return;
  const dir = mkdtempSync(join(tmpdir(), 'sallyport-coturn-'));
  const probe = await udp();
  const port = probe.address().port;
  probe.close();
  const child = spawn(
    'turnserver',
    [
      '-n',
      '--listening-ip=127.0.0.1',
      `--listening-port=${port}`,
      '--no-tls',
      '--no-dtls',
      '--no-cli',
    ].concat([`--userdb=${join(dir, 'turndb')}`, '--log-file=stdout', `--pidfile=${join(dir, 'pid')}`]),
    { stdio: 'ignore' },
  );
  const sock = await udp();
  const client = new StunClient({
    clock: realClock,
    send: (d, to) => {
      const i = to.lastIndexOf(':');
      sock.send(d, Number(to.slice(i + 1)), to.slice(0, i));
    },
    rtoMs: 200, // turnserver takes a moment to start: retransmit quickly
  });
  sock.on('message', (m, r) => client.receive(new Uint8Array(m), `${r.address}:${r.port}`));
  try {
    const r = await client.bind(`127.0.0.1:${port}`, { signal: AbortSignal.timeout(10_000) });
    assert.equal(r.mapped, `127.0.0.1:${sock.address().port}`);
    assert.equal(r.server, `127.0.0.1:${port}`);
    t.diagnostic(`coturn saw us as ${r.mapped} (rtt ${r.rttMs.toFixed(2)} ms)`);
  } finally {
    client.stop();
    sock.close();
    child.kill('SIGTERM');
    await once(child, 'exit');
    rmSync(dir, { recursive: true, force: true });
  }
});

test("turnutils_stunclient against the relay's STUN responder", async (t: TestContext) => {
  if (!needs(t, missingBinary('turnutils_stunclient'))) return;
  const relay = await startRelay({ stunPort: 0 });
  try {
    assert.ok(relay.stunPort, 'the relay reports its STUN port');
    const out = await new Promise<string>((resolve, reject) =>
      execFile(
        'turnutils_stunclient',
        ['-p', String(relay.stunPort), '127.0.0.1'],
        { timeout: 10_000 },
        (err, stdout, stderr) =>
          err ? reject(new Error(`${err.message}\n${stdout}${stderr}`)) : resolve(stdout + stderr),
      ),
    );
    t.diagnostic(out.trim());
    assert.match(out, /UDP reflexive addr: 127\.0\.0\.1:\d+/);
    const metric = await relay.server.registry.getSingleMetricAsString('sallyport_relay_stun_requests_total');
    const counted = Number(/^sallyport_relay_stun_requests_total (\d+)$/m.exec(metric)?.[1] ?? 0);
    assert.ok(counted >= 1, `the relay counted no STUN request:\n${metric}`);
  } finally {
    await relay.server.stop();
  }
});
