// Key pairs and the small encodings around them. Every key sallyport's PKI makes is ECDSA P-256
// (the broadest TLS client support); imports also accept P-384 for CAs brought from elsewhere.
import { pemText } from './pem.ts';
import { createPrivateKey, randomBytes } from 'node:crypto';
import { PkiError } from './errors.ts';
import { subtle, x509 } from './x509.ts';
import type { CryptoKey, CryptoKeyPair } from './x509.ts';

/** The signature algorithm of every certificate we sign: ECDSA P-256 with SHA-256. */
export const EC_P256 = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

/** A fresh extractable ECDSA P-256 key pair (extractable so it can be written to PEM). */
export async function generateKeyPair(): Promise<CryptoKeyPair> {
  return (await subtle.generateKey(EC_P256, true, ['sign', 'verify'])) as CryptoKeyPair;
}

/** PKCS#8 PEM ("BEGIN PRIVATE KEY") of a private key; what node:tls takes as `key`. */
export async function privateKeyToPem(key: CryptoKey): Promise<string> {
  const der = await subtle.exportKey('pkcs8', key);
  return pemText(x509.PemConverter.encode(der, 'PRIVATE KEY'));
}

/** PKCS#8 DER of a private key (what the CA store encrypts). */
export async function privateKeyToDer(key: CryptoKey): Promise<Uint8Array> {
  return new Uint8Array(await subtle.exportKey('pkcs8', key));
}

const CURVES: Record<string, 'P-256' | 'P-384'> = { prime256v1: 'P-256', secp384r1: 'P-384' };

/**
 * Imports an ECDSA private key (PKCS#8 PEM or DER) for signing; other keys are KEY_UNSUPPORTED.
 * `extractable` (default false) lets the key be written out again (the CA store needs it).
 */
export async function importSigningKey(key: string | Uint8Array, extractable = false): Promise<CryptoKey> {
  let der: Uint8Array;
  let curve: string | undefined;
  try {
    const ko =
      typeof key === 'string'
        ? createPrivateKey({ key, format: 'pem' })
        : createPrivateKey({ key: Buffer.from(key), format: 'der', type: 'pkcs8' });
    if (ko.asymmetricKeyType !== 'ec') {
      throw new PkiError('KEY_UNSUPPORTED', `a ${ko.asymmetricKeyType} private key cannot sign here`);
    }
    curve = ko.asymmetricKeyDetails?.namedCurve;
    der = new Uint8Array(ko.export({ format: 'der', type: 'pkcs8' }));
  } catch (e) {
    if (e instanceof PkiError) throw e;
    throw new PkiError('PEM_MALFORMED', 'not a PKCS#8 private key', { cause: e });
  }
  const namedCurve = curve === undefined ? undefined : CURVES[curve];
  if (!namedCurve) throw new PkiError('KEY_UNSUPPORTED', `curve ${curve ?? '?'} is not supported`);
  return subtle.importKey('pkcs8', der, { name: 'ECDSA', namedCurve }, extractable, ['sign']);
}

/**
 * A random positive 128-bit serial number as hex, minimally DER-encodable: 16 random bytes whose
 * first byte is not zero, with a leading 00 when the top bit is set (RFC 5280 §4.1.2.2: ≤ 20 octets).
 */
export function randomSerial(): string {
  let b = randomBytes(16);
  while (b[0] === 0) b = randomBytes(16);
  const hex = b.toString('hex');
  return b[0]! & 0x80 ? `00${hex}` : hex;
}
