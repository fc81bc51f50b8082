// Several coordinators on one database, as an operator deploys them (test-only).
import { cpSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Gives the data directory `to` what the coordinator in `from` holds — keys, PKI, listener
 * certificate — except its audit anchor, which each coordinator keeps for itself
 * (docs/operating-the-vendor-side.md, "One coordinator, or several on PostgreSQL").
 */
export function copyCoordinatorKeys(from: string, to: string): void {
  for (const f of readdirSync(from))
    if (f !== 'audit-anchor.json') cpSync(join(from, f), join(to, f), { recursive: true });
}
