// The store API: typed functions over the coordinator's tables. No SQL lives outside src/store.
// Every mutation runs in one transaction that also appends its audit record (I7): see base.ts.
// The class is assembled in layers, one file per concern:
//   base.ts (db, clock, mutate) → catalog.ts (deployments, services) → identity.ts (users, tokens,
//   groups) → enrollment.ts (pre-auth keys, nodes, device login) → grants.ts (grants, netmap
//   inputs) → audit-store.ts (the audit log and its checkpoints) → access.ts (just-in-time access)
//   → incidents.ts (alert receiver tokens, incidents) → changes.ts (the netmap change log of
//   several coordinators) → Store.
import { openKysely, migrate, type DatabaseConfig } from './db.ts';
import type { StoreOptions } from './base.ts';
import { ChangeStore } from './changes.ts';

export {
  CONNECTOR_KEY_LIFETIME_MS,
  ENGINEER_KEY_LIFETIME_MS,
  sha256Hex,
  type StoreOptions,
  type RefusalAuditGate,
} from './base.ts';
export type { NetmapInputs } from './grants.ts';

export class Store extends ChangeStore {
  /** Opens the database and applies pending migrations. */
  static async open(cfg: DatabaseConfig, opts: StoreOptions): Promise<Store> {
    const db = await openKysely(cfg);
    try {
      await migrate(db);
    } catch (e) {
      await db.destroy();
      throw e;
    }
    return new Store(db, opts, cfg);
  }
}
