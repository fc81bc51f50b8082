// The contract between the connector's router and the targets behind it (DESIGN.md §6).
//
//   router: stream admitted (I4: peer key, client certificate, service, now)
//      └─► TLS terminated ─► TargetProxy.serve(plaintext client, ctx)   (kubernetes, clickhouse
//                                                                         router-auth, prometheus)
//   agent: netmap grants change ─► TargetReconciler.reconcile(active grants)  (ClickHouse users …)
//
// Targets never see the session or the netmap: only who the grant is for, until when, and where
// the target lives. A target's own audit (the engineer's queries) goes to the connector's local
// audit, inside the customer's VPC, through LocalAuditSink.
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { Clock } from '../clock/index.ts';
import type { AccessLevel } from '../access/index.ts';

/** One active grant as a target needs to know it. */
export interface GrantIdentity {
  grantId: string;
  /** The engineer: the grant's user, equal to the client certificate's CN. */
  user: string;
  /** The service (name on this connector) the grant covers. */
  service: string;
  deployment: string;
  /** Epoch ms the access ends: min(grant end, certificate notAfter); null = no end (standing). */
  notAfter: number | null;
  /**
   * What the grant lets its holder do; each target maps it (docs/targets/). A netmap grant
   * without a level (an older coordinator) is read-only.
   */
  access: AccessLevel;
}

/** What a proxy knows about one admitted connection. */
export interface ProxyContext extends GrantIdentity {
  /** host:port of the target inside the customer's network. */
  address: string;
  clock: Clock;
  logger: Logger;
  /** Aborted when the grant ends or is revoked: the proxy closes both sides at once. */
  signal: AbortSignal;
}

/** A protocol-aware proxy for one service (the router has already terminated mTLS). */
export interface TargetProxy {
  /** Serves one client connection (plaintext, usually HTTP/1.1). Never throws. */
  serve(client: Duplex, ctx: ProxyContext): void;
  close(): Promise<void>;
}

/** Makes the target accept exactly the active grants (e.g. ClickHouse users) and removes the rest. */
export interface TargetReconciler {
  /** Idempotent: converge on this set. Grants for other services are never passed in. */
  reconcile(grants: readonly GrantIdentity[]): Promise<void>;
  close(): Promise<void>;
}

/** The connector's local audit (customer side). Records are hash-chained by the sink. */
export interface LocalAuditSink {
  append(action: string, subject: string, details: Record<string, unknown>): void;
}

/** Per-grant usage the connector reports to the coordinator's audit (count, failures). */
export interface GrantUsageSummary {
  grantId: string;
  service: string;
  queries: number;
  failures: number;
}

export interface TargetDeps {
  clock: Clock;
  logger: Logger;
  /** The connector's state directory (0700); a target keeps its secrets below it. */
  stateDir: string;
  audit: LocalAuditSink;
  /** Called when a target has a usage summary for a grant (e.g. at grant end). */
  report?(summary: GrantUsageSummary): void;
}

/** What one service's target provides; every part is optional. */
export interface Target {
  proxy?: TargetProxy;
  reconciler?: TargetReconciler;
  /**
   * Checks, before the service is registered, that the server found can enforce this target's
   * mode (e.g. a version probe); rejects with TargetError naming the fix, and the agent refuses
   * to start.
   */
  start?(o: { signal?: AbortSignal }): Promise<void>;
  close(): Promise<void>;
}
