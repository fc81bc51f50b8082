// Parsing certificates and requests from PEM with typed errors: anything that is not exactly the
// expected object is a PkiError (PEM_MALFORMED or CSR_MALFORMED), never a library exception.
import { PkiError } from './errors.ts';
import { x509 } from './x509.ts';

/** Upper bound on any PEM input we parse (a CSR or certificate is a few kB). */
export const MAX_PEM_CHARS = 64 * 1024;

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([A-Za-z0-9+/=\r\n]+?)-----END \1-----/g;

/** The DER bodies of every PEM block labelled `label`; PEM_MALFORMED when none or garbage. */
export function pemBlocks(
  pem: string,
  label: string,
  code: 'PEM_MALFORMED' | 'CSR_MALFORMED' = 'PEM_MALFORMED',
): Uint8Array[] {
  if (typeof pem !== 'string' || pem.length > MAX_PEM_CHARS) {
    throw new PkiError(code, `expected a PEM ${label} of at most ${MAX_PEM_CHARS} characters`);
  }
  const out: Uint8Array[] = [];
  for (const m of pem.matchAll(BLOCK)) {
    if (m[1] !== label) continue;
    const b64 = m[2]!.replace(/\s+/g, '');
    if (b64.length === 0 || b64.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) {
      throw new PkiError(code, `bad base64 in PEM ${label}`);
    }
    out.push(new Uint8Array(Buffer.from(b64, 'base64')));
  }
  if (out.length === 0) throw new PkiError(code, `no PEM ${label} block found`);
  return out;
}

/** Evaluates its arguments (lazy getters of the parsed object) and nothing else. */
function touch(..._fields: unknown[]): void {}

function wrap<T>(code: 'PEM_MALFORMED' | 'CSR_MALFORMED', what: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof PkiError) throw e;
    throw new PkiError(code, `not a valid ${what}`, { cause: e });
  }
}

/** The first certificate of a PEM text. */
export function parseCertificate(pem: string): x509.X509Certificate {
  return parseCertificates(pem)[0]!;
}

/** Every certificate of a PEM text (a chain or bundle), in order. */
export function parseCertificates(pem: string): x509.X509Certificate[] {
  return pemBlocks(pem, 'CERTIFICATE').map((der) =>
    wrap('PEM_MALFORMED', 'X.509 certificate', () => {
      const c = new x509.X509Certificate(der);
      // Touch the lazily decoded fields so a broken certificate fails here, not later.
      touch(c.subject, c.issuer, c.notBefore, c.notAfter, c.publicKey.algorithm, c.extensions.length);
      return c;
    }),
  );
}

/** A PKCS#10 request (label CERTIFICATE REQUEST, or NEW CERTIFICATE REQUEST as some tools write). */
export function parseCsr(pem: string): x509.Pkcs10CertificateRequest {
  let blocks: Uint8Array[];
  try {
    blocks = pemBlocks(pem, 'CERTIFICATE REQUEST', 'CSR_MALFORMED');
  } catch (e) {
    if (typeof pem === 'string' && pem.includes('NEW CERTIFICATE REQUEST')) {
      blocks = pemBlocks(pem, 'NEW CERTIFICATE REQUEST', 'CSR_MALFORMED');
    } else throw e;
  }
  if (blocks.length !== 1) throw new PkiError('CSR_MALFORMED', 'expected exactly one certificate request');
  return wrap('CSR_MALFORMED', 'PKCS#10 certificate request', () => {
    const r = new x509.Pkcs10CertificateRequest(blocks[0]!);
    touch(r.subject, r.publicKey.algorithm, r.signatureAlgorithm, r.extensions.length);
    return r;
  });
}

/**
 * PEM text as files want it: ending in a newline, so that `cat a.pem b.pem > bundle.pem` gives a
 * valid bundle (a missing newline glues "-----END …----------BEGIN …" and breaks the second block).
 */
export function pemText(pem: string): string {
  return pem.endsWith('\n') ? pem : pem + '\n';
}
