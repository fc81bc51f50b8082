// Chain verification (what a router does with a client certificate before trusting its identity)
// and reading the identity and grant out of a client certificate.
import { PkiError } from './errors.ts';
import { GRANT_URI } from './names.ts';
import { parseCertificate, parseCertificates } from './pem.ts';
import { x509 } from './x509.ts';

export type ChainFailure =
  | 'MALFORMED' // a certificate does not parse
  | 'UNTRUSTED' // no path to a self-signed CA among caPems
  | 'BAD_SIGNATURE' // a signature on the path does not verify
  | 'NOT_A_CA' // an issuer on the path lacks CA:true / keyCertSign, or its path length is exceeded
  | 'EXPIRED' // a certificate on the path ended before atMs
  | 'NOT_YET_VALID' // a certificate on the path starts after atMs
  | 'WRONG_PURPOSE'; // opts.purpose given and a certificate's EKU excludes it (the leaf must name it)

export type ChainResult =
  { ok: true; chain: x509.X509Certificate[] } | { ok: false; code: ChainFailure; reason: string };

const MAX_DEPTH = 4;

function isCa(c: x509.X509Certificate): boolean {
  const bc = c.getExtension(x509.BasicConstraintsExtension);
  const ku = c.getExtension(x509.KeyUsagesExtension);
  return !!bc?.ca && (!ku || (ku.usages & x509.KeyUsageFlags.keyCertSign) !== 0);
}

/**
 * Verifies `leafPem` up to a self-signed certificate in `caPems` (each entry may hold several
 * PEM blocks; intermediates go there too), every certificate valid at `atMs` (X.509 notAfter is
 * inclusive: expired only after it). With `opts.purpose`, the leaf's EKU must name it and no CA
 * on the path may have an EKU without it (OpenSSL's rule). Never throws.
 */
export async function verifyChain(
  leafPem: string,
  caPems: string[],
  atMs: number,
  opts: { purpose?: 'serverAuth' | 'clientAuth' } = {},
): Promise<ChainResult> {
  let leaf: x509.X509Certificate;
  let cas: x509.X509Certificate[];
  try {
    leaf = parseCertificate(leafPem);
    cas = caPems.flatMap((p) => parseCertificates(p));
  } catch (e) {
    return { ok: false, code: 'MALFORMED', reason: e instanceof Error ? e.message : String(e) };
  }
  const chain = [leaf];
  for (let cur = leaf; ;) {
    const t = atMs;
    if (t < cur.notBefore.getTime()) return fail('NOT_YET_VALID', cur, 'is not valid yet');
    if (t > cur.notAfter.getTime()) return fail('EXPIRED', cur, 'has expired');
    if (opts.purpose && !ekuAllows(cur, opts.purpose))
      return fail('WRONG_PURPOSE', cur, `is not for ${opts.purpose}`);
    const selfSigned = cur.subject === cur.issuer && chain.length > 1;
    if (selfSigned && cas.some((c) => c.equal(cur))) {
      if (!(await sigOk(cur, cur))) return fail('BAD_SIGNATURE', cur, 'has a bad self-signature');
      return { ok: true, chain };
    }
    if (chain.length > MAX_DEPTH) return fail('UNTRUSTED', cur, 'is too deep');
    const issuers = cas.filter((c) => c.subject === cur.issuer && !chain.some((x) => x.equal(c)));
    if (issuers.length === 0) return fail('UNTRUSTED', cur, 'has no known issuer');
    let next: x509.X509Certificate | undefined;
    for (const c of issuers) if (await sigOk(cur, c)) next = c;
    if (!next) return fail('BAD_SIGNATURE', cur, 'has a signature no known issuer made');
    if (!isCa(next)) return fail('NOT_A_CA', next, 'is not a CA');
    const pathLen = next.getExtension(x509.BasicConstraintsExtension)?.pathLength;
    const casBelow = chain.length - 1; // CA certificates between `next` and the leaf
    if (pathLen !== undefined && casBelow > pathLen)
      return fail('NOT_A_CA', next, 'has its path length exceeded');
    chain.push(next);
    cur = next;
  }
}

const EKU_OID = { serverAuth: '1.3.6.1.5.5.7.3.1', clientAuth: '1.3.6.1.5.5.7.3.2' } as const;

function ekuAllows(c: x509.X509Certificate, purpose: keyof typeof EKU_OID): boolean {
  const eku = c.getExtension(x509.ExtendedKeyUsageExtension);
  if (!eku) return isCa(c); // a CA without EKU restricts nothing; a leaf must name its purpose
  return eku.usages.map(String).includes(EKU_OID[purpose]);
}

function fail(code: ChainFailure, c: x509.X509Certificate, what: string): ChainResult {
  return { ok: false, code, reason: `${c.subject} ${what}` };
}

async function sigOk(c: x509.X509Certificate, issuer: x509.X509Certificate): Promise<boolean> {
  try {
    return await c.verify({ publicKey: issuer.publicKey, signatureOnly: true });
  } catch {
    return false;
  }
}

/** What a client certificate says: who, which grant, and until when. */
export interface ClientIdentity {
  user: string;
  email?: string;
  grantUri: string;
  grantId: string;
  serial: string;
  notAfterMs: number;
}

/** Reads the identity (CN, e-mail SAN) and the grant (SAN URI) of a client certificate; PkiError if absent. */
export function readClientIdentity(certPem: string): ClientIdentity {
  const c = parseCertificate(certPem);
  const cn = c.subjectName.getField('CN');
  const san = c.getExtension(x509.SubjectAlternativeNameExtension);
  const names = san?.names.items ?? [];
  const uris = names.filter((n) => n.type === 'url').map((n) => n.value);
  const grants = uris.filter((u) => GRANT_URI.test(u));
  if (cn.length !== 1 || grants.length !== 1) {
    throw new PkiError(
      'NAME_INVALID',
      'not a sallyport client certificate (one CN and one grant URI expected)',
    );
  }
  const email = names.find((n) => n.type === 'email')?.value;
  return {
    user: cn[0]!,
    ...(email === undefined ? {} : { email }),
    grantUri: grants[0]!,
    grantId: GRANT_URI.exec(grants[0]!)![1]!,
    serial: c.serialNumber.toLowerCase(),
    notAfterMs: c.notAfter.getTime(),
  };
}
