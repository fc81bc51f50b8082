// A listener's certificate chain and key, checked as a pair before a listener is given them.
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { certFingerprint } from '../pki/index.ts';
import { CertError } from './errors.ts';

export interface CertPair {
  /** PEM chain, leaf first. */
  cert: string;
  /** PEM private key of the leaf. */
  key: string;
}

export interface CertInfo {
  /** SHA-256 of the leaf's DER, hex with colons (as `certFingerprint`). */
  fingerprint: string;
  serial: string;
  notBeforeMs: number;
  notAfterMs: number;
  /** DNS names and IP addresses of the leaf's SAN. */
  names: string[];
}

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** Parses the leaf of `pair` and checks that the key belongs to it; CERT_INVALID otherwise. */
export function inspectPair(pair: CertPair): CertInfo {
  const leafPem = pair.cert.match(PEM_CERT)?.[0];
  if (!leafPem) throw new CertError('CERT_INVALID', 'no PEM certificate in the certificate file');
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(leafPem);
  } catch (cause) {
    throw new CertError('CERT_INVALID', 'the certificate is not valid PEM/DER', { cause });
  }
  let key;
  try {
    key = createPrivateKey(pair.key);
  } catch (cause) {
    throw new CertError('CERT_INVALID', 'the key file holds no readable PEM private key', { cause });
  }
  if (!leaf.checkPrivateKey(key))
    throw new CertError('CERT_INVALID', 'the private key does not belong to the certificate');
  const names = (leaf.subjectAltName ?? '')
    .split(/,\s*/)
    .map((s) => /^(?:DNS|IP Address):(.+)$/.exec(s)?.[1])
    .filter((s): s is string => !!s);
  return {
    fingerprint: certFingerprint(leafPem),
    serial: leaf.serialNumber,
    notBeforeMs: Date.parse(leaf.validFrom),
    notAfterMs: Date.parse(leaf.validTo),
    names,
  };
}
