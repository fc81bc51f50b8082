// Firewalls that drop UDP: at a host, a router or a NAT, one direction or both. The vnet carries
// only datagrams, so a test that models a TCP connection (to a relay on 443, say) as datagrams
// exempts that remote with `allow`: "UDP is blocked, HTTPS to the relay still works".
import { checkIPv4 } from './addr.ts';

/** Which UDP is dropped: none, arriving ('in'), leaving ('out'), or all of it ('both'). */
export type UdpBlock = 'none' | 'in' | 'out' | 'both';

/** A UdpBlock, or one with remote addresses whose packets pass anyway. */
export type Firewall = UdpBlock | { drop: UdpBlock; allow?: readonly string[] };

/** Whether `fw` drops a packet going `dir` whose far end is `remote` (its dst leaving, its src arriving). */
export function blocks(fw: Firewall, dir: 'in' | 'out', remote: string): boolean {
  const drop = typeof fw === 'string' ? fw : fw.drop;
  if (drop !== 'both' && drop !== dir) return false;
  return typeof fw === 'string' || !(fw.allow ?? []).includes(remote);
}

/** Validates a firewall setting once, when it is set. */
export function checkFirewall(fw: Firewall): Firewall {
  if (typeof fw !== 'string') {
    checkDrop(fw.drop);
    for (const a of fw.allow ?? []) checkIPv4(a, 'firewall allow');
    return { drop: fw.drop, allow: [...(fw.allow ?? [])] };
  }
  return checkDrop(fw);
}

function checkDrop(d: UdpBlock): UdpBlock {
  if (!['none', 'in', 'out', 'both'].includes(d)) throw new RangeError(`firewall ${String(d)} is not valid`);
  return d;
}
