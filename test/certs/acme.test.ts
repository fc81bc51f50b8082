// Listener certificates from a real ACME CA (Debian's Pebble, with real http-01 validation over
// loopback): issuance, reuse across a restart, renewal on schedule and on demand, and a TLS server
// that takes each new certificate while a connection opened before the swap keeps working.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer as createHttps, type Server } from 'node:https';
import { connect, type TLSSocket } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { realClock } from '../../src/clock/index.ts';
import { AcmeCertSource, CertError, follow, renewalDueMs, type AcmeOptions } from '../../src/certs/index.ts';
import { needs } from '../../src/testing/require.ts';
import { pebbleMissing, startPebble, type PebbleInstance } from '../../src/testing/pebble.ts';

const DOMAIN = 'coordinator.vendor.test';
let pebble: PebbleInstance | undefined;
let roots = '';
const dirs: string[] = [];

before(async () => {
  if (pebbleMissing()) return;
  pebble = await startPebble({ validitySeconds: 15 });
  roots = await pebble.roots();
});
after(async () => {
  await pebble?.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function options(over: Partial<AcmeOptions> = {}): AcmeOptions {
  const stateDir = mkdtempSync(join(tmpdir(), 'sallyport-acme-'));
  dirs.push(stateDir);
  return {
    directoryUrl: pebble!.directoryUrl,
    domains: [DOMAIN],
    email: 'ops@vendor.test',
    agreeTos: true,
    stateDir,
    http01Listen: { host: '127.0.0.1', port: pebble!.httpPort },
    acmeCa: pebble!.listenerCa,
    clock: realClock,
    ...over,
  };
}

/** A TLS connection to `port` that verifies against Pebble's root for DOMAIN. */
function dial(port: number): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, servername: DOMAIN, ca: roots }, () => resolve(s));
    s.once('error', reject);
  });
}

/** One HTTP/1.1 request over an open TLS socket; resolves with the body. */
function ask(s: TLSSocket): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = '';
    const onData = (b: Buffer) => {
      got += b.toString();
      const m = /\r\n\r\n([\s\S]*)$/.exec(got);
      if (m && m[1].endsWith('\n')) {
        s.off('data', onData);
        resolve(m[1]);
      }
    };
    s.on('data', onData);
    s.once('error', reject);
    s.write(`GET / HTTP/1.1\r\nhost: ${DOMAIN}\r\n\r\n`);
  });
}

test('ACME: issued by real http-01 validation, verifies for the domain, kept 0600; a restart reuses it', async (t) => {
  if (!needs(t, pebbleMissing())) return;
  const o = options();
  const a = await AcmeCertSource.start(o);
  try {
    const st = a.status();
    assert.equal(st.kind, 'acme');
    assert.deepEqual(st.current.names, [DOMAIN]);
    const life = st.current.notAfterMs - st.current.notBeforeMs;
    assert.ok(life > 10_000 && life < 30_000, `Pebble was told 15 s of validity, got ${life} ms`);
    assert.equal(st.renewAtMs, renewalDueMs(st.current));
    assert.equal(statSync(join(o.stateDir, 'key.pem')).mode & 0o777, 0o600);
    assert.equal(statSync(join(o.stateDir, 'account.key')).mode & 0o777, 0o600);
    const srv = createHttps({ ...a.current() }, (_q, r) => r.end('ok\n'));
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    const s = await dial((srv.address() as { port: number }).port);
    assert.equal(s.authorized, true);
    s.destroy();
    srv.close();
  } finally {
    await a.stop();
  }
  // The same state directory: the stored certificate is served, no new order.
  const b = await AcmeCertSource.start(o);
  try {
    assert.equal(b.status().current.fingerprint, a.status().current.fingerprint);
  } finally {
    await b.stop();
  }
});

test('ACME: renewal on schedule swaps the listener certificate; a connection opened before keeps working', async (t) => {
  if (!needs(t, pebbleMissing())) return;
  const src = await AcmeCertSource.start(options());
  let srv: Server | undefined;
  try {
    srv = createHttps({ ...src.current(), keepAliveTimeout: 60_000 }, (_q, r) => r.end('ok\n'));
    follow(srv, src);
    await new Promise<void>((r) => srv!.listen(0, '127.0.0.1', () => r()));
    const port = (srv.address() as { port: number }).port;
    const before = await dial(port);
    const serial1 = before.getPeerCertificate().serialNumber;
    assert.equal(await ask(before), 'ok\n');
    // Nothing is called here: the source renews when a third of the 15 s lifetime is left.
    const renewed = await new Promise<string>((resolve, reject) => {
      const stop = src.onChange((_p, info) => (stop(), resolve(info.serial)));
      setTimeout(() => reject(new Error('no renewal within 25 s')), 25_000).unref();
    });
    const after1 = await dial(port);
    const serial2 = after1.getPeerCertificate().serialNumber;
    assert.notEqual(serial2, serial1, 'a new connection gets the renewed certificate');
    assert.equal(serial2.toLowerCase().replace(/^0+/, ''), renewed.toLowerCase().replace(/^0+/, ''));
    // The connection from before the swap: same socket, still answering, still the old certificate.
    assert.equal(before.destroyed, false);
    assert.equal(await ask(before), 'ok\n');
    assert.equal(before.getPeerCertificate().serialNumber, serial1);
    // On demand too (the CLI's SIGHUP).
    const third = await src.renewNow();
    assert.notEqual(third.serial, renewed);
    assert.equal(await ask(before), 'ok\n');
    before.destroy();
    after1.destroy();
  } finally {
    srv?.closeAllConnections();
    srv?.close();
    await src.stop();
  }
});

test('ACME: options that cannot work are refused before anything is ordered', async (t) => {
  if (!needs(t, pebbleMissing())) return;
  const cases: [Partial<AcmeOptions>, RegExp][] = [
    [{ agreeTos: false }, /--acme-agree-tos/],
    [{ directoryUrl: 'http://127.0.0.1:1/dir' }, /https:\/\//],
    [{ domains: [] }, /at least one --acme-domain/],
    [{ domains: ['127.0.0.1'] }, /not a DNS name/],
    [{ domains: ['*.vendor.test'] }, /not a DNS name/],
  ];
  for (const [over, msg] of cases)
    await assert.rejects(AcmeCertSource.start(options(over)), (e: unknown) => {
      assert.ok(e instanceof CertError, `${JSON.stringify(over)}: ${String(e)}`);
      assert.equal(e.code, 'CERT_OPTIONS', `${JSON.stringify(over)}: ${e.message}`);
      assert.match(e.message, msg);
      return true;
    });
});

test('ACME: an unreachable CA fails the start (no listener without a certificate) and frees the responder port', async (t) => {
  if (!needs(t, pebbleMissing())) return;
  const o = options({ directoryUrl: 'https://127.0.0.1:1/dir' });
  await assert.rejects(AcmeCertSource.start(o), (e: unknown) => {
    assert.ok(e instanceof CertError);
    assert.equal(e.code, 'ACME_FAILED');
    return true;
  });
  // The http-01 port is free again: a second source can bind it.
  const ok = await AcmeCertSource.start(options());
  await ok.stop();
});
