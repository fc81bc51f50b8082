// The ACME tls-alpn-01 responder (RFC 8737): while an order is pending, a TLS connection for one of
// the order's names that offers only the ALPN protocol "acme-tls/1" is answered with a self-signed
// certificate carrying the key authorization's digest (the acmeIdentifier extension), and closed.
// It holds no listener: the TLS listener on port 443 (the ingress) asks it for a context when a
// ClientHello offers acme-tls/1, before any other certificate is chosen.
import { createSecureContext, type SecureContext } from 'node:tls';
import * as acme from 'acme-client';
import { CertError } from './errors.ts';

export const ACME_TLS_ALPN = 'acme-tls/1';
const MAX_PENDING = 64;

export class TlsAlpn01Responder {
  readonly #contexts = new Map<string, SecureContext>();
  async set(authz: acme.Authorization, keyAuthorization: string): Promise<void> {
    const name = authz.identifier.value.toLowerCase();
    if (this.#contexts.size >= MAX_PENDING && !this.#contexts.has(name))
      throw new CertError('ACME_FAILED', `more than ${MAX_PENDING} pending tls-alpn-01 challenges`);
    const [key, cert] = await acme.crypto.createAlpnCertificate(authz, keyAuthorization);
    this.#contexts.set(name, createSecureContext({ key, cert }));
  }

  delete(name: string): void {
    this.#contexts.delete(name.toLowerCase());
  }

  /** The challenge context for `serverName`, when a validation for it is pending. */
  context(serverName: string | undefined): SecureContext | undefined {
    if (serverName === undefined) return undefined;
    return this.#contexts.get(serverName.toLowerCase());
  }

  get pending(): number {
    return this.#contexts.size;
  }
}
