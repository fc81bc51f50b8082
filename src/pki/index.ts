export { PkiError } from './errors.ts';
export type { PkiErrorCode } from './errors.ts';
export { createSelfSigned, certFingerprint } from './selfsigned.ts';
export type { SelfSignedOptions } from './selfsigned.ts';
export { parseCertificate, parseCertificates, parseCsr, pemText } from './pem.ts';
export { createRoot, createIntermediate, createCa, caFromParts } from './ca.ts';
export type { Ca, CaKind, CaOptions } from './ca.ts';
export { issueServerCert, issueClientCert } from './issue.ts';
export type { IssuedCert, ServerCertRequest, ClientCertRequest } from './issue.ts';
export { createKeyAndCsr, verifyCsr, checkPublicKey } from './csr.ts';
export { verifyChain, readClientIdentity } from './verify.ts';
export type { ChainResult, ChainFailure, ClientIdentity } from './verify.ts';
export { importSigningKey, privateKeyToPem } from './keys.ts';
export type { Instant } from './time.ts';
export { CaStore, loadPkiKey, PKI_KEY_ENV } from './store.ts';
export type { PkiKeyOptions } from './store.ts';
// The @peculiar/x509 namespace, loaded with its Reflect shim and bound to node's webcrypto. Import
// it from here, never '@peculiar/x509' directly (that fails without the shim).
export { x509 } from './x509.ts';
