// The coordinator's and the relay's own listeners: a certificate from Pebble over ACME (real
// http-01) or from files followed as they change, swapped while a connection opened before keeps
// working; /metrics on a listener of its own; the flags' usage errors.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type TLSSocket } from 'node:tls';
import { Coordinator, createLogger, type CoordinatorOptions } from '../../src/control/index.ts';
import { SigningKey } from '../../src/crypto/index.ts';
import { createSelfSigned } from '../../src/pki/index.ts';
import { run as runRelay } from '../../src/cli/relay.ts';
import { run as runCoordinator } from '../../src/cli/coordinator.ts';
import { needs } from '../../src/testing/require.ts';
import { pebbleMissing, startPebble, type PebbleInstance } from '../../src/testing/pebble.ts';
import { freePort } from '../../src/testing/ports.ts';
import { quiet } from '../../src/testing/stderr.ts';
import { spawnCli } from '../../src/testing/spawn-cli.ts';

const DOMAIN = 'coordinator.vendor.test';
let pebble: PebbleInstance | undefined;
let roots = '';
const dir = mkdtempSync(join(tmpdir(), 'sallyport-listeners-'));

before(async () => {
  if (pebbleMissing()) return;
  pebble = await startPebble({ validitySeconds: 15 });
  roots = await pebble.roots();
  writeFileSync(join(dir, 'pebble-ca.pem'), pebble.listenerCa);
});
after(async () => {
  await pebble?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function dial(port: number, servername: string, ca: string): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, servername, ca }, () => resolve(s));
    s.once('error', reject);
  });
}

/** GET `path` over an open keep-alive TLS socket; resolves with status and body. */
function ask(s: TLSSocket, path: string, headers = ''): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    let got = '';
    const onData = (b: Buffer) => {
      got += b.toString();
      const head = got.indexOf('\r\n\r\n');
      if (head < 0) return;
      const len = Number(/content-length: (\d+)/i.exec(got.slice(0, head))?.[1] ?? NaN);
      if (got.length - head - 4 < len) return;
      s.off('data', onData);
      s.off('close', onClose);
      s.off('error', reject);
      resolve({ status: Number(got.slice(9, 12)), body: got.slice(head + 4, head + 4 + len) });
    };
    const onClose = () => reject(new Error(`connection closed before the answer to ${path}`));
    s.on('data', onData);
    s.once('error', reject);
    s.once('close', onClose);
    s.write(`GET ${path} HTTP/1.1\r\nhost: ${DOMAIN}\r\n${headers}\r\n`);
  });
}

async function serialOf(port: number, name: string, ca: string): Promise<string> {
  const s = await dial(port, name, ca);
  const serial = s.getPeerCertificate().serialNumber;
  s.destroy();
  return serial;
}

/** A coordinator on loopback in `data`, quiet, with the listener certificate options given. */
function startCoordinator(
  data: string,
  certs: Pick<CoordinatorOptions, 'certs' | 'tls'>,
): Promise<Coordinator> {
  return Coordinator.start({
    dataDir: data,
    listen: { host: '127.0.0.1', port: 0 },
    suffix: 'byoc.example.com',
    logger: createLogger({ level: 'silent' }),
    bootstrapAdmin: { name: 'admin', password: 'correct horse battery staple' },
    scrypt: { N: 1 << 10, r: 8, p: 1 },
    ...certs,
  });
}

test('coordinator with ACME: issued by Pebble, renewed on schedule; a connection opened before the swap keeps working', async (t) => {
  if (!needs(t, pebbleMissing())) return;
  const data = mkdtempSync(join(dir, 'coord-'));
  const coord = await startCoordinator(data, {
    certs: {
      kind: 'acme',
      directoryUrl: pebble!.directoryUrl,
      domains: [DOMAIN],
      agreeTos: true,
      http01Listen: { host: '127.0.0.1', port: pebble!.httpPort },
      acmeCa: pebble!.listenerCa,
    },
  });
  let open: TLSSocket | undefined;
  try {
    // Verified against the ACME CA's root for the domain: a public-CA setup needs no pinning.
    open = await dial(coord.port, DOMAIN, roots);
    assert.equal(open.authorized, true);
    const serial1 = open.getPeerCertificate().serialNumber;
    const h1 = JSON.parse((await ask(open, '/health')).body) as {
      tls: { source: string; fingerprint: string };
    };
    assert.equal(h1.tls.source, 'acme');
    const renewed = new Promise<string>((resolve, reject) => {
      const off = coord.certs.onChange((_p, info) => (off(), resolve(info.serial)));
      setTimeout(() => reject(new Error('no renewal within 25 s')), 25_000).unref();
    });
    // The old connection is used every 2 s while the renewal happens.
    let done = false;
    const keepUsing = (async () => {
      let n = 0;
      while (!done) {
        assert.equal((await ask(open, '/health')).status, 200);
        n++;
        await new Promise((r) => setTimeout(r, 2000));
      }
      return n;
    })();
    const serial = await renewed;
    const serial2 = await serialOf(coord.port, DOMAIN, roots);
    assert.notEqual(serial2, serial1, 'new connections get the renewed certificate');
    assert.equal(BigInt(`0x${serial2}`), BigInt(`0x${serial}`));
    assert.equal(coord.tls.fingerprint, coord.certs.status().current.fingerprint);
    await new Promise((r) => setTimeout(r, 2500));
    done = true;
    assert.ok((await keepUsing) >= 2);
    const h2 = JSON.parse((await ask(open, '/health')).body) as { tls: { fingerprint: string } };
    assert.equal(h2.tls.fingerprint, coord.tls.fingerprint, '/health names the new certificate');
    assert.equal(open.getPeerCertificate().serialNumber, serial1, 'the old connection kept its session');
    assert.equal(open.destroyed, false);
  } finally {
    open?.destroy();
    await coord.stop();
  }
});

test('coordinator with files: a replaced pair is served after reload (SIGHUP in the CLI); a broken one is refused and the old stays', async () => {
  const data = mkdtempSync(join(dir, 'files-'));
  const a = await createSelfSigned({ commonName: 'a', dnsNames: [DOMAIN] });
  const b = await createSelfSigned({ commonName: 'b', dnsNames: [DOMAIN] });
  const crt = join(data, 'tls.crt');
  const key = join(data, 'tls.key');
  writeFileSync(crt, a.certPem);
  writeFileSync(key, a.keyPem);
  const coord = await startCoordinator(data, {
    tls: { certFile: crt, keyFile: key },
  });
  const open = await dial(coord.port, DOMAIN, a.certPem);
  try {
    const fpA = coord.tls.fingerprint;
    // Half a rotation: the new certificate with the old key. Refused; A stays.
    writeFileSync(crt, b.certPem);
    coord.certs.reload!();
    assert.equal(coord.tls.fingerprint, fpA);
    const h = JSON.parse((await ask(open, '/health')).body) as { tls: { lastError?: string } };
    assert.match(h.tls.lastError ?? '', /does not belong/);
    writeFileSync(key, b.keyPem);
    coord.certs.reload!();
    assert.notEqual(coord.tls.fingerprint, fpA);
    const fresh = await dial(coord.port, DOMAIN, b.certPem);
    assert.equal(fresh.authorized, true);
    fresh.destroy();
    assert.equal(
      (await ask(open, '/health')).status,
      200,
      'the connection from before the swap still answers',
    );
  } finally {
    open.destroy();
    await coord.stop();
  }
});

test('listener flags: usage errors exit 2 and say what to change', async () => {
  const relayBase = [
    '--listen',
    '127.0.0.1:0',
    '--key-file',
    join(dir, 'k'),
    '--region',
    'r',
    '--trust-key',
    SigningKey.generate().verifyKey.base64(),
  ];
  const cases: [() => Promise<number>, RegExp][] = [
    [() => runRelay(relayBase), /listener certificate is required/],
    [
      () => runRelay([...relayBase, '--acme-directory', 'https://ca.test/dir', '--acme-agree-tos']),
      /--acme-domain/,
    ],
    [
      () => runRelay([...relayBase, '--acme-directory', 'https://ca.test/dir', '--acme-domain', 'r.test']),
      /--acme-agree-tos/,
    ],
    [() => runRelay([...relayBase, '--acme-domain', 'r.test']), /--acme-domain needs --acme-directory/],
    [
      () =>
        runRelay([
          ...relayBase,
          '--tls-cert',
          'a',
          '--tls-key',
          'b',
          '--acme-directory',
          'https://ca.test/dir',
        ]),
      /exclude each other/,
    ],
    [
      () => runRelay([...relayBase, '--tls-cert', 'a', '--tls-key', 'b', '--metrics-listen', 'nope']),
      /--metrics-listen wants HOST:PORT/,
    ],
    [
      () => runCoordinator(['--data', join(dir, 'c'), '--suffix', 'x.test', '--acme-email', 'a@b.test']),
      /--acme-email needs --acme-directory/,
    ],
    [
      () =>
        runCoordinator([
          '--data',
          join(dir, 'c'),
          '--suffix',
          'x.test',
          '--metrics-token-file',
          join(dir, 'none'),
        ]),
      /--metrics-token-file .*ENOENT/,
    ],
  ];
  writeFileSync(join(dir, 'short-token'), 'abc\n');
  cases.push([
    () =>
      runCoordinator([
        '--data',
        join(dir, 'c'),
        '--suffix',
        'x.test',
        '--metrics-token-file',
        join(dir, 'short-token'),
      ]),
    /at least 16 characters/,
  ]);
  for (const [call, msg] of cases) {
    const r = await quiet(call);
    assert.equal(r.value, 2, r.err);
    assert.match(r.err, msg);
  }
});

test('relay process with ACME and --metrics-listen: TLS verifies for its domain, renews under an open connection, /metrics only on the metrics port', async (t) => {
  if (!needs(t, pebbleMissing())) return;
  const relayDir = mkdtempSync(join(dir, 'relay-'));
  const metricsPort = await freePort();
  const args = [
    '--listen',
    '127.0.0.1:0',
    '--trust-key',
    SigningKey.generate().verifyKey.base64(),
    '--region',
    'eu-1',
    '--key-file',
    join(relayDir, 'relay.key'),
    '--acme-directory',
    pebble!.directoryUrl,
    '--acme-domain',
    'relay-eu.vendor.test',
    '--acme-agree-tos',
    '--acme-email',
    'ops@vendor.test',
    '--acme-ca',
    join(dir, 'pebble-ca.pem'),
    '--acme-http-listen',
    `127.0.0.1:${pebble!.httpPort}`,
    '--metrics-listen',
    `127.0.0.1:${metricsPort}`,
    '--log-level',
    'silent',
  ];
  const p = spawnCli('relay', args);
  let out = '';
  p.stdout.on('data', (d: Buffer) => (out += d.toString()));
  p.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => p.on('exit', (code) => r(code)));
  try {
    const port = await new Promise<number>((resolve, reject) => {
      const iv = setInterval(() => {
        const m = /listening on [^:]+:(\d+)/.exec(out);
        if (m) {
          clearInterval(iv);
          resolve(Number(m[1]));
        } else if (p.exitCode !== null) {
          clearInterval(iv);
          reject(new Error(`relay exited: ${out}`));
        }
      }, 100);
    });
    assert.match(out, new RegExp(`metrics on http://127.0.0.1:${metricsPort}/metrics`));
    const s = await dial(port, 'relay-eu.vendor.test', roots);
    assert.equal(s.authorized, true, 'the relay serves the ACME certificate for its domain');
    const r = await ask(s, '/metrics');
    assert.equal(r.status, 403);
    // Renewal on schedule (a third of Pebble's 15 s left): new connections get a new certificate,
    // the one opened before still answers on its old session.
    const serial1 = s.getPeerCertificate().serialNumber;
    let serial2 = serial1;
    for (let i = 0; i < 50 && serial2 === serial1; i++) {
      await new Promise((res) => setTimeout(res, 500));
      serial2 = await serialOf(port, 'relay-eu.vendor.test', roots);
      // Used all along, so the relay's 5 s keep-alive timeout never ends it.
      assert.equal((await ask(s, '/health')).status, 200);
    }
    assert.notEqual(serial2, serial1, 'the relay renewed within 25 s');
    assert.equal((await ask(s, '/health')).status, 200);
    assert.equal(s.getPeerCertificate().serialNumber, serial1);
    s.destroy();
    const m = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    assert.equal(m.status, 200);
    assert.match(await m.text(), /^sallyport_relay_clients 0$/m);
  } finally {
    p.kill('SIGTERM');
  }
  assert.equal(await exited, 0, out);
});
