// I1, outbound only, in the netlab: the real CLI processes (coordinator and relay in the vendor
// namespace, a connector behind a NAT router with its services, an engineer behind another) with
// the customer namespace dropping every new inbound connection (nftables `ct state new` drop on
// input). The scenario still works (curl through SOCKS5 and a `connect` forward, compared by
// SHA-256), and a scan from the vendor and engineer namespaces of every TCP and UDP port the
// connector holds finds nothing reachable.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createSelfSigned } from '../../src/pki/index.ts';
import { needs, rootMissing, fullRun } from '../../src/testing/require.ts';
import { missingBinary } from '../../src/testing/netns.ts';
import { Netlab, socketsOf } from '../../src/testing/netlab.ts';
import type { LabProcess } from '../../src/testing/netns.ts';

const SCAN = fileURLToPath(new URL('./scan.mjs', import.meta.url));
const MIB = Number(process.env.SALLYPORT_NETLAB_MIB ?? (fullRun ? 100 : 16));
const NAME = 'web.acme-prod.us-east-1.aws.byoc.test';
const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

async function waitOutput(p: LabProcess, re: RegExp, ms: number, what: string): Promise<RegExpExecArray> {
  const end = Date.now() + ms;
  for (;;) {
    const m = re.exec(p.output());
    if (m) return m;
    if (Date.now() > end)
      throw new Error(`timed out waiting for ${what}; output:\n${p.output().slice(-3000)}`);
    if (p.child.exitCode !== null)
      throw new Error(`${what}: process exited ${p.child.exitCode}:\n${p.output().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test(
  'I1: the connector listens on nothing reachable, and the overlay works with inbound dropped',
  { timeout: 300_000 },
  async (t) => {
    if (!needs(t, rootMissing() ?? missingBinary('ip', 'nft', 'ss', 'curl', 'socat', 'python3'))) return;
    const lab = await Netlab.create();
    t.after(() => lab.cleanup());
    const V = lab.addr.vendor;
    const url = `https://${V}:8443`;

    // ── vendor: coordinator, then the relay trusting its signing key ──
    const relayCert = await createSelfSigned({ commonName: 'relay.netlab', ipAddresses: [V] });
    const relayCrt = lab.file('relay.crt', relayCert.certPem);
    const relayKey = lab.file('relay.key.pem', relayCert.keyPem);
    const coordDir = join(lab.dir, 'coordinator');
    const coord = await lab.spawnCli('vendor', [
      'coordinator',
      '--data',
      coordDir,
      '--listen',
      `${V}:8443`,
      '--suffix',
      'byoc.test',
      '--relay',
      `local-1=https://${V}:8444`,
      '--log-level',
      'warn',
    ]);
    const ck = (
      await waitOutput(coord, /channel key \(agents pin\):\s+(\S+)/, 60_000, 'coordinator keys')
    )[1];
    const trust = (
      await waitOutput(coord, /relay trust key \(Ed25519\):\s+(\S+)/, 5_000, 'relay trust key')
    )[1];
    await lab.spawnCli('vendor', [
      'relay',
      '--listen',
      `${V}:8444`,
      '--tls-cert',
      relayCrt,
      '--tls-key',
      relayKey,
      '--trust-key',
      trust,
      '--region',
      'local-1',
      '--key-file',
      join(lab.dir, 'relay-x25519.key'),
      '--log-level',
      'warn',
    ]);
    const caFile = lab.file(
      'ca.pem',
      readFileSync(join(coordDir, 'tls', 'cert.pem'), 'utf8').trim() + '\n' + relayCert.certPem,
    );

    // ── the operator: deployment, user, pre-auth keys, a standing grant (the real admin CLI) ──
    const password = readFileSync(join(coordDir, 'initial-admin-password'), 'utf8').trim();
    const base = { SALLYPORT_SERVER: url, SALLYPORT_CA: caFile };
    const token = (
      await lab.cli('vendor', ['admin', 'login', '--user', 'admin'], {
        env: { ...base, SALLYPORT_PASSWORD: password },
      })
    ).stdout.trim();
    const env = { ...base, SALLYPORT_TOKEN: token };
    const admin = async (...args: string[]) =>
      JSON.parse((await lab.cli('vendor', ['admin', ...args, '--json'], { env })).stdout) as Record<
        string,
        unknown
      >;
    await admin('deployments', 'create', 'acme-prod', '--region', 'us-east-1', '--cloud', 'aws');
    await lab.cli('vendor', ['admin', 'users', 'create', 'alice'], {
      env: { ...env, SALLYPORT_NEW_PASSWORD: 'alice-password-123' },
    });
    const connKey = String((await admin('keys', 'create', '--deployment', 'acme-prod')).key);
    const engKey = String((await admin('keys', 'create', '--user', 'alice')).key);
    await admin('grants', 'create', '--user', 'alice', '--deployment', 'acme-prod');

    // ── customer: inbound dropped, internal services on loopback, the connector ──
    await lab.inboundDrop('customer');
    const www = join(lab.dir, 'www');
    mkdirSync(www);
    const big = randomBytes(MIB * 1024 * 1024);
    writeFileSync(join(www, 'big.bin'), big);
    lab.spawn('customer', [
      'python3',
      '-m',
      'http.server',
      '8080',
      '--bind',
      '127.0.0.1',
      '--directory',
      www,
    ]);
    lab.spawn('customer', ['socat', 'TCP-LISTEN:7000,bind=127.0.0.1,reuseaddr,fork', 'EXEC:cat']);
    const common = ['--coordinator', url, '--coordinator-key', ck, '--ca', caFile, '--log-level', 'info'];
    const connState = join(lab.dir, 'connector-state');
    const connector = await lab.spawnCli('customer', [
      'agent',
      '--state',
      connState,
      ...common,
      '--preauth-key',
      connKey,
      '--name',
      'acme-connector',
      '--serve',
      'web=127.0.0.1:8080,kind=http,tls=passthrough',
      '--serve',
      'echo=127.0.0.1:7000,kind=tcp,tls=passthrough',
    ]);

    // ── engineer ──
    const engState = join(lab.dir, 'engineer-state');
    await lab.spawnCli('engineer', [
      'agent',
      '--state',
      engState,
      ...common,
      '--preauth-key',
      engKey,
      '--name',
      'alice-laptop',
      '--socks5',
      '127.0.0.1:1055',
    ]);
    const end = Date.now() + 90_000;
    for (;;) {
      const r = await lab.cli('engineer', ['status', '--json', '--state', engState], { allowFailure: true });
      const st =
        r.code === 0
          ? (JSON.parse(r.stdout) as { peers: unknown[]; relays: { state: string }[] })
          : undefined;
      if (st && st.peers.length === 1 && st.relays[0]?.state === 'connected') break;
      if (Date.now() > end)
        throw new Error(`engineer never saw the connector:\n${connector.output().slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 500));
    }

    // ── it works: curl through SOCKS5, and a connect forward ──
    const out1 = join(lab.dir, 'out1.bin');
    const t0 = Date.now();
    await lab.exec(
      'engineer',
      [
        'curl',
        '-sS',
        '--max-time',
        '240',
        '--socks5-hostname',
        '127.0.0.1:1055',
        `http://${NAME}/big.bin`,
        '-o',
        out1,
      ],
      { timeoutMs: 250_000 },
    );
    t.diagnostic(`netlab socks5: ${MIB} MiB in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    assert.equal(sha256(readFileSync(out1)), sha256(big));
    const fwd = await lab.spawnCli('engineer', [
      'connect',
      'acme-prod/web',
      '--local',
      '127.0.0.1:9001',
      '--state',
      engState,
    ]);
    await waitOutput(fwd, /forwarding 127\.0\.0\.1:9001/, 60_000, 'connect forward');
    const out2 = join(lab.dir, 'out2.bin');
    await lab.exec(
      'engineer',
      ['curl', '-sS', '--max-time', '240', `http://127.0.0.1:9001/big.bin`, '-o', out2],
      { timeoutMs: 250_000 },
    );
    assert.equal(sha256(readFileSync(out2)), sha256(big));

    // `sallyport status` (text) in the engineer namespace shows the connector on its relay path.
    const status = await lab.cli('engineer', ['status', '--state', engState]);
    assert.match(status.stdout, /acme-connector\s+\S+\s+relay local-1\s+\d{4}-/);

    // ── the scan: every TCP and UDP port the connector holds, from vendor and engineer ──
    const held = await socketsOf(lab.ns.customer, connector.pid);
    t.diagnostic(`connector sockets: ${JSON.stringify(held)}`);
    assert.ok(held.length >= 2, 'the connector holds its outbound connections (coordinator, relay)');
    // One unconnected UDP socket is the agent's NAT-traversal socket for direct paths: it only ever
    // sends first (it drops datagrams from endpoints it has not sent to), and the scan below shows
    // it is unreachable. Nothing else may be unconnected or listening.
    const connSt = JSON.parse(
      (await lab.cli('customer', ['status', '--json', '--state', connState])).stdout,
    ) as { udp: { port: number } | null };
    assert.ok(connSt.udp, 'the connector has its direct-path UDP socket');
    assert.deepEqual(
      held.filter(
        (s) =>
          s.state === 'LISTEN' ||
          (s.state === 'UNCONN' && !(s.proto === 'udp' && s.port === connSt.udp!.port)),
      ),
      [],
      'no listening socket',
    );
    const ports = [...new Set(held.map((s) => s.port))];
    const targets = ports.flatMap((port) =>
      (['tcp', 'udp'] as const).map((proto) => ({ host: lab.addr.customer, proto, port })),
    );
    const droppedBefore = await lab.inboundDropped('customer');
    for (const from of ['vendor', 'engineer'] as const) {
      const r = await lab.exec(from, [process.execPath, SCAN, JSON.stringify(targets), '1500'], {
        timeoutMs: 120_000,
      });
      const results = JSON.parse(r.stdout) as { port: number; proto: string; result: string }[];
      assert.equal(results.length, targets.length);
      const reachable = results.filter((x) => x.result !== 'filtered');
      assert.deepEqual(reachable, [], `reachable from ${from}`);
    }
    assert.ok(
      (await lab.inboundDropped('customer')) - droppedBefore >= targets.length,
      'the firewall dropped the probes',
    );
    // The scanner can fail: from the engineer it does find the relay's port open.
    const control = await lab.exec('engineer', [
      process.execPath,
      SCAN,
      JSON.stringify([{ host: V, proto: 'tcp', port: 8444 }]),
      '1500',
    ]);
    assert.equal((JSON.parse(control.stdout) as { result: string }[])[0].result, 'open');

    // Still working after the scan (echo through a second forward).
    const echo = await lab.spawnCli('engineer', [
      'connect',
      'acme-prod/echo',
      '--local',
      '127.0.0.1:9002',
      '--state',
      engState,
    ]);
    await waitOutput(echo, /forwarding 127\.0\.0\.1:9002/, 60_000, 'echo forward');
    const r = await lab.exec('engineer', ['socat', '-t', '2', '-', 'TCP:127.0.0.1:9002'], {
      input: 'hello through the overlay\n',
    });
    assert.equal(r.stdout, 'hello through the overlay\n');
  },
);
