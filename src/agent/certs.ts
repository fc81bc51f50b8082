// Service certificates of the router's TLS-terminating services. The key and CSR are made here
// (I9: the key never leaves this machine; stored 0600 under DIR/certs), the CSR goes to the
// coordinator over the agent channel, and the certificate that comes back is installed.
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createKeyAndCsr } from '../pki/index.ts';
import { writePrivate } from './state.ts';

export interface CertRequest {
  id: string;
  service: string;
  tailnetName: string;
  csrPem: string;
}

/** What the router trusts for client certificates: the chain root and the access CA (I4). */
export interface ClientTrust {
  /** PEM: the root and the access CA, for the TLS layer's chain check. */
  ca: string[];
  accessCa: X509Certificate;
}

export class ServiceCerts {
  readonly #dir: string;
  readonly #certs = new Map<string, { cert: string; key: string; name: string }>();
  readonly #pending = new Map<string, CertRequest>();
  #trust: ClientTrust | undefined;
  #seq = 0;

  constructor(stateDir: string) {
    this.#dir = join(stateDir, 'certs');
  }

  get(service: string, tailnetName?: string): { cert: string; key: string } | undefined {
    const c = this.#certs.get(service);
    if (c && (!tailnetName || c.name === tailnetName)) return c;
    const crt = join(this.#dir, `${service}.crt`);
    const key = join(this.#dir, `${service}.key`);
    const nm = join(this.#dir, `${service}.name`);
    if (existsSync(crt) && existsSync(key) && existsSync(nm)) {
      const name = readFileSync(nm, 'utf8').trim();
      if (tailnetName && name !== tailnetName) return undefined;
      const v = { cert: readFileSync(crt, 'utf8'), key: readFileSync(key, 'utf8'), name };
      this.#certs.set(service, v);
      return v;
    }
    return undefined;
  }

  /** The client-certificate trust that came with the service certificates, once known. */
  clientTrust(): ClientTrust | undefined {
    if (this.#trust) return this.#trust;
    const root = join(this.#dir, 'trust-root.pem');
    const access = join(this.#dir, 'trust-access-ca.pem');
    if (!existsSync(root) || !existsSync(access)) return undefined;
    this.#trust = trustOf(readFileSync(root, 'utf8'), readFileSync(access, 'utf8'));
    return this.#trust;
  }

  pending(): CertRequest[] {
    return [...this.#pending.values()];
  }

  /** Makes a key and CSR for a service's tailnet name unless one is pending or a certificate exists. */
  async request(service: string, tailnetName: string): Promise<CertRequest | undefined> {
    if (this.get(service, tailnetName)) return undefined;
    const p = this.#pending.get(service);
    if (p && p.tailnetName === tailnetName) return undefined;
    const { keyPem, csrPem } = await createKeyAndCsr({
      commonName: tailnetName.length <= 64 ? tailnetName : service,
      dnsNames: [tailnetName],
    });
    mkdirSync(this.#dir, { recursive: true, mode: 0o700 });
    writePrivate(join(this.#dir, `${service}.key.pending`), keyPem);
    const req = { id: `${service}-${++this.#seq}`, service, tailnetName, csrPem };
    this.#pending.set(service, req);
    return req;
  }

  /** Installs the certificate (chain PEM) for a pending request, and the client trust with it. */
  install(service: string, chainPem: string, trust?: { rootPem: string; accessCaPem: string }): void {
    const p = this.#pending.get(service);
    if (!p) throw new Error(`no certificate request pending for ${service}`);
    const key = readFileSync(join(this.#dir, `${service}.key.pending`), 'utf8');
    writePrivate(join(this.#dir, `${service}.key`), key);
    writePrivate(join(this.#dir, `${service}.crt`), chainPem);
    writePrivate(join(this.#dir, `${service}.name`), p.tailnetName + '\n');
    this.#certs.set(service, { cert: chainPem, key, name: p.tailnetName });
    this.#pending.delete(service);
    if (trust) {
      const t = trustOf(trust.rootPem, trust.accessCaPem);
      writePrivate(join(this.#dir, 'trust-root.pem'), trust.rootPem);
      writePrivate(join(this.#dir, 'trust-access-ca.pem'), trust.accessCaPem);
      this.#trust = t;
    }
  }
}

function trustOf(rootPem: string, accessCaPem: string): ClientTrust {
  return {
    ca: [rootPem, accessCaPem],
    accessCa: new X509Certificate(accessCaPem),
  };
}
