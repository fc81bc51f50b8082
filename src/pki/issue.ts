// Issuance of leaf certificates from the intermediates:
// - server certificates for routers' tailnet names (service CA): serverAuth, SAN DNS names;
// - client certificates for engineers (access CA): clientAuth, CN = user, SAN URI = the grant,
//   notAfter = grant end exactly (to the second), never beyond the CA's own notAfter.
// Issuance takes only the public key from a CSR; subject and extensions are decided here.
import { pemText } from './pem.ts';
import { realClock } from '../clock/index.ts';
import type { Clock } from '../clock/index.ts';
import type { Ca } from './ca.ts';
import { publicKeyFrom, verifyCsr } from './csr.ts';
import { PkiError } from './errors.ts';
import { EC_P256, randomSerial } from './keys.ts';
import { checkCommonName, checkDnsName, checkEmail, checkGrantUri } from './names.ts';
import { toSecondMs } from './time.ts';
import type { Instant } from './time.ts';
import { x509 } from './x509.ts';
import type { CryptoKey } from './x509.ts';

/** An issued certificate. */
export interface IssuedCert {
  /** The leaf, PEM. */
  certPem: string;
  /** The leaf then its intermediate(s), PEM: what a TLS endpoint sends (the root stays out). */
  chainPem: string;
  /** Serial number, lower-case hex (as stored with the grant). */
  serial: string;
  notBeforeMs: number;
  notAfterMs: number;
}

interface Validity {
  /** Epoch ms or Date; floored to the second. */
  notAfter: Instant;
  /** Default: now (no back-dating, so the validity is never longer than asked). */
  notBefore?: Instant;
  /** Time source for "now"; default the real clock. */
  clock?: Clock;
  /** Longest validity the policy allows (ms); a longer window is VALIDITY_INVALID. Default: no limit. */
  maxLifetimeMs?: number;
}

function window(ca: Ca, v: Validity): { nb: number; na: number } {
  const now = toSecondMs((v.clock ?? realClock).wallMs(), 'now');
  const nb = v.notBefore === undefined ? now : toSecondMs(v.notBefore, 'notBefore');
  const na = toSecondMs(v.notAfter, 'notAfter');
  if (na <= nb) throw new PkiError('VALIDITY_INVALID', 'notAfter must be after notBefore');
  if (na <= now) throw new PkiError('VALIDITY_INVALID', 'notAfter is in the past');
  if (v.maxLifetimeMs !== undefined && !(na - nb <= v.maxLifetimeMs)) {
    throw new PkiError('VALIDITY_INVALID', `the validity exceeds the allowed ${v.maxLifetimeMs} ms`);
  }
  if (nb < ca.cert.notBefore.getTime()) {
    throw new PkiError('VALIDITY_INVALID', 'notBefore is before the CA certificate notBefore');
  }
  if (na > ca.cert.notAfter.getTime()) {
    throw new PkiError('VALIDITY_INVALID', 'notAfter is beyond the CA certificate notAfter');
  }
  return { nb, na };
}

type KeyParam = x509.X509CertificateCreateWithKeyParams['signingKey'];

async function sign(
  ca: Ca,
  subject: x509.JsonName,
  publicKey: x509.PublicKey,
  w: { nb: number; na: number },
  extensions: x509.Extension[],
): Promise<IssuedCert> {
  const serial = randomSerial();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial,
    subject,
    issuer: ca.cert.subjectName,
    notBefore: new Date(w.nb),
    notAfter: new Date(w.na),
    signingAlgorithm: EC_P256,
    publicKey,
    signingKey: ca.privateKey as unknown as KeyParam,
    extensions: [
      ...extensions,
      await x509.SubjectKeyIdentifierExtension.create(publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(ca.cert.publicKey),
    ],
  });
  const certPem = pemText(cert.toString('pem'));
  return {
    certPem,
    chainPem: [certPem, ca.certPem, ...ca.parentsPem].join(''),
    serial: cert.serialNumber.toLowerCase(),
    notBeforeMs: cert.notBefore.getTime(),
    notAfterMs: cert.notAfter.getTime(),
  };
}

export interface ServerCertRequest extends Validity {
  /** A CSR made where the key lives (preferred), or ... */
  csrPem?: string;
  /** ... the public key itself (SPKI PEM or a CryptoKey). */
  publicKey?: string | CryptoKey;
  /** The tailnet names served; the first is also the subject CN. At least one, at most 100. */
  dnsNames: string[];
}

/** A router's server certificate for its tailnet names, from the service CA. */
export async function issueServerCert(serviceCa: Ca, req: ServerCertRequest): Promise<IssuedCert> {
  if (serviceCa.kind !== 'service') {
    throw new PkiError(
      'CA_WRONG_KIND',
      `server certificates come from the service CA, not the ${serviceCa.kind} CA`,
    );
  }
  if (!Array.isArray(req.dnsNames) || req.dnsNames.length === 0 || req.dnsNames.length > 100) {
    throw new PkiError('NAME_INVALID', 'a server certificate needs 1 to 100 DNS names');
  }
  const dns = [...new Set(req.dnsNames.map(checkDnsName))];
  if ((req.csrPem === undefined) === (req.publicKey === undefined)) {
    throw new PkiError('OPTION_INVALID', 'give exactly one of csrPem and publicKey');
  }
  const w = window(serviceCa, req);
  const pk =
    req.csrPem !== undefined ? (await verifyCsr(req.csrPem)).publicKey : await publicKeyFrom(req.publicKey!);
  // CN = the first name when it fits ub-common-name (64); else an empty subject, and then the
  // SAN must be critical (RFC 5280 §4.2.1.6).
  const cnFits = dns[0]!.length <= 64;
  return sign(serviceCa, cnFits ? [{ CN: [dns[0]!] }] : [], pk, w, [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
    new x509.SubjectAlternativeNameExtension(
      dns.map((value) => ({ type: 'dns' as const, value })),
      !cnFits,
    ),
  ]);
}

export interface ClientCertRequest extends Validity {
  /** Who the certificate names: the user (subject CN) and optionally an e-mail (SAN rfc822Name). */
  identity: { user: string; email?: string };
  /** The grant this certificate serves: `sallyport:grant:<id>` (SAN URI). */
  grantUri: string;
}

/** An engineer's client certificate for one grant, from the access CA, for the key in `csrPem`. */
export async function issueClientCert(
  accessCa: Ca,
  csrPem: string,
  req: ClientCertRequest,
): Promise<IssuedCert> {
  if (accessCa.kind !== 'access') {
    throw new PkiError(
      'CA_WRONG_KIND',
      `client certificates come from the access CA, not the ${accessCa.kind} CA`,
    );
  }
  if (!req.identity || typeof req.identity !== 'object')
    throw new PkiError('NAME_INVALID', 'identity is missing');
  const user = checkCommonName(req.identity.user);
  const grantUri = checkGrantUri(req.grantUri);
  const sans: x509.JsonGeneralName[] = [{ type: 'url', value: grantUri }];
  if (req.identity.email !== undefined) sans.push({ type: 'email', value: checkEmail(req.identity.email) });
  const w = window(accessCa, req);
  const csr = await verifyCsr(csrPem);
  return sign(accessCa, [{ CN: [user] }], csr.publicKey, w, [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
    new x509.SubjectAlternativeNameExtension(sans),
  ]);
}
