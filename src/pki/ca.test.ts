import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../clock/index.ts';
import {
  createRoot,
  createIntermediate,
  createCa,
  createKeyAndCsr,
  issueClientCert,
  issueServerCert,
  verifyChain,
  readClientIdentity,
  parseCertificate,
  PkiError,
} from './index.ts';
import type { Ca } from './index.ts';
import { x509 } from './x509.ts';

const T0 = Date.UTC(2031, 4, 1, 9, 0, 0);
const HOUR = 3_600_000;

function code(c: string) {
  return (e: unknown) => e instanceof PkiError && e.code === c;
}

describe('CA hierarchy and issuance', () => {
  const clock = new FakeClock({ wallMs: T0 });
  let root: Ca, access: Ca, service: Ca;
  let csrPem: string;

  before(async () => {
    root = await createRoot({ clock });
    access = await createIntermediate(root, 'access', { clock });
    service = await createCa({ kind: 'service', parent: root, clock, validityDays: 30 });
    csrPem = (await createKeyAndCsr({ commonName: 'laptop-of-alice' })).csrPem;
  });

  test('root and intermediates carry CA constraints, key usage and path lengths', () => {
    const bc = root.cert.getExtension(x509.BasicConstraintsExtension)!;
    assert.equal(bc.ca, true);
    assert.equal(bc.pathLength, 1);
    for (const ca of [access, service]) {
      const b = ca.cert.getExtension(x509.BasicConstraintsExtension)!;
      assert.equal(b.ca, true);
      assert.equal(b.pathLength, 0);
      assert.equal(b.critical, true);
      const ku = ca.cert.getExtension(x509.KeyUsagesExtension)!;
      assert.equal(ku.usages, x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign);
      assert.equal(ca.cert.issuer, root.cert.subject);
      assert.equal(ca.rootPem, root.certPem);
    }
    assert.equal(service.cert.notAfter.getTime() - service.cert.notBefore.getTime(), 30 * 24 * HOUR);
  });

  test('an intermediate never outlives its root; only a root signs CAs', async () => {
    const shortRoot = await createRoot({ clock, days: 1 });
    const i = await createIntermediate(shortRoot, 'access', { clock, days: 100 });
    assert.equal(i.cert.notAfter.getTime(), shortRoot.cert.notAfter.getTime());
    await assert.rejects(createIntermediate(access, 'service', { clock }), code('CA_WRONG_KIND'));
    await assert.rejects(createCa({ kind: 'access', clock }), code('OPTION_INVALID'));
  });

  test('client certificate: notAfter = grant end, identity and grant URI, clientAuth only', async () => {
    const notAfter = T0 + 2 * HOUR + 17_000;
    const c = await issueClientCert(access, csrPem, {
      identity: { user: 'alice', email: 'alice@vendor.example' },
      grantUri: 'sallyport:grant:gr_01',
      notAfter,
      clock,
    });
    const cert = parseCertificate(c.certPem);
    assert.equal(cert.notAfter.getTime(), notAfter);
    assert.equal(cert.notBefore.getTime(), T0);
    assert.equal(c.notAfterMs, notAfter);
    assert.equal(cert.subject, 'CN=alice'); // the CSR's CN is ignored
    const id = readClientIdentity(c.certPem);
    assert.deepEqual(
      { user: id.user, email: id.email, grantId: id.grantId },
      { user: 'alice', email: 'alice@vendor.example', grantId: 'gr_01' },
    );
    assert.equal(id.serial, c.serial);
    assert.match(c.serial, /^(00)?[0-9a-f]{32}$/);
    const eku = cert.getExtension(x509.ExtendedKeyUsageExtension)!;
    assert.deepEqual([...eku.usages].map(String), [x509.ExtendedKeyUsage.clientAuth]);
    assert.equal(cert.getExtension(x509.BasicConstraintsExtension)!.ca, false);
    const ok = await verifyChain(c.chainPem, [root.certPem, access.certPem], T0 + HOUR, {
      purpose: 'clientAuth',
    });
    assert.equal(ok.ok, true);
    const late = await verifyChain(c.certPem, [root.certPem, access.certPem], notAfter + 1);
    assert.deepEqual(late.ok ? 'ok' : late.code, 'EXPIRED');
    const early = await verifyChain(c.certPem, [root.certPem, access.certPem], T0 - 1);
    assert.deepEqual(early.ok ? 'ok' : early.code, 'NOT_YET_VALID');
    const asServer = await verifyChain(c.certPem, [root.certPem, access.certPem], T0, {
      purpose: 'serverAuth',
    });
    assert.deepEqual(asServer.ok ? 'ok' : asServer.code, 'WRONG_PURPOSE');
    const noIntermediate = await verifyChain(c.certPem, [root.certPem], T0);
    assert.deepEqual(noIntermediate.ok ? 'ok' : noIntermediate.code, 'UNTRUSTED');
    const otherRoot = await createRoot({ clock });
    const foreign = await verifyChain(c.certPem, [otherRoot.certPem, access.certPem], T0);
    // Same root name, other key: the access CA's signature does not verify under it.
    assert.deepEqual(foreign.ok ? 'ok' : foreign.code, 'BAD_SIGNATURE');
  });

  test('sub-second grant ends are floored, never rounded up', async () => {
    const c = await issueClientCert(access, csrPem, {
      identity: { user: 'bob' },
      grantUri: 'sallyport:grant:x',
      notAfter: new Date(T0 + HOUR + 999),
      clock,
    });
    assert.equal(c.notAfterMs, T0 + HOUR);
  });

  test('refusals: past, beyond the CA, wrong CA, bad names', async () => {
    const base = { identity: { user: 'alice' }, grantUri: 'sallyport:grant:g', clock };
    await assert.rejects(
      issueClientCert(access, csrPem, { ...base, notAfter: T0 - 1000 }),
      code('VALIDITY_INVALID'),
    );
    await assert.rejects(
      issueClientCert(access, csrPem, { ...base, notAfter: access.cert.notAfter.getTime() + 1000 }),
      code('VALIDITY_INVALID'),
    );
    await assert.rejects(
      issueClientCert(service, csrPem, { ...base, notAfter: T0 + HOUR }),
      code('CA_WRONG_KIND'),
    );
    await assert.rejects(
      issueClientCert(access, csrPem, { ...base, grantUri: 'https://x', notAfter: T0 + HOUR }),
      code('NAME_INVALID'),
    );
    await assert.rejects(
      issueClientCert(access, csrPem, { ...base, identity: { user: 'a\nb' }, notAfter: T0 + HOUR }),
      code('NAME_INVALID'),
    );
    await assert.rejects(
      issueServerCert(access, { csrPem, dnsNames: ['a.example'], notAfter: T0 + HOUR, clock }),
      code('CA_WRONG_KIND'),
    );
    await assert.rejects(
      issueServerCert(service, { csrPem, dnsNames: ['*.example'], notAfter: T0 + HOUR, clock }),
      code('NAME_INVALID'),
    );
    await assert.rejects(
      issueServerCert(service, { dnsNames: ['a.example'], notAfter: T0 + HOUR, clock }),
      code('OPTION_INVALID'),
    );
  });

  test('server certificate: SAN DNS names, serverAuth, from a CSR or a public key', async () => {
    const name = 'k8s.acme-prod.us-east-1.aws.byoc.example.com';
    const s = await issueServerCert(service, {
      csrPem,
      dnsNames: [name, 'K8S.alt.example'],
      notAfter: T0 + 24 * HOUR,
      clock,
    });
    const cert = parseCertificate(s.certPem);
    const san = cert.getExtension(x509.SubjectAlternativeNameExtension)!;
    assert.deepEqual(
      san.names.items.map((n) => [n.type, n.value]),
      [
        ['dns', name],
        ['dns', 'k8s.alt.example'],
      ],
    );
    assert.equal(cert.subject, `CN=${name}`);
    assert.equal(
      (await verifyChain(s.certPem, [root.certPem, service.certPem], T0, { purpose: 'serverAuth' })).ok,
      true,
    );
    const long = `${'a'.repeat(60)}.example.com`;
    const keys = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
      'sign',
      'verify',
    ]);
    const spki = x509.PemConverter.encode(
      await crypto.subtle.exportKey('spki', keys.publicKey),
      'PUBLIC KEY',
    );
    const s2 = await issueServerCert(service, {
      publicKey: spki,
      dnsNames: [long],
      notAfter: T0 + HOUR,
      clock,
    });
    const c2 = parseCertificate(s2.certPem);
    assert.equal(c2.subject, '');
    assert.equal(c2.getExtension(x509.SubjectAlternativeNameExtension)!.critical, true);
  });

  test('serials are random and distinct', async () => {
    const serials = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const c = await issueClientCert(access, csrPem, {
        identity: { user: 'alice' },
        grantUri: `sallyport:grant:${i}`,
        notAfter: T0 + HOUR,
        clock,
      });
      serials.add(c.serial);
    }
    assert.equal(serials.size, 20);
  });

  test('CSR with a broken signature is refused', async () => {
    const der = x509.PemConverter.decode(csrPem)[0]!;
    const bytes = new Uint8Array(der);
    bytes[bytes.length - 5] ^= 0x01; // inside the signature value
    const bad = x509.PemConverter.encode(bytes, 'CERTIFICATE REQUEST');
    await assert.rejects(
      issueClientCert(access, bad, {
        identity: { user: 'a' },
        grantUri: 'sallyport:grant:g',
        notAfter: T0 + HOUR,
        clock,
      }),
      (e: unknown) => e instanceof PkiError && (e.code === 'CSR_BAD_SIGNATURE' || e.code === 'CSR_MALFORMED'),
    );
  });
});
