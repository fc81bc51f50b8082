// The coordinator's CA hierarchy (DESIGN.md §5 "PKI"): a root, a service CA for routers' tailnet
// names, and an access CA for engineers' client certificates, kept encrypted in DIR/pki with the
// store key from SALLYPORT_PKI_KEY or DIR/pki.key (created 0600 on first start).
import { join } from 'node:path';
import type { Clock } from '../clock/index.ts';
import {
  CaStore,
  createCa,
  issueClientCert,
  issueServerCert,
  type Ca,
  type IssuedCert,
} from '../pki/index.ts';

export interface CoordinatorPki {
  root: Ca;
  service: Ca;
  access: Ca;
}

/** Service certificates live this long at most (and never past the node key's expiry). */
export const SERVICE_CERT_LIFETIME_MS = 30 * 86_400_000;
/** Client certificates end with their grant (I5), and within this for grants without an end. */
export const CLIENT_CERT_LIFETIME_MS = 12 * 3600_000;

export async function loadOrCreatePki(dataDir: string, clock: Clock): Promise<CoordinatorPki> {
  const store = await CaStore.open(join(dataDir, 'pki'), { keyFile: join(dataDir, 'pki.key') });
  const get = async (name: string, make: () => Promise<Ca>): Promise<Ca> => {
    if (await store.has(name)) return store.load(name);
    const ca = await make();
    await store.save(name, ca);
    return ca;
  };
  const root = await get('root', () => createCa({ kind: 'root', validityDays: 3650, clock }));
  const service = await get('service', () =>
    createCa({ kind: 'service', parent: root, validityDays: 1825, clock }),
  );
  const access = await get('access', () =>
    createCa({ kind: 'access', parent: root, validityDays: 1825, clock }),
  );
  return { root, service, access };
}

/** A router's server certificate for one tailnet name, from the connector's CSR. */
export function issueServiceCert(
  pki: CoordinatorPki,
  req: { csrPem: string; tailnetName: string; nodeExpiresAt: number; clock: Clock },
): Promise<IssuedCert> {
  const now = req.clock.wallMs();
  return issueServerCert(pki.service, {
    csrPem: req.csrPem,
    dnsNames: [req.tailnetName],
    notAfter: Math.min(
      now + SERVICE_CERT_LIFETIME_MS,
      req.nodeExpiresAt,
      pki.service.cert.notAfter.getTime(),
    ),
    clock: req.clock,
  });
}

/** An engineer's client certificate for one grant: notAfter = the grant's end when it has one. */
export function issueGrantCert(
  pki: CoordinatorPki,
  req: {
    csrPem: string;
    user: string;
    grantId: string;
    grantEnd: number | null;
    nodeExpiresAt: number;
    clock: Clock;
  },
): Promise<IssuedCert> {
  const now = req.clock.wallMs();
  return issueClientCert(pki.access, req.csrPem, {
    identity: { user: req.user },
    grantUri: `sallyport:grant:${req.grantId}`,
    notAfter: Math.min(
      req.grantEnd ?? now + CLIENT_CERT_LIFETIME_MS,
      now + CLIENT_CERT_LIFETIME_MS,
      req.nodeExpiresAt,
      pki.access.cert.notAfter.getTime(),
    ),
    clock: req.clock,
  });
}
