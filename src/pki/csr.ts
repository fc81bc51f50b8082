// Certificate requests: agents make their key and CSR locally (the private key never leaves the
// machine, I9); the CA checks a CSR before it signs anything for it.
import { createPublicKey } from 'node:crypto';
import { PkiError } from './errors.ts';
import { EC_P256, generateKeyPair, privateKeyToPem } from './keys.ts';
import { checkCommonName, checkDnsName } from './names.ts';
import { parseCsr, pemText } from './pem.ts';
import { x509 } from './x509.ts';
import type { CryptoKey } from './x509.ts';

/** A fresh P-256 key and a CSR for it (subject CN, optional SAN DNS names). */
export async function createKeyAndCsr(opts: {
  commonName: string;
  dnsNames?: string[];
}): Promise<{ keyPem: string; csrPem: string }> {
  const cn = checkCommonName(opts.commonName);
  const dns = (opts.dnsNames ?? []).map(checkDnsName);
  const keys = await generateKeyPair();
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: [{ CN: [cn] }],
    keys: keys as unknown as Parameters<typeof x509.Pkcs10CertificateRequestGenerator.create>[0]['keys'],
    signingAlgorithm: EC_P256,
    extensions: dns.length
      ? [new x509.SubjectAlternativeNameExtension(dns.map((value) => ({ type: 'dns' as const, value })))]
      : [],
  });
  return { keyPem: await privateKeyToPem(keys.privateKey), csrPem: pemText(csr.toString('pem')) };
}

/** Key types a certificate may be issued for. */
export interface KeyInfo {
  type: 'ec' | 'rsa';
  /** 'P-256' | 'P-384' for EC, the modulus length in bits for RSA. */
  detail: string;
}

const EC_OK: Record<string, string> = { prime256v1: 'P-256', secp384r1: 'P-384' };

/** Checks an SPKI (DER) is a key we issue for: ECDSA P-256/P-384 or RSA ≥ 2048 bits. */
export function checkPublicKey(spki: Uint8Array): KeyInfo {
  let ko;
  try {
    ko = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
  } catch (e) {
    throw new PkiError('KEY_UNSUPPORTED', 'the public key is not of a supported type', { cause: e });
  }
  const d = ko.asymmetricKeyDetails ?? {};
  if (ko.asymmetricKeyType === 'ec') {
    const curve = d.namedCurve === undefined ? undefined : EC_OK[d.namedCurve];
    if (!curve) throw new PkiError('KEY_UNSUPPORTED', `EC curve ${d.namedCurve ?? '?'} is not supported`);
    return { type: 'ec', detail: curve };
  }
  if (ko.asymmetricKeyType === 'rsa') {
    const bits = d.modulusLength ?? 0;
    if (bits < 2048) throw new PkiError('KEY_WEAK', `an RSA key of ${bits} bits is too weak (minimum 2048)`);
    if (bits > 8192) throw new PkiError('KEY_UNSUPPORTED', `an RSA key of ${bits} bits is too large`);
    return { type: 'rsa', detail: String(bits) };
  }
  throw new PkiError('KEY_UNSUPPORTED', `${ko.asymmetricKeyType ?? 'unknown'} keys are not supported`);
}

const HASH_OK = new Set(['SHA-256', 'SHA-384', 'SHA-512']);

/**
 * Parses and checks a CSR: well formed, a supported key, a SHA-2 signature that verifies with the
 * request's own key (proof of possession). Returns the request; its subject and extensions are
 * ignored by issuance, which takes only the public key.
 */
export async function verifyCsr(csrPem: string): Promise<x509.Pkcs10CertificateRequest> {
  const csr = parseCsr(csrPem);
  checkPublicKey(new Uint8Array(csr.publicKey.rawData));
  const hash = (csr.signatureAlgorithm as { hash?: { name?: string } }).hash?.name;
  if (!hash || !HASH_OK.has(hash.toUpperCase())) {
    throw new PkiError('KEY_WEAK', `CSR signature hash ${hash ?? '?'} is not accepted (SHA-2 only)`);
  }
  let ok = false;
  try {
    ok = await csr.verify();
  } catch (e) {
    throw new PkiError('CSR_BAD_SIGNATURE', 'the CSR signature cannot be checked', { cause: e });
  }
  if (!ok) throw new PkiError('CSR_BAD_SIGNATURE', 'the CSR signature does not verify');
  return csr;
}

/** An SPKI public key from PEM ("BEGIN PUBLIC KEY") or a CryptoKey, checked like a CSR's key. */
export async function publicKeyFrom(key: string | CryptoKey): Promise<x509.PublicKey> {
  let pk: x509.PublicKey;
  try {
    pk =
      typeof key === 'string'
        ? new x509.PublicKey(key)
        : await x509.PublicKey.create(key as unknown as Parameters<typeof x509.PublicKey.create>[0]);
  } catch (e) {
    throw new PkiError('PEM_MALFORMED', 'not a public key (SPKI PEM)', { cause: e });
  }
  checkPublicKey(new Uint8Array(pk.rawData));
  return pk;
}
