// The one place that loads @peculiar/x509: the Reflect shim first, then the library bound to
// node's webcrypto. Every other file of src/pki imports `x509` and `subtle` from here.
import './reflect.ts';
import * as x509 from '@peculiar/x509';
import { webcrypto } from 'node:crypto';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export { x509 };
export const subtle = webcrypto.subtle;
export type CryptoKey = webcrypto.CryptoKey;
export type CryptoKeyPair = webcrypto.CryptoKeyPair;
