// Certificates really served: a node:tls server with a service-CA certificate for a tailnet name,
// a client trusting only the root and presenting an access-CA client certificate (mTLS). Expired,
// foreign and wrong-purpose client certificates are refused by the TLS stack itself.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createServer } from 'node:tls';
import type { Server, TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { FakeClock } from '../../src/clock/index.ts';
import {
  createRoot,
  createIntermediate,
  createKeyAndCsr,
  issueClientCert,
  issueServerCert,
  readClientIdentity,
} from '../../src/pki/index.ts';
import type { Ca } from '../../src/pki/index.ts';

const HOUR = 3_600_000;
const NAME = 'k8s.acme-prod.us-east-1.aws.byoc.example.com';

function derToPem(der: Buffer): string {
  return `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/(.{64})/g, '$1\n')}\n-----END CERTIFICATE-----\n`;
}

interface Outcome {
  /** What the server answered (the identity it read from the client certificate), or undefined. */
  reply?: string;
  /** The client-side error code, if any. */
  clientError?: string;
}

describe('mTLS with the sallyport hierarchy', () => {
  // CAs made "a day ago" so that an already expired client certificate can be issued.
  const past = new FakeClock({ wallMs: Date.now() - 24 * HOUR });
  let root: Ca, access: Ca, service: Ca;
  // `strict` refuses bad client certificates in the handshake, as a router does; `reporting`
  // accepts the handshake and answers with OpenSSL's verdict, to show why a certificate failed.
  let strict: Server, reporting: Server;
  let strictPort = 0,
    reportingPort = 0;

  before(async () => {
    root = await createRoot({ clock: past });
    access = await createIntermediate(root, 'access', { clock: past });
    service = await createIntermediate(root, 'service', { clock: past });
    const router = await createKeyAndCsr({ commonName: 'router' });
    const sc = await issueServerCert(service, {
      csrPem: router.csrPem,
      dnsNames: [NAME],
      notAfter: Date.now() + HOUR,
    });
    const tls = { cert: sc.chainPem, key: router.keyPem, ca: root.certPem, requestCert: true };
    strict = createServer({ ...tls, rejectUnauthorized: true }, (sock: TLSSocket) => {
      const id = readClientIdentity(derToPem(sock.getPeerCertificate(true).raw));
      sock.end(`${id.user} ${id.grantId}`);
    });
    reporting = createServer({ ...tls, rejectUnauthorized: false }, (sock: TLSSocket) => {
      sock.end(sock.authorized ? 'AUTHORIZED' : `REFUSED ${String(sock.authorizationError)}`);
    });
    for (const srv of [strict, reporting]) await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    strictPort = (strict.address() as AddressInfo).port;
    reportingPort = (reporting.address() as AddressInfo).port;
  });
  after(async () => {
    for (const srv of [strict, reporting]) await new Promise<void>((r) => srv.close(() => r()));
  });

  async function clientCert(ca: Ca, opts: { notAfter: number; clock?: FakeClock }) {
    const kc = await createKeyAndCsr({ commonName: 'alice-laptop' });
    const c = await issueClientCert(ca, kc.csrPem, {
      identity: { user: 'alice' },
      grantUri: 'sallyport:grant:g7',
      notAfter: opts.notAfter,
      clock: opts.clock,
    });
    return { cert: c.chainPem, key: kc.keyPem };
  }

  function dial(
    o: { cert?: string; key?: string; ca?: string; servername?: string },
    port = strictPort,
  ): Promise<Outcome> {
    return new Promise((resolve) => {
      const s = connect({
        host: '127.0.0.1',
        port,
        servername: o.servername ?? NAME,
        ca: o.ca ?? root.certPem,
        cert: o.cert,
        key: o.key,
      });
      let data = '';
      let err: string | undefined;
      s.on('data', (b: Buffer) => (data += b.toString()));
      s.on('error', (e: NodeJS.ErrnoException) => (err ??= String(e.code ?? e.message)));
      s.on('close', () => resolve({ reply: data || undefined, clientError: err }));
      s.setTimeout(5000, () => s.destroy(new Error('timeout')));
    });
  }

  test('a valid client certificate from the access CA is accepted; the server reads the grant from it', async () => {
    const cc = await clientCert(access, { notAfter: Date.now() + HOUR });
    const o = await dial(cc);
    assert.equal(o.clientError, undefined);
    assert.equal(o.reply, 'alice g7');
  });

  test('the client checks the server name against the SAN of the service certificate', async () => {
    const cc = await clientCert(access, { notAfter: Date.now() + HOUR });
    const o = await dial({ ...cc, servername: 'other.acme-prod.us-east-1.aws.byoc.example.com' });
    assert.equal(o.reply, undefined);
    assert.equal(o.clientError, 'ERR_TLS_CERT_ALTNAME_INVALID');
    // And a client that does not trust our root refuses the server.
    const other = await createRoot();
    const o2 = await dial({ ...cc, ca: other.certPem });
    assert.equal(o2.reply, undefined);
    assert.ok(o2.clientError, 'refused');
  });

  test('an expired client certificate is refused by the server (CERT_HAS_EXPIRED)', async () => {
    const issuedAt = new FakeClock({ wallMs: Date.now() - 3 * HOUR });
    const cc = await clientCert(access, { notAfter: Date.now() - HOUR, clock: issuedAt });
    const o = await dial(cc);
    assert.equal(o.reply, undefined, 'the strict server serves nothing');
    const why = await dial(cc, reportingPort);
    assert.equal(why.reply, 'REFUSED CERT_HAS_EXPIRED');
    // The same chain one hour before its end is fine (the refusal is the expiry, not the chain).
    const fresh = await dial(await clientCert(access, { notAfter: Date.now() + HOUR }), reportingPort);
    assert.equal(fresh.reply, 'AUTHORIZED');
  });

  test('no client certificate, a foreign CA, or a service-CA certificate as client: refused', async () => {
    assert.equal((await dial({})).reply, undefined);
    assert.equal((await dial({}, reportingPort)).reply, 'REFUSED UNABLE_TO_GET_ISSUER_CERT');
    const otherRoot = await createRoot({ clock: past });
    const otherAccess = await createIntermediate(otherRoot, 'access', { clock: past });
    const foreign = await clientCert(otherAccess, { notAfter: Date.now() + HOUR });
    assert.equal((await dial(foreign)).reply, undefined);
    assert.match((await dial(foreign, reportingPort)).reply ?? '', /^REFUSED /);
    // A certificate from the service CA (serverAuth) cannot act as a client certificate.
    const kc = await createKeyAndCsr({ commonName: 'x' });
    const sc = await issueServerCert(service, {
      csrPem: kc.csrPem,
      dnsNames: ['x.example.com'],
      notAfter: Date.now() + HOUR,
    });
    const wrong = { cert: sc.chainPem, key: kc.keyPem };
    assert.equal((await dial(wrong)).reply, undefined);
    assert.equal((await dial(wrong, reportingPort)).reply, 'REFUSED INVALID_PURPOSE');
  });
});
