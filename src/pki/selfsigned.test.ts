import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { FakeClock } from '../clock/index.ts';
import { createSelfSigned, certFingerprint, parseCertificate, PkiError } from './index.ts';

test('createSelfSigned: P-256 leaf with SANs, CN and the asked validity', async () => {
  const clock = new FakeClock({ wallMs: Date.UTC(2030, 0, 1, 12, 0, 0, 500) });
  const { certPem, keyPem } = await createSelfSigned({
    commonName: 'relay-1',
    dnsNames: ['relay.example.com'],
    ipAddresses: ['127.0.0.1', '::1'],
    days: 2,
    clock,
  });
  assert.match(keyPem, /^-----BEGIN PRIVATE KEY-----/);
  const c = parseCertificate(certPem);
  assert.equal(c.subject, 'CN=relay-1');
  assert.equal(c.issuer, c.subject);
  assert.equal(c.notBefore.getTime(), Date.UTC(2030, 0, 1, 12, 0, 0));
  assert.equal(c.notAfter.getTime() - c.notBefore.getTime(), 2 * 86_400_000);
  assert.equal((c.publicKey.algorithm as { namedCurve?: string }).namedCurve, 'P-256');
  assert.ok(await c.verify({ signatureOnly: true }));
  assert.match(certFingerprint(certPem), /^([0-9a-f]{2}:){31}[0-9a-f]{2}$/);
});

test('createSelfSigned refuses bad names and days', async () => {
  for (const o of [
    { commonName: '' },
    { commonName: 'x', dnsNames: ['bad_name'] },
    { commonName: 'x', ipAddresses: ['1.2.3'] },
    { commonName: 'x', days: 0 },
  ]) {
    await assert.rejects(createSelfSigned(o), (e: unknown) => e instanceof PkiError);
  }
});

test('createSelfSigned certificate is served by node:tls and trusted by a client pinning it', async () => {
  const { certPem, keyPem } = await createSelfSigned({
    commonName: 'coord',
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1'],
  });
  const server = createServer({ cert: certPem, key: keyPem }, (s) => s.end('hello'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const port = (server.address() as AddressInfo).port;
    const got = await new Promise<string>((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port, ca: certPem, servername: 'localhost' }, () => {
        let d = '';
        s.on('data', (b) => (d += b));
        s.on('end', () => resolve(d));
      });
      s.on('error', reject);
    });
    assert.equal(got, 'hello');
    // A client that does not trust it refuses.
    const err = await new Promise<Error>((resolve) => {
      const s = connect({ host: '127.0.0.1', port, servername: 'localhost' }, () =>
        resolve(new Error('connected')),
      );
      s.on('error', resolve);
    });
    assert.match(String((err as NodeJS.ErrnoException).code), /SELF_SIGNED|UNABLE/);
  } finally {
    await new Promise((r) => server.close(r));
  }
});
