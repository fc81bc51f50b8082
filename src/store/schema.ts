// The coordinator's tables as Kysely sees them. Times are unix milliseconds (integer in SQLite,
// bigint in PostgreSQL, parsed back to number); booleans are 0/1 integers and lists/maps JSON text,
// so that one migration set and one query set serve both databases.
import type { Generated } from 'kysely';

export interface DeploymentsTable {
  id: string;
  name: string;
  region: string;
  cloud: string;
  created_at: number;
}

export interface DeploymentManagementTable {
  deployment_id: string;
  /** public | private | private-with-public-fallback */
  mode: string;
  /** https://HOST[:PORT] of the Kubernetes API server's public endpoint. */
  public_server: string | null;
  /** Where break-glass notices go (the customer's webhook). */
  customer_webhook: string | null;
  updated_at: number;
}

export interface ServicesTable {
  id: string;
  deployment_id: string;
  name: string;
  /** kubernetes | clickhouse | prometheus | http | tcp */
  kind: string;
  address: string;
  /** terminate | passthrough */
  tls_mode: string;
  /** JSON object of string → string */
  labels: string;
  /** The connector node that registered it last (null: defined by an administrator only). */
  connector_id: string | null;
  created_at: number;
}

export interface NodesTable {
  id: string;
  /** X25519 public key, standard base64. */
  public_key: string;
  /** connector | engineer */
  kind: string;
  name: string;
  deployment_id: string | null;
  user_id: string | null;
  created_at: number;
  expires_at: number;
  last_seen_at: number | null;
  /** JSON array of "host:port" strings. */
  endpoints: string;
  home_relay: string | null;
  revoked_at: number | null;
}

export interface PreauthKeysTable {
  id: string;
  /** SHA-256 of the secret, hex. The secret itself is shown once and never stored. */
  key_hash: string;
  reusable: number;
  expires_at: number;
  deployment_id: string | null;
  user_id: string | null;
  used_count: number;
  revoked_at: number | null;
  created_at: number;
  created_by: string;
}

export interface UsersTable {
  id: string;
  name: string;
  /** scrypt$N$r$p$salt$hash (base64) */
  password_hash: string;
  is_admin: number;
  disabled: number;
  created_at: number;
  /** The identity provider's subject for a user made by an OIDC sign-in; null for local users. */
  idp_subject: string | null;
  /** The customer this person belongs to (customer portal); null for the vendor's people. */
  customer_id: string | null;
}

export interface CustomersTable {
  id: string;
  name: string;
  webhook: string | null;
  /** JSON array of the switches the vendor lets the customer flip. */
  switches: Generated<string>;
  created_at: number;
}

export interface CustomerDeploymentsTable {
  deployment_id: string;
  customer_id: string;
}

export interface CustomerInvitesTable {
  /** SHA-256 of the one-time invite token, hex. */
  token_hash: string;
  customer_id: string;
  user_name: string;
  /** JSON array of the groups the new person joins. */
  groups: string;
  created_at: number;
  expires_at: number;
  used_at: number | null;
}

export interface DeploymentControlsTable {
  deployment_id: string;
  require_co_approval: number;
  no_access: number;
  /** JSON AccessHours, or null: any time. */
  hours: string | null;
  updated_at: number;
  updated_by: string;
}

export interface GroupsTable {
  id: string;
  name: string;
  created_at: number;
}

export interface MembershipsTable {
  group_id: string;
  user_id: string;
}

export interface GrantsTable {
  id: string;
  /** user | group | node */
  subject_type: string;
  subject_id: string;
  deployment_id: string;
  /** JSON array of service names; empty means every service of the deployment. */
  services: string;
  not_before: number;
  expires_at: number | null;
  revoked_at: number | null;
  created_at: number;
  created_by: string;
  /** read-only | read-write | admin (migration 0004; default read-only). */
  access: Generated<string>;
}

export interface ApiTokensTable {
  /** SHA-256 of the bearer token, hex. */
  token_hash: string;
  user_id: string;
  created_at: number;
  expires_at: number;
  /** How the session was signed in: `password` or `oidc`. */
  method: Generated<string>;
  /** When the person last authenticated (null: created_at). */
  auth_time: number | null;
  /** When the coordinator last confirmed the session with the identity provider. */
  checked_at: number | null;
  /** The identity provider's refresh token (`oidc` only). */
  idp_refresh: string | null;
}

export interface DeviceCodesTable {
  /** SHA-256 of the device code, hex. */
  device_code_hash: string;
  user_code: string;
  node_key: string;
  name: string;
  created_at: number;
  expires_at: number;
  /** pending | approved | denied | consumed */
  status: string;
  approved_by: string | null;
  node_id: string | null;
}

export interface AuditLogTable {
  seq: number;
  time: number;
  actor: string;
  action: string;
  subject: string;
  /** Canonical JSON. */
  details: string;
  prev_hash: string;
  hash: string;
}

/** One row (id = 1): the head of the audit chain; updating it serialises appenders (row lock). */
export interface AuditHeadTable {
  id: number;
  seq: number;
  hash: string;
}

/** A signed checkpoint of the audit chain at `seq` (src/audit/checkpoint.ts). */
export interface AuditCheckpointsTable {
  seq: number;
  /** Hex of SHA-256(public key)[0..8]. */
  key_id: string;
  /** The record hash at `seq`, hex. */
  hash: string;
  time: number;
  /** Ed25519 signature, standard base64. */
  signature: string;
  /** The signing key, standard base64: listed in exports so old keys stay known. */
  public_key: string;
}

/** The access policy document (one row, id = 1), as submitted (JSON text). */
export interface AccessPolicyTable {
  id: number;
  version: number;
  document: string;
  updated_at: number;
  updated_by: string;
}

/** Access requests (src/access RequestState as JSON in `state`). */
export interface AccessRequestsTable {
  id: string;
  grant_id: string;
  requester: string;
  deployment: string;
  status: string;
  pending_until: number;
  created_at: number;
  version: number;
  state: string;
}

/** One row per distinct approver of a request or extension (`request:<id>` / `extension:<id>`). */
export interface AccessApprovalsTable {
  subject: string;
  approver: string;
  /** JSON array of roles. */
  roles: string;
  at: number;
}

/** The access state of a request-derived grant (GrantState JSON); the `grants` row has the same id. */
export interface AccessGrantsTable {
  id: string;
  request_id: string;
  subject: string;
  status: string;
  end_at: number;
  version: number;
  state: string;
}

/** Extension requests (ExtensionState JSON). */
export interface AccessExtensionsTable {
  id: string;
  grant_id: string;
  requester: string;
  status: string;
  pending_until: number;
  version: number;
  state: string;
}

/** Alertmanager receiver tokens (sha256 of the token; deployment_id null = global). */
export interface AlertTokensTable {
  id: string;
  name: string;
  token_hash: string;
  deployment_id: string | null;
  created_at: number;
  created_by: string;
  revoked_at: number | null;
}

/** One firing episode of an alert (fingerprint, startsAt); labels is a JSON object of strings. */
export interface IncidentsTable {
  id: string;
  fingerprint: string;
  starts_at: string;
  deployment_id: string | null;
  deployment_label: string | null;
  alertname: string;
  severity: string;
  summary: string;
  labels: string;
  state: 'open' | 'closed';
  opened_at: number;
  updated_at: number;
  closed_at: number | null;
  ends_at: string | null;
  notifications: number;
}

/** The one row (id 1) holding the last netmap change version handed out (migration 0006). */
export interface NetmapChangeHeadTable {
  id: number;
  version: number;
}

/** One netmap-altering change, by id only (control/change-ref.ts encodes `change`). */
export interface NetmapChangesTable {
  version: number;
  /** The coordinator instance that made the change. */
  origin: string;
  /** JSON naming the change by ids. */
  change: string;
  created_at: number;
}

export interface Database {
  deployments: DeploymentsTable;
  deployment_management: DeploymentManagementTable;
  services: ServicesTable;
  nodes: NodesTable;
  preauth_keys: PreauthKeysTable;
  users: UsersTable;
  customers: CustomersTable;
  customer_deployments: CustomerDeploymentsTable;
  deployment_controls: DeploymentControlsTable;
  customer_invites: CustomerInvitesTable;
  groups: GroupsTable;
  memberships: MembershipsTable;
  grants: GrantsTable;
  api_tokens: ApiTokensTable;
  device_codes: DeviceCodesTable;
  audit_log: AuditLogTable;
  audit_head: AuditHeadTable;
  audit_checkpoints: AuditCheckpointsTable;
  access_policy: AccessPolicyTable;
  access_requests: AccessRequestsTable;
  access_approvals: AccessApprovalsTable;
  access_grants: AccessGrantsTable;
  access_extensions: AccessExtensionsTable;
  alert_tokens: AlertTokensTable;
  incidents: IncidentsTable;
  netmap_change_head: NetmapChangeHeadTable;
  netmap_changes: NetmapChangesTable;
}
