// What the admin API's routes need from the coordinator.
import type { UserRecord, Store } from '../../store/index.ts';
import type { Hub } from '../hub.ts';
import type { AuditSignerState } from '../audit-signer.ts';
import type { TimerOwnerState } from '../timer-owner.ts';
import type { FanoutState } from '../fanout.ts';
import type { SessionAuth } from '../bearer.ts';
import type { DeviceLoginGuard } from '../device-login.ts';
import type { Health } from '../routes/index.ts';

export interface ApiDeps {
  /** Bearer tokens and console sessions (bearer.ts). */
  auth: SessionAuth;
  store: Store;
  hub: Hub;
  suffix: string;
  publicKey: string;
  signingKey: string;
  /** The Ed25519 key that signs audit checkpoints, base64 (`audit verify --trust-key`). */
  auditKey: string;
  /** The listener certificate: where it comes from, its fingerprint, notAfter, next renewal, last error. */
  tlsState?: () => NonNullable<Health['tls']>;
  /** The audit signer's state: /health is 503 while it is halted (AUDIT_REWRITE). */
  auditState?: () => AuditSignerState;
  /** Who runs the timers, and the netmap fan-out's state (several coordinators), for /health. */
  clusterState?: () => { timers: TimerOwnerState; fanout?: FanoutState };
  /** The root CA (PEM) that service and client certificates chain to. */
  rootCaPem: string;
  /** Bearer token lifetime. */
  tokenTtlMs: number;
  deviceCodeTtlMs: number;
  /** Where users approve device codes (shown by `sallyport login`). */
  verificationUri: string;
  /** Proof of the node key for device/start (device-login.ts). */
  deviceGuard: DeviceLoginGuard;
}

declare module 'fastify' {
  interface FastifyRequest {
    user?: UserRecord;
  }
}
