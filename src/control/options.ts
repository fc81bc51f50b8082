// The coordinator's options (one object, every field with its default), and the checks that refuse
// options that cannot work before anything is opened.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Clock } from '../clock/index.ts';
import type { ScryptParams } from '../store/index.ts';
import type { CertSpec } from '../certs/index.ts';
import { ControlError } from './errors.ts';
import type { Logger } from './logger.ts';
import type { RelayConfig } from './relays.ts';
import type { OidcSettings } from './oidc/idp.ts';

export interface CoordinatorOptions {
  /** State directory: keys, TLS material, SQLite database. */
  dataDir: string;
  /** postgres://… or a SQLite path; default DIR/coordinator.db. */
  db?: string;
  /** Default 127.0.0.1:8443; port 0 picks a free port. */
  listen?: { host: string; port: number };
  /** Tailnet suffix, e.g. byoc.example.com. */
  suffix: string;
  relays?: RelayConfig[];
  /** Listener certificate files, followed as they change (certs/file-source.ts); default a self-signed one under DIR/tls. */
  tls?: { certFile: string; keyFile: string };
  /** The listener certificate from files or an ACME CA (wins over `tls`); ACME state defaults to DIR/acme. */
  certs?: CertSpec | (Omit<Extract<CertSpec, { kind: 'acme' }>, 'stateDir'> & { stateDir?: string });
  /**
   * /metrics: `token` makes it answer on the main listener to `Authorization: Bearer <token>`;
   * `listen` serves it, without a token, on a plain HTTP listener of its own (a private address).
   * With neither, /metrics on the main listener answers 403.
   */
  metrics?: { token?: string; listen?: { host: string; port: number } };
  /** Extra names for the self-signed certificate. */
  hostnames?: string[];
  clock?: Clock;
  logger?: Logger;
  /** First administrator when the user table is empty; default `admin` with a random password written to DIR/initial-admin-password (0600). */
  bootstrapAdmin?: { name: string; password: string };
  /** scrypt parameters for new password hashes (tests lower them). */
  scrypt?: ScryptParams;
  /** Bearer-token lifetime; default 12 h. */
  tokenTtlMs?: number;
  /** Device-code lifetime; default 10 min. */
  deviceCodeTtlMs?: number;
  /** Largest API body; default 64 KiB. */
  bodyLimit?: number;
  /** Most agent channels at once; default 20,000. */
  maxChannels?: number;
  /** Sign an audit checkpoint every this many records; default 100 (audit-signer.ts). */
  auditCheckpointEvery?: number;
  /** Access notifications are POSTed (Slack-compatible JSON) to each of these URLs. */
  webhooks?: string[];
  /** Extra CA (PEM) to trust for https webhook receivers. */
  webhookCa?: string;
  /** Extra CA (PEM) to trust for the relays' TLS listeners when pushing revocation lists. */
  relayCa?: string;
  /** Time between two revocation-list pushes to the relays, ms; default 5000 (revocations.ts). */
  revocationPushMs?: number;
  /** Serve the browser console under /console/ (docs/console.md); default true. */
  console?: boolean;
  /**
   * This coordinator's name among several on one PostgreSQL (≤ 40 characters): shown in /health
   * as the timer owner and in pg_stat_activity; default the host name and a random suffix.
   */
  instance?: string;
  /** How often a coordinator on PostgreSQL tries to take over the timers, ms; default 1000. */
  timerLockPollMs?: number;
  /** First delay before reopening a lost LISTEN connection (PostgreSQL), ms; default 250. */
  fanoutRetryMs?: number;
  /**
   * Sign-in through the company's identity provider (OpenID Connect; docs/sso.md). Discovered at
   * start: an unreachable or wrong provider stops the start with what to fix.
   */
  oidc?: OidcSettings;
  /** This coordinator's public https URL (the provider's redirect back to the console). */
  publicUrl?: string;
  /** Approving needs a sign-in at most this old, ms; default 1 h (bearer.ts). */
  approvalMaxAgeMs?: number;
  /**
   * On stop, how long agents get to close their channels after being told to move to another
   * coordinator (close 1012) before the rest are cut, ms; default 2000.
   */
  drainMs?: number;
}

/** This coordinator's name among several on one database: given, or the host name and a random suffix. */
export function instanceName(opts: CoordinatorOptions): string {
  const instance = opts.instance ?? `${hostname().slice(0, 30)}-${randomBytes(3).toString('hex')}`;
  if (!/^[A-Za-z0-9._:-]{1,40}$/.test(instance))
    throw new ControlError(
      'CONFIG',
      `instance name ${JSON.stringify(instance)}: 1–40 of A-Z a-z 0-9 . _ : -`,
    );
  return instance;
}

/** Refuses options that cannot work (CONFIG), before anything is opened. */
export function checkOptions(opts: CoordinatorOptions): void {
  if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$/.test(opts.suffix))
    throw new ControlError('CONFIG', `--suffix ${JSON.stringify(opts.suffix)} is not a DNS name`);
  if (opts.metrics?.token !== undefined && opts.metrics.token.length < 16)
    throw new ControlError('CONFIG', 'the metrics token must be at least 16 characters');
}
