// The store's domain records (what its functions return) and the row → record mappers.
import type { Selectable } from 'kysely';
import type { Database } from './schema.ts';
import type { AccessLevel } from '../access/index.ts';

export type ServiceKind = 'kubernetes' | 'clickhouse' | 'prometheus' | 'http' | 'tcp';
export const SERVICE_KINDS: readonly ServiceKind[] = [
  'kubernetes',
  'clickhouse',
  'prometheus',
  'http',
  'tcp',
];
export type TlsMode = 'terminate' | 'passthrough';

/** Kinds the connector always terminates and sends through their target (never passthrough). */
export const PROXIED_KINDS: ReadonlySet<ServiceKind> = new Set(['kubernetes', 'clickhouse', 'prometheus']);

/**
 * The TLS mode the coordinator stores for a service: a proxied kind is always `terminate`, whatever
 * a registration (an older connector's, an administrator's) says — fail closed on both sides.
 */
export function storedTlsMode(kind: ServiceKind, asked: TlsMode | undefined, old?: string): TlsMode {
  if (PROXIED_KINDS.has(kind)) return 'terminate';
  return asked ?? (old as TlsMode | undefined) ?? 'terminate';
}
export type NodeKind = 'connector' | 'engineer';
export type SubjectType = 'user' | 'group' | 'node';

export type ManagementMode = 'public' | 'private' | 'private-with-public-fallback';

/** How the vendor's management services reach a deployment's Kubernetes API (DESIGN.md §7). */
export interface ManagementRecord {
  deployment: string;
  mode: ManagementMode;
  publicServer: string | null;
  customerWebhook: string | null;
  updatedAt: number | null;
}

export interface DeploymentRecord {
  id: string;
  name: string;
  region: string;
  cloud: string;
  createdAt: number;
}

export interface ServiceRecord {
  id: string;
  deploymentId: string;
  name: string;
  kind: ServiceKind;
  address: string;
  tlsMode: TlsMode;
  labels: Record<string, string>;
  connectorId: string | null;
  createdAt: number;
}

export interface NodeRecord {
  id: string;
  publicKey: string;
  kind: NodeKind;
  name: string;
  deploymentId: string | null;
  userId: string | null;
  createdAt: number;
  expiresAt: number;
  lastSeenAt: number | null;
  endpoints: string[];
  homeRelay: string | null;
  revokedAt: number | null;
}

export interface PreauthKeyRecord {
  id: string;
  reusable: boolean;
  expiresAt: number;
  deploymentId: string | null;
  userId: string | null;
  usedCount: number;
  revokedAt: number | null;
  createdAt: number;
  createdBy: string;
}

export interface UserRecord {
  id: string;
  name: string;
  isAdmin: boolean;
  disabled: boolean;
  createdAt: number;
}

export interface GroupRecord {
  id: string;
  name: string;
  createdAt: number;
  members: string[];
}

export interface GrantRecord {
  id: string;
  subjectType: SubjectType;
  subjectId: string;
  deploymentId: string;
  /** Service names; empty = every service of the deployment. */
  services: string[];
  notBefore: number;
  expiresAt: number | null;
  revokedAt: number | null;
  createdAt: number;
  createdBy: string;
  /** What the grant lets its holder do; the connector's targets enforce it. */
  access: AccessLevel;
}

export interface Membership {
  groupId: string;
  userId: string;
}

type Row<T extends keyof Database> = Selectable<Database[T]>;
const n = (v: number | string): number => Number(v);
const nn = (v: number | string | null): number | null => (v === null ? null : Number(v));

export const toDeployment = (r: Row<'deployments'>): DeploymentRecord => ({
  id: r.id,
  name: r.name,
  region: r.region,
  cloud: r.cloud,
  createdAt: n(r.created_at),
});

export const toService = (r: Row<'services'>): ServiceRecord => ({
  id: r.id,
  deploymentId: r.deployment_id,
  name: r.name,
  kind: r.kind as ServiceKind,
  address: r.address,
  tlsMode: r.tls_mode as TlsMode,
  labels: JSON.parse(r.labels) as Record<string, string>,
  connectorId: r.connector_id,
  createdAt: n(r.created_at),
});

export const toNode = (r: Row<'nodes'>): NodeRecord => ({
  id: r.id,
  publicKey: r.public_key,
  kind: r.kind as NodeKind,
  name: r.name,
  deploymentId: r.deployment_id,
  userId: r.user_id,
  createdAt: n(r.created_at),
  expiresAt: n(r.expires_at),
  lastSeenAt: nn(r.last_seen_at),
  endpoints: JSON.parse(r.endpoints) as string[],
  homeRelay: r.home_relay,
  revokedAt: nn(r.revoked_at),
});

export const toPreauthKey = (r: Row<'preauth_keys'>): PreauthKeyRecord => ({
  id: r.id,
  reusable: r.reusable === 1,
  expiresAt: n(r.expires_at),
  deploymentId: r.deployment_id,
  userId: r.user_id,
  usedCount: n(r.used_count),
  revokedAt: nn(r.revoked_at),
  createdAt: n(r.created_at),
  createdBy: r.created_by,
});

export const toUser = (r: Row<'users'>): UserRecord => ({
  id: r.id,
  name: r.name,
  isAdmin: r.is_admin === 1,
  disabled: r.disabled === 1,
  createdAt: n(r.created_at),
});

export const toGrant = (r: Row<'grants'>): GrantRecord => ({
  id: r.id,
  subjectType: r.subject_type as SubjectType,
  subjectId: r.subject_id,
  deploymentId: r.deployment_id,
  services: JSON.parse(r.services) as string[],
  notBefore: n(r.not_before),
  expiresAt: nn(r.expires_at),
  revokedAt: nn(r.revoked_at),
  createdAt: n(r.created_at),
  createdBy: r.created_by,
  // Anything unexpected reads as the safest level.
  access: r.access === 'read-write' || r.access === 'admin' ? r.access : 'read-only',
});
