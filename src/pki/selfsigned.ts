// Self-signed listener certificates for the coordinator and relays in tests, the lab and first
// starts: a leaf (CA:false) whose SHA-256 fingerprint clients pin or trust directly.
import { createHash } from 'node:crypto';
import { realClock } from '../clock/index.ts';
import type { Clock } from '../clock/index.ts';
import { PkiError } from './errors.ts';
import { EC_P256, generateKeyPair, privateKeyToPem, randomSerial } from './keys.ts';
import { checkCommonName, checkDnsName, checkIp } from './names.ts';
import { parseCertificate, pemText } from './pem.ts';
import { x509 } from './x509.ts';

export interface SelfSignedOptions {
  /** Subject CN. */
  commonName: string;
  /** SAN DNS names; default none. */
  dnsNames?: string[];
  /** SAN IP addresses (v4 or v6); default none. */
  ipAddresses?: string[];
  /** Validity in days from now; default 365, at most 3650. */
  days?: number;
  /** Time source for notBefore; default the real clock. */
  clock?: Clock;
}

const DAY_MS = 86_400_000;

/** A fresh ECDSA P-256 key and a self-signed serverAuth+clientAuth certificate for it. */
export async function createSelfSigned(
  opts: SelfSignedOptions,
): Promise<{ certPem: string; keyPem: string }> {
  const days = opts.days ?? 365;
  if (!Number.isFinite(days) || days <= 0 || days > 3650) {
    throw new PkiError('OPTION_INVALID', `days must be in (0, 3650], got ${days}`);
  }
  const cn = checkCommonName(opts.commonName);
  const sans: x509.JsonGeneralName[] = [
    ...(opts.dnsNames ?? []).map((d) => ({ type: 'dns' as const, value: checkDnsName(d) })),
    ...(opts.ipAddresses ?? []).map((ip) => ({ type: 'ip' as const, value: checkIp(ip) })),
  ];
  const now = Math.floor((opts.clock ?? realClock).wallMs() / 1000) * 1000;
  const keys = await generateKeyPair();
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
  ];
  if (sans.length) extensions.push(new x509.SubjectAlternativeNameExtension(sans));
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: [{ CN: [cn] }],
    notBefore: new Date(now),
    notAfter: new Date(now + Math.round(days * DAY_MS)),
    signingAlgorithm: EC_P256,
    keys: keys as unknown as CryptoKeyPairLike,
    extensions,
  });
  return { certPem: pemText(cert.toString('pem')), keyPem: await privateKeyToPem(keys.privateKey) };
}

type CryptoKeyPairLike = Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>[0]['keys'];

/** SHA-256 fingerprint of a certificate's DER, lower-case hex with colons (what agents pin). */
export function certFingerprint(certPem: string): string {
  const der = parseCertificate(certPem).rawData;
  return createHash('sha256')
    .update(new Uint8Array(der))
    .digest('hex')
    .replace(/(..)(?!$)/g, '$1:');
}
