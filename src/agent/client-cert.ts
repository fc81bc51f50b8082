// The client-certificate half of I4 for TLS-terminating services. A standalone TLSSocket does not
// verify what the client presented (Node computes `authorized` only for a tls.Server), so this
// does it, on the agent's clock and the current netmap:
//
//   a certificate sent? ─no─► BAD_CERTIFICATE
//   signed by the access CA we were given, with clientAuth? ─no─► NOT_ACCESS_CA (e.g. a service certificate)
//   SAN URI sallyport:grant:<id> names a grant in the netmap? ─no─► UNKNOWN_GRANT
//   that grant: this peer's key, this service, CN = its user? ─no─► GRANT_MISMATCH
//   now within the certificate's validity and the grant's? ─no─► EXPIRED
//   └─► admitted until min(grant end, certificate notAfter)
import { X509Certificate } from 'node:crypto';
import type { Netmap, NetmapGrant } from '../proto/control/index.ts';

export interface PresentedCert {
  /** A certificate was sent and parses. */
  present: boolean;
  /** Signed by the access CA (and named as issued by it), with extended key usage clientAuth. */
  fromAccessCa: boolean;
  subjectCN?: string;
  /** URIs from the subjectAltName. */
  uris: string[];
  notAfterMs: number;
  notBeforeMs: number;
}

export type ClientCertVerdict =
  | { ok: true; grant: NetmapGrant; until: number | null }
  | {
      ok: false;
      reason: 'BAD_CERTIFICATE' | 'NOT_ACCESS_CA' | 'UNKNOWN_GRANT' | 'GRANT_MISMATCH' | 'EXPIRED';
      detail: string;
    };

const GRANT_URI = /^sallyport:grant:([A-Za-z0-9._-]{1,128})$/;

export function checkClientCert(
  c: PresentedCert,
  q: {
    netmap: Netmap | undefined;
    peerKey: string;
    service: string;
    nowMs: number;
  },
): ClientCertVerdict {
  if (!c.present) return { ok: false, reason: 'BAD_CERTIFICATE', detail: 'no client certificate' };
  if (!c.fromAccessCa)
    return { ok: false, reason: 'NOT_ACCESS_CA', detail: 'not a client certificate of the access CA' };
  const ids = c.uris.map((u) => GRANT_URI.exec(u)?.[1]).filter((x): x is string => x !== undefined);
  if (ids.length !== 1)
    return { ok: false, reason: 'UNKNOWN_GRANT', detail: `want one grant URI, found ${ids.length}` };
  const forId = q.netmap?.grants.filter((g) => g.id === ids[0]) ?? [];
  if (!forId.length)
    return { ok: false, reason: 'UNKNOWN_GRANT', detail: `grant ${ids[0]} is not active here` };
  const g = forId.find((x) => x.peerKey === q.peerKey && x.services.includes(q.service));
  if (!g)
    return {
      ok: false,
      reason: 'GRANT_MISMATCH',
      detail: `grant ${ids[0]} does not cover this peer and service`,
    };
  if (!g.user || c.subjectCN !== g.user)
    return { ok: false, reason: 'GRANT_MISMATCH', detail: `certificate identity is not the grant's user` };
  const until = g.notAfter === null ? c.notAfterMs : Math.min(g.notAfter, c.notAfterMs);
  if (q.nowMs < g.notBefore || q.nowMs < c.notBeforeMs || q.nowMs >= until)
    return { ok: false, reason: 'EXPIRED', detail: `outside the grant or certificate validity` };
  return { ok: true, grant: g, until };
}

const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

/** Reads the DER the client sent (getPeerCertificate().raw) against the access CA. Never throws. */
export function examine(raw: Buffer | undefined, accessCa: X509Certificate): PresentedCert {
  const none: PresentedCert = {
    present: false,
    fromAccessCa: false,
    uris: [],
    notAfterMs: 0,
    notBeforeMs: Infinity,
  };
  if (!raw?.length) return none;
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(raw);
  } catch {
    return none;
  }
  let fromAccessCa = false;
  try {
    const eku = leaf.keyUsage ?? [];
    fromAccessCa =
      leaf.checkIssued(accessCa) && leaf.verify(accessCa.publicKey) && eku.includes(CLIENT_AUTH) && !leaf.ca;
  } catch {
    fromAccessCa = false;
  }
  const cn = /(?:^|\n)CN=([^\n]*)/.exec(leaf.subject)?.[1];
  const uris = (leaf.subjectAltName ?? '')
    .split(/,\s*/)
    .filter((x) => x.startsWith('URI:'))
    .map((x) => x.slice(4));
  return {
    present: true,
    fromAccessCa,
    ...(cn !== undefined ? { subjectCN: cn } : {}),
    uris,
    notAfterMs: Date.parse(leaf.validTo),
    notBeforeMs: Date.parse(leaf.validFrom),
  };
}
