// Certificates of sallyport's own listeners (coordinator, relay): from files followed as they
// change, or from an ACME CA with renewal; a TLS server follows its source without dropping the
// connections it has.
export { CertError } from './errors.ts';
export type { CertErrorCode } from './errors.ts';
export { inspectPair } from './pair.ts';
export type { CertPair, CertInfo } from './pair.ts';
export { follow, StaticCertSource } from './source.ts';
export type { CertSource, CertStatus } from './source.ts';
export { FileCertSource } from './file-source.ts';
export type { FileCertSourceOptions } from './file-source.ts';
export { AcmeCertSource, renewalDueMs } from './acme-source.ts';
export type { AcmeOptions } from './acme-source.ts';
export { Http01Responder } from './http01.ts';
export { openCertSource } from './open.ts';
export type { CertSpec, CertMetricsHooks } from './open.ts';
export { TlsAlpn01Responder, ACME_TLS_ALPN } from './tls-alpn01.ts';
