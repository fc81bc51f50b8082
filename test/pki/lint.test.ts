// Certificate lint: every kind of certificate the PKI makes is checked by openssl — chain
// (verify -x509_strict with the right purpose), key usage, extended key usage, basic constraints,
// SAN — and its validity is exactly what was asked (notAfter = grant end, nothing longer).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  createRoot,
  createIntermediate,
  createKeyAndCsr,
  createSelfSigned,
  issueClientCert,
  issueServerCert,
  PkiError,
} from '../../src/pki/index.ts';
import type { Ca } from '../../src/pki/index.ts';
import { needs } from '../../src/testing/require.ts';
import { openssl, opensslDate, opensslMissing, Scratch } from './openssl.ts';

const missing = opensslMissing();
const HOUR = 3_600_000;

/** The text of one extension block in `openssl x509 -text` output (header line + value lines). */
function ext(text: string, name: string): string {
  const lines = text.split('\n');
  const i = lines.findIndex((l) => l.trim().startsWith(`X509v3 ${name}`));
  if (i < 0) return '';
  const out = [lines[i]!.trim()];
  for (
    let j = i + 1;
    j < lines.length && !/^\s*(X509v3|Signature Algorithm|Authority Information)/.test(lines[j]!);
    j++
  ) {
    out.push(lines[j]!.trim());
  }
  return out.join(' | ');
}

function x509Text(s: Scratch, pemFile: string): string {
  const r = openssl(['x509', '-in', pemFile, '-noout', '-text']);
  assert.equal(r.status, 0, r.out);
  return r.out;
}

function dates(pemFile: string): { nb: number; na: number } {
  const r = openssl(['x509', '-in', pemFile, '-noout', '-startdate', '-enddate']);
  assert.equal(r.status, 0, r.out);
  const [a, b] = r.out.trim().split('\n');
  return { nb: opensslDate(a!), na: opensslDate(b!) };
}

describe('PKI lint with openssl', () => {
  const s = new Scratch();
  let root: Ca, access: Ca, service: Ca;
  let files: Record<string, string> = {};
  const grantEnd = Math.floor(Date.now() / 1000) * 1000 + 2 * HOUR + 7_000;
  const serverEnd = Math.floor(Date.now() / 1000) * 1000 + 30 * 24 * HOUR;

  before(async () => {
    if (missing) return;
    root = await createRoot();
    access = await createIntermediate(root, 'access');
    service = await createIntermediate(root, 'service');
    const engineer = await createKeyAndCsr({ commonName: 'alice-laptop' });
    const router = await createKeyAndCsr({ commonName: 'router' });
    const client = await issueClientCert(access, engineer.csrPem, {
      identity: { user: 'alice', email: 'alice@vendor.example' },
      grantUri: 'sallyport:grant:gr_42',
      notAfter: grantEnd,
    });
    const server = await issueServerCert(service, {
      csrPem: router.csrPem,
      dnsNames: [
        'k8s.acme-prod.us-east-1.aws.byoc.example.com',
        'ch.acme-prod.us-east-1.aws.byoc.example.com',
      ],
      notAfter: serverEnd,
    });
    const self = await createSelfSigned({
      commonName: 'coordinator',
      dnsNames: ['localhost'],
      ipAddresses: ['127.0.0.1'],
      days: 7,
    });
    files = {
      root: s.file('root.pem', root.certPem),
      access: s.file('access.pem', access.certPem),
      service: s.file('service.pem', service.certPem),
      client: s.file('client.pem', client.certPem),
      server: s.file('server.pem', server.certPem),
      self: s.file('self.pem', self.certPem),
      engineerCsr: s.file('engineer.csr', engineer.csrPem),
    };
  });
  after(() => s.remove());

  test('openssl verify: each leaf chains to the root with the right purpose only', (t) => {
    if (!needs(t, missing)) return;
    const verify = (purpose: string, untrusted: string, leaf: string) =>
      openssl([
        'verify',
        '-x509_strict',
        '-purpose',
        purpose,
        '-CAfile',
        files.root!,
        '-untrusted',
        untrusted,
        leaf,
      ]);
    let r = verify('sslclient', files.access!, files.client!);
    assert.equal(r.status, 0, r.out);
    r = verify('sslserver', files.service!, files.server!);
    assert.equal(r.status, 0, r.out);
    // Purposes do not cross: a client certificate is no server certificate and the reverse.
    assert.notEqual(verify('sslserver', files.access!, files.client!).status, 0);
    assert.notEqual(verify('sslclient', files.service!, files.server!).status, 0);
    // Without the intermediate there is no chain.
    assert.notEqual(openssl(['verify', '-CAfile', files.root!, files.client!]).status, 0);
    // The intermediates verify against the root; the self-signed listener certificate against itself.
    for (const ca of [files.access!, files.service!]) {
      r = openssl(['verify', '-x509_strict', '-CAfile', files.root!, ca]);
      assert.equal(r.status, 0, r.out);
    }
    r = openssl(['verify', '-x509_strict', '-purpose', 'sslserver', '-CAfile', files.self!, files.self!]);
    assert.equal(r.status, 0, r.out);
    // The engineer's CSR is a valid, self-signed request.
    r = openssl(['req', '-in', files.engineerCsr!, '-noout', '-verify']);
    assert.equal(r.status, 0, r.out);
  });

  test('an expired client certificate fails openssl verify at a time after notAfter', (t) => {
    if (!needs(t, missing)) return;
    const at = String(Math.floor(grantEnd / 1000) + 2);
    const r = openssl([
      'verify',
      '-attime',
      at,
      '-CAfile',
      files.root!,
      '-untrusted',
      files.access!,
      files.client!,
    ]);
    assert.notEqual(r.status, 0);
    assert.match(r.out, /expired/);
    const ok = openssl([
      'verify',
      '-attime',
      String(Math.floor(grantEnd / 1000) - 1),
      '-CAfile',
      files.root!,
      '-untrusted',
      files.access!,
      files.client!,
    ]);
    assert.equal(ok.status, 0, ok.out);
  });

  test('CAs: basic constraints CA with path lengths, keyCertSign and cRLSign, critical', (t) => {
    if (!needs(t, missing)) return;
    const rt = x509Text(s, files.root!);
    assert.match(ext(rt, 'Basic Constraints'), /critical \| CA:TRUE, pathlen:1/);
    assert.match(ext(rt, 'Key Usage'), /critical \| Certificate Sign, CRL Sign$/);
    assert.equal(ext(rt, 'Extended Key Usage'), '');
    const at = x509Text(s, files.access!);
    assert.match(ext(at, 'Basic Constraints'), /critical \| CA:TRUE, pathlen:0/);
    assert.match(ext(at, 'Key Usage'), /critical \| Certificate Sign, CRL Sign$/);
    assert.match(ext(at, 'Extended Key Usage'), /\| TLS Web Client Authentication$/);
    const st = x509Text(s, files.service!);
    assert.match(ext(st, 'Basic Constraints'), /critical \| CA:TRUE, pathlen:0/);
    assert.match(ext(st, 'Extended Key Usage'), /\| TLS Web Server Authentication$/);
    for (const text of [rt, at, st]) {
      assert.match(text, /ASN1 OID: prime256v1/);
      assert.match(text, /Signature Algorithm: ecdsa-with-SHA256/);
      assert.match(text, /Subject Key Identifier/);
    }
    // Intermediates lie within the root's validity.
    const r = dates(files.root!);
    for (const f of [files.access!, files.service!]) {
      const d = dates(f);
      assert.ok(d.nb >= r.nb && d.na <= r.na);
    }
  });

  test('client certificate: CA:FALSE, digitalSignature, clientAuth, SAN URI of the grant, CN = user', (t) => {
    if (!needs(t, missing)) return;
    const text = x509Text(s, files.client!);
    assert.match(ext(text, 'Basic Constraints'), /critical \| CA:FALSE$/);
    assert.match(ext(text, 'Key Usage'), /critical \| Digital Signature$/);
    assert.match(ext(text, 'Extended Key Usage'), /\| TLS Web Client Authentication$/);
    assert.match(
      ext(text, 'Subject Alternative Name'),
      /\| URI:sallyport:grant:gr_42, email:alice@vendor\.example$/,
    );
    assert.match(text, /Subject: CN ?= ?alice\n/);
    assert.match(text, /Issuer: CN ?= ?sallyport access CA\n/);
    assert.match(text, /Authority Key Identifier/);
    const serial = /Serial Number:\s*\n\s*([0-9a-f:]+)/.exec(text)?.[1]?.replace(/:/g, '');
    assert.ok(serial && serial.length >= 32 && serial.length <= 34, `serial ${serial}`);
  });

  test('client certificate validity: notAfter = the grant end, no longer than asked', (t) => {
    if (!needs(t, missing)) return;
    const d = dates(files.client!);
    assert.equal(d.na, grantEnd);
    assert.ok(
      d.nb <= Date.now() && d.nb >= Date.now() - 60_000,
      'notBefore is the issue time, not back-dated',
    );
    assert.ok(d.na - d.nb <= grantEnd - (Math.floor(Date.now() / 1000) * 1000 - 60_000));
    assert.ok(d.na <= dates(files.access!).na);
  });

  test('server certificate: CA:FALSE, digitalSignature, serverAuth, SAN DNS tailnet names', (t) => {
    if (!needs(t, missing)) return;
    const text = x509Text(s, files.server!);
    assert.match(ext(text, 'Basic Constraints'), /critical \| CA:FALSE$/);
    assert.match(ext(text, 'Key Usage'), /critical \| Digital Signature$/);
    assert.match(ext(text, 'Extended Key Usage'), /\| TLS Web Server Authentication$/);
    assert.match(
      ext(text, 'Subject Alternative Name'),
      /\| DNS:k8s\.acme-prod\.us-east-1\.aws\.byoc\.example\.com, DNS:ch\.acme-prod\.us-east-1\.aws\.byoc\.example\.com$/,
    );
    assert.equal(dates(files.server!).na, serverEnd);
    // openssl's own host-name check agrees.
    const r = openssl([
      'x509',
      '-in',
      files.server!,
      '-noout',
      '-checkhost',
      'ch.acme-prod.us-east-1.aws.byoc.example.com',
    ]);
    assert.match(r.out, /does match/);
  });

  test('self-signed listener certificate: SAN DNS and IP, serverAuth, the asked days', (t) => {
    if (!needs(t, missing)) return;
    const text = x509Text(s, files.self!);
    assert.match(ext(text, 'Basic Constraints'), /CA:FALSE$/);
    assert.match(ext(text, 'Subject Alternative Name'), /\| DNS:localhost, IP Address:127\.0\.0\.1$/);
    assert.match(ext(text, 'Extended Key Usage'), /TLS Web Server Authentication/);
    const d = dates(files.self!);
    assert.equal(d.na - d.nb, 7 * 24 * HOUR);
  });

  test('CSRs made by openssl: P-256/P-384/RSA-2048 accepted; weak or foreign keys refused', async (t) => {
    if (!needs(t, missing)) return;
    const csr = (name: string, keyArgs: string[], extra: string[] = []) => {
      const r = openssl([
        'req',
        '-new',
        '-nodes',
        '-subj',
        '/CN=x',
        ...keyArgs,
        '-keyout',
        s.path(`${name}.key`),
        '-out',
        s.path(`${name}.csr`),
        ...extra,
      ]);
      assert.equal(r.status, 0, r.out);
      return openssl(['req', '-in', s.path(`${name}.csr`)]).out;
    };
    const issue = (pem: string) =>
      issueClientCert(access, pem, {
        identity: { user: 'x' },
        grantUri: 'sallyport:grant:k',
        notAfter: grantEnd,
      });
    const accepted: Array<[string, string[], string[]?]> = [
      ['p256', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1']],
      ['p384', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:secp384r1'], ['-sha384']],
      ['rsa2048', ['-newkey', 'rsa:2048']],
    ];
    for (const [name, args, extra] of accepted) {
      const c = await issue(csr(name, args, extra));
      const f = s.file(`${name}.pem`, c.certPem);
      const r = openssl([
        'verify',
        '-purpose',
        'sslclient',
        '-CAfile',
        files.root!,
        '-untrusted',
        files.access!,
        f,
      ]);
      assert.equal(r.status, 0, `${name}: ${r.out}`);
    }
    const refused: Array<[string, string[], string, string[]?]> = [
      ['rsa1024', ['-newkey', 'rsa:1024'], 'KEY_WEAK'],
      ['ed25519', ['-newkey', 'ed25519'], 'KEY_UNSUPPORTED'],
      ['k256', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:secp256k1'], 'KEY_UNSUPPORTED'],
      ['sha1', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'], 'KEY_WEAK', ['-sha1']],
    ];
    for (const [name, args, code, extra] of refused) {
      await assert.rejects(
        issue(csr(name, args, extra)),
        (e: unknown) => e instanceof PkiError && e.code === code,
        name,
      );
    }
  });
});
