import { SallyportError } from '../util/index.ts';

/**
 * Codes:
 * - PEM_MALFORMED: input is not the PEM (or DER) object expected (certificate, CSR, key).
 * - CSR_MALFORMED: the bytes are PEM but not a parsable PKCS#10 request.
 * - CSR_BAD_SIGNATURE: the request's self-signature does not verify (proof of possession fails).
 * - KEY_UNSUPPORTED: a key type or curve we do not issue for (only ECDSA P-256/P-384, RSA ≥ 2048).
 * - KEY_WEAK: a supported type below the minimum size (RSA < 2048).
 * - NAME_INVALID: a DNS name, IP address, user, e-mail or grant URI that is not well formed.
 * - VALIDITY_INVALID: notAfter not after notBefore, in the past, or beyond the issuing CA's notAfter.
 * - CA_WRONG_KIND: an access CA asked for a server certificate or the reverse, or a leaf used as a CA.
 * - KEY_MISMATCH: a CA private key that does not belong to its certificate.
 * - OPTION_INVALID: any other bad option value.
 * - STORE_KEY_MISSING: no key in SALLYPORT_PKI_KEY and no key file given.
 * - STORE_KEY_INVALID: the key is not 32 bytes (base64 in the env variable, raw or base64 in the file).
 * - STORE_WRONG_KEY: the CA store was written with a different key.
 * - STORE_CORRUPT: an entry of the CA store fails to decrypt or parse with the right key.
 * - STORE_NOT_FOUND: the CA store has no entry of that name.
 */
export type PkiErrorCode =
  | 'PEM_MALFORMED'
  | 'CSR_MALFORMED'
  | 'CSR_BAD_SIGNATURE'
  | 'KEY_UNSUPPORTED'
  | 'KEY_WEAK'
  | 'NAME_INVALID'
  | 'VALIDITY_INVALID'
  | 'CA_WRONG_KIND'
  | 'KEY_MISMATCH'
  | 'OPTION_INVALID'
  | 'STORE_KEY_MISSING'
  | 'STORE_KEY_INVALID'
  | 'STORE_WRONG_KEY'
  | 'STORE_CORRUPT'
  | 'STORE_NOT_FOUND';

export class PkiError extends SallyportError {
  declare readonly code: PkiErrorCode;
  constructor(code: PkiErrorCode, message: string, opts: { cause?: unknown } = {}) {
    super(code, message, opts);
  }
}
