// The grant check of the connector's router (I4, without the client-certificate part, which comes
// with the access CA): an active grant in the current netmap covers this peer key, this service
// and now.
import { inForce } from '../access/index.ts';
import type { Netmap, NetmapGrant } from '../proto/control/index.ts';

export function coveringGrant(
  nm: Netmap | undefined,
  peerKey: string,
  service: string,
  nowMs: number,
): NetmapGrant | undefined {
  return nm?.grants.find(
    (g) =>
      g.peerKey === peerKey &&
      g.services.includes(service) &&
      inForce({ notBefore: g.notBefore, end: g.notAfter }, nowMs),
  );
}

/** Tailnet name → service, case-insensitive, trailing dot allowed. */
export function resolveTailnetName(
  nm: Netmap | undefined,
  host: string,
): Netmap['services'][number] | undefined {
  const h = host.toLowerCase().replace(/\.$/, '');
  return nm?.services.find((s) => s.tailnetName.toLowerCase() === h);
}

/** "DEPLOYMENT/SERVICE" → service. */
export function resolveServiceRef(
  nm: Netmap | undefined,
  ref: string,
): Netmap['services'][number] | undefined {
  const [dep, name] = ref.split('/', 2);
  return nm?.services.find((s) => s.deployment === dep && s.name === name);
}
