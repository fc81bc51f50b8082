// The coordinator's store: Kysely over SQLite (default) or PostgreSQL, one migration set, typed
// functions, and the audit record of every mutation in the same transaction (I7).
export {
  Store,
  type StoreOptions,
  type RefusalAuditGate,
  type NetmapInputs,
  CONNECTOR_KEY_LIFETIME_MS,
  ENGINEER_KEY_LIFETIME_MS,
  sha256Hex,
} from './store.ts';
export { parseDatabaseConfig, type DatabaseConfig } from './db.ts';
export {
  CHANGE_CHANNEL,
  TIMER_CHANNEL,
  MAX_CHANGE_PAGE,
  type StoredChange,
  type TimerHint,
} from './changes.ts';
export { PgSession, TIMER_LOCK_KEY } from './pg-session.ts';
export { StoreError } from './errors.ts';
export {
  GENESIS_HASH,
  dropUndefined,
  type AuditEntry,
  type AuditSigner,
  type StoredAuditRecord,
} from './audit.ts';
export { MAX_AUDIT_PAGE, type StoredCheckpoint } from './audit-store.ts';
export {
  hashPassword,
  verifyPassword,
  scryptKdf,
  DEFAULT_SCRYPT,
  type Kdf,
  type ScryptParams,
} from './passwords.ts';
export { MIGRATIONS } from './migrations.ts';
export type { SessionMethod, SsoIdentity, TokenSession } from './sessions.ts';
export {
  CUSTOMER_SWITCHES,
  type CustomerRecord,
  type CustomerSwitch,
  type DeploymentControls,
} from './customers.ts';
export * from './records.ts';
export {
  EMPTY_POLICY,
  type AccessNotice,
  type AccessResult,
  type AccessRequestInput as StoreAccessRequestInput,
  type StoredPolicy,
} from './access.ts';
export {
  MAX_INCIDENT_PAGE,
  type AlertInput,
  type AlertTokenRecord,
  type IncidentChange,
  type IncidentRecord,
  type IncidentState,
} from './incidents.ts';
