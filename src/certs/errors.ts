// Errors of the listener-certificate sources, with stable codes.
export type CertErrorCode =
  | 'CERT_FILE' // a certificate or key file cannot be read
  | 'CERT_INVALID' // not PEM, or the key does not match the certificate
  | 'CERT_OPTIONS' // options that cannot work (no domain, bad URL, …)
  | 'ACME_FAILED' // the ACME server refused or could not be reached
  | 'ACME_STATE'; // the ACME state directory is unusable

export class CertError extends Error {
  readonly code: CertErrorCode;
  readonly retryable: boolean;
  constructor(code: CertErrorCode, message: string, opts: { cause?: unknown; retryable?: boolean } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'CertError';
    this.code = code;
    this.retryable = opts.retryable ?? false;
  }
}
