// The CA hierarchy of one coordinator:
//
//   root CA (pathLen 1, keyCertSign|cRLSign)
//    ├── access CA  (pathLen 0, EKU clientAuth)  → engineers' client certificates
//    └── service CA (pathLen 0, EKU serverAuth)  → routers' server certificates for tailnet names
//
// The intermediates carry an EKU so that OpenSSL's chain check (which intersects EKUs down the
// path) refuses a service-CA certificate as a client certificate and the reverse.
import { realClock } from '../clock/index.ts';
import type { Clock } from '../clock/index.ts';
import { PkiError } from './errors.ts';
import { EC_P256, generateKeyPair, randomSerial } from './keys.ts';
import { checkCommonName } from './names.ts';
import { parseCertificate, pemText } from './pem.ts';
import { DAY_MS, toSecondMs } from './time.ts';
import { subtle, x509 } from './x509.ts';
import type { CryptoKey } from './x509.ts';

export type CaKind = 'root' | 'access' | 'service';

/** A CA ready to sign: its certificate, its private key, and its chain up to the root. */
export interface Ca {
  readonly kind: CaKind;
  readonly cert: x509.X509Certificate;
  /** This CA's certificate, PEM. */
  readonly certPem: string;
  /** The certificates above this one, nearest first, excluding the root (empty for the root and its children). */
  readonly parentsPem: string[];
  /** The root's certificate, PEM (this CA's own for a root). */
  readonly rootPem: string;
  readonly privateKey: CryptoKey;
}

export interface CaOptions {
  /** Subject CN; default "sallyport root CA" / "sallyport access CA" / "sallyport service CA". */
  commonName?: string;
  /** Validity in days from now; default 3650 for a root, 1825 for an intermediate (clamped to the parent's notAfter). */
  days?: number;
  /** Time source for notBefore; default the real clock. */
  clock?: Clock;
}

type KeysParam = Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>[0]['keys'];

function checkDays(days: number): number {
  if (!Number.isFinite(days) || days <= 0 || days > 36500) {
    throw new PkiError('OPTION_INVALID', `days must be in (0, 36500], got ${days}`);
  }
  return days;
}

/** A new self-signed root CA with a fresh P-256 key. */
export async function createRoot(opts: CaOptions = {}): Promise<Ca> {
  const cn = checkCommonName(opts.commonName ?? 'sallyport root CA');
  const days = checkDays(opts.days ?? 3650);
  const now = toSecondMs((opts.clock ?? realClock).wallMs(), 'now');
  const keys = await generateKeyPair();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: [{ CN: [cn] }],
    notBefore: new Date(now),
    notAfter: new Date(now + Math.round(days * DAY_MS)),
    signingAlgorithm: EC_P256,
    keys: keys as unknown as KeysParam,
    extensions: [
      new x509.BasicConstraintsExtension(true, 1, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const certPem = pemText(cert.toString('pem'));
  return { kind: 'root', cert, certPem, parentsPem: [], rootPem: certPem, privateKey: keys.privateKey };
}

/** A new intermediate CA of `kind` signed by `root`, with a fresh P-256 key. */
export async function createIntermediate(
  root: Ca,
  kind: 'access' | 'service',
  opts: CaOptions = {},
): Promise<Ca> {
  if (root.kind !== 'root') throw new PkiError('CA_WRONG_KIND', `a ${root.kind} CA cannot sign a CA`);
  if (kind !== 'access' && kind !== 'service')
    throw new PkiError('OPTION_INVALID', `unknown CA kind ${kind}`);
  const cn = checkCommonName(opts.commonName ?? `sallyport ${kind} CA`);
  const days = checkDays(opts.days ?? 1825);
  const now = toSecondMs((opts.clock ?? realClock).wallMs(), 'now');
  const parentEnd = root.cert.notAfter.getTime();
  if (now >= parentEnd) throw new PkiError('VALIDITY_INVALID', 'the root CA has expired');
  const keys = await generateKeyPair();
  const eku = kind === 'access' ? x509.ExtendedKeyUsage.clientAuth : x509.ExtendedKeyUsage.serverAuth;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: [{ CN: [cn] }],
    issuer: root.cert.subjectName,
    notBefore: new Date(now),
    notAfter: new Date(Math.min(now + Math.round(days * DAY_MS), parentEnd)),
    signingAlgorithm: EC_P256,
    publicKey: keys.publicKey as unknown as CryptoKeyParam,
    signingKey: root.privateKey as unknown as CryptoKeyParam,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      new x509.ExtendedKeyUsageExtension([eku]),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey as unknown as CryptoKeyParam),
      await x509.AuthorityKeyIdentifierExtension.create(root.cert.publicKey),
    ],
  });
  return {
    kind,
    cert,
    certPem: pemText(cert.toString('pem')),
    parentsPem: [],
    rootPem: root.certPem,
    privateKey: keys.privateKey,
  };
}

const SIGN = { name: 'ECDSA', hash: 'SHA-256' } as const;

type CryptoKeyParam = x509.X509CertificateCreateWithKeyParams['signingKey'];

/** The contract's single entry point: a root when `kind` is 'root', else an intermediate under `parent`. */
export async function createCa(opts: {
  kind: CaKind;
  name?: string;
  parent?: Ca;
  validityDays?: number;
  clock?: Clock;
}): Promise<Ca> {
  const o: CaOptions = { commonName: opts.name, days: opts.validityDays, clock: opts.clock };
  if (opts.kind === 'root') return createRoot(o);
  if (!opts.parent) throw new PkiError('OPTION_INVALID', `a ${opts.kind} CA needs a parent root`);
  return createIntermediate(opts.parent, opts.kind, o);
}

/** Rebuilds a Ca from stored parts (the CA store's load path); checks the key matches the certificate. */
export async function caFromParts(parts: {
  kind: CaKind;
  certPem: string;
  rootPem: string;
  parentsPem?: string[];
  privateKey: CryptoKey;
}): Promise<Ca> {
  const cert = parseCertificate(parts.certPem);
  const bc = cert.getExtension(x509.BasicConstraintsExtension);
  if (!bc?.ca) throw new PkiError('CA_WRONG_KIND', 'the certificate is not a CA certificate');
  const probe = new TextEncoder().encode('sallyport pki key check');
  const sig = await subtle.sign(SIGN, parts.privateKey, probe);
  const pub = await cert.publicKey.export();
  if (!(await subtle.verify(SIGN, pub as unknown as CryptoKey, sig, probe))) {
    throw new PkiError('KEY_MISMATCH', 'the private key does not belong to the CA certificate');
  }
  return {
    kind: parts.kind,
    cert,
    certPem: pemText(cert.toString('pem')),
    parentsPem: parts.parentsPem ?? [],
    rootPem: parts.rootPem,
    privateKey: parts.privateKey,
  };
}
