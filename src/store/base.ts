// The store's core: the Kysely handle, the clock, and `mutate`, the one way a store function
// writes security state: the change and its audit record in one transaction (I7).
import { createHash } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import { randomBytes } from '../crypto/index.ts';
import type { Clock } from '../clock/index.ts';
import type { Database } from './schema.ts';
import { StoreError } from './errors.ts';
import { appendAudit, type AuditEntry, type AuditSigner, type StoredAuditRecord } from './audit.ts';
import { scryptKdf, type Kdf, type ScryptParams } from './passwords.ts';
import type { Checkpoint } from '../audit/index.ts';
import * as R from './records.ts';

/**
 * Bounds the audit records of refused actions per user (src/control/refusal-audit.ts). For one
 * refusal by `actor` (`user:NAME`): whether its record is written, and records to write first
 * (the summary of an earlier window's suppressed refusals).
 */
export interface RefusalAuditGate {
  admit(actor: string): { write: boolean; before: AuditEntry[] };
}

export interface StoreOptions {
  clock: Clock;
  /** scrypt parameters for new password hashes (tests lower N). */
  scrypt?: ScryptParams;
  /** The password KDF; default scrypt (tests wrap it to count calls). */
  kdf?: Kdf;
  /** Bounds refusal records per user; default: every refusal is recorded. */
  refusalAudit?: RefusalAuditGate;
  /** Test hook: called inside the transaction after the audit record is written. */
  afterAudit?: (rec: StoredAuditRecord) => void;
  /** Signs a checkpoint of the audit chain every `every` records, in the record's transaction. */
  auditSigner?: AuditSigner;
}

/** Node key lifetimes (DESIGN.md §4 "Keys"). */
export const CONNECTOR_KEY_LIFETIME_MS = 90 * 86_400_000;
export const ENGINEER_KEY_LIFETIME_MS = 7 * 86_400_000;

export const sha256Hex = (s: string): string => createHash('sha256').update(s, 'utf8').digest('hex');
/**
 * A new record id: 16 base64url characters that never begin with '-' or '_', so that an id on a
 * command line is never taken for an option (`sallyport approve -x…`).
 */
export const newId = (): string => {
  for (;;) {
    const id = Buffer.from(randomBytes(12)).toString('base64url');
    if (id[0] !== '-' && id[0] !== '_') return id;
  }
};
export const secret = (prefix: string): string =>
  `${prefix}${Buffer.from(randomBytes(24)).toString('base64url')}`;

/** Maps a driver constraint error to a StoreError. */
export function mapDbError(err: unknown): unknown {
  if (err instanceof StoreError) return err;
  const e = err as { code?: string; message?: string };
  const code = String(e.code ?? '');
  if (code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY')
    return new StoreError('CONFLICT', 'already exists', { cause: err });
  if (code === '23503' || code === 'SQLITE_CONSTRAINT_FOREIGNKEY')
    return new StoreError('CONFLICT', 'still referenced, or refers to something missing', { cause: err });
  if (code === '23514' || code === 'SQLITE_CONSTRAINT_CHECK')
    return new StoreError('INVALID', 'value refused by the schema', { cause: err });
  return err;
}

export class StoreBase {
  readonly db: Kysely<Database>;
  protected readonly clock: Clock;
  protected readonly scrypt: ScryptParams | undefined;
  protected readonly kdf: Kdf;
  readonly #refusalAudit: RefusalAuditGate | undefined;
  readonly #afterAudit: StoreOptions['afterAudit'];
  protected readonly auditSigner: AuditSigner | undefined;
  /** Operations run again after losing an optimistic-concurrency race (mutateAll). */
  retries = 0;

  protected constructor(db: Kysely<Database>, opts: StoreOptions) {
    this.db = db;
    this.clock = opts.clock;
    this.scrypt = opts.scrypt;
    this.kdf = opts.kdf ?? scryptKdf;
    this.#refusalAudit = opts.refusalAudit;
    this.#afterAudit = opts.afterAudit;
    if (opts.auditSigner && !(Number.isSafeInteger(opts.auditSigner.every) && opts.auditSigner.every >= 1))
      throw new StoreError('INVALID', 'auditSigner.every must be a positive integer');
    this.auditSigner = opts.auditSigner;
  }

  async close(): Promise<void> {
    await this.db.destroy();
  }

  now(): number {
    return Math.floor(this.clock.wallMs());
  }

  /** Appends an audit record of an event that changes no row here (e.g. a certificate issued). */
  recordAudit(actor: string, entry: Omit<AuditEntry, 'actor'>): Promise<void> {
    return this.mutate(actor, async () => ({ result: undefined, audit: entry }));
  }

  /**
   * The audit entries for one refused action, through the refusal gate: `entry` unless its actor
   * is past the per-user bound, preceded by any summary the gate has due. `system` is not bounded.
   */
  protected refusalEntries(entry: AuditEntry): AuditEntry[] {
    if (!this.#refusalAudit || entry.actor === 'system') return [entry];
    const a = this.#refusalAudit.admit(entry.actor);
    return a.write ? [...a.before, entry] : a.before;
  }

  /** Appends the audit record of a refused action (bounded per user, see refusalEntries). */
  async recordRefusal(entry: AuditEntry): Promise<void> {
    const audit = this.refusalEntries(entry);
    if (audit.length) await this.mutateAll(async () => ({ result: undefined, audit }));
  }

  /** Appends records that change no row (e.g. refusal summaries), in one transaction. */
  async recordAuditEntries(audit: readonly AuditEntry[]): Promise<void> {
    if (audit.length) await this.mutateAll(async () => ({ result: undefined, audit }));
  }

  /** Runs `fn` and appends its audit entry in one transaction. */
  async mutate<T>(
    actor: string,
    fn: (trx: Transaction<Database>, now: number) => Promise<{ result: T; audit: Omit<AuditEntry, 'actor'> }>,
  ): Promise<T> {
    const now = this.now();
    const signed: Checkpoint[] = [];
    let result: T;
    try {
      result = await this.db.transaction().execute(async (trx) => {
        const { result, audit } = await fn(trx, now);
        const rec = await appendAudit(trx, now, { actor, ...audit }, this.auditSigner, signed);
        this.#afterAudit?.(rec);
        return result;
      });
    } catch (err) {
      throw mapDbError(err);
    }
    this.checkpointsCommitted(signed);
    return result;
  }

  /** Hands checkpoints whose transaction committed to the signer (its anchor advances). */
  protected checkpointsCommitted(signed: readonly Checkpoint[]): void {
    for (const cp of signed) this.auditSigner?.committed?.(cp);
  }

  /**
   * Runs `fn` and appends all of its audit entries, in order, in one transaction (a change with
   * several records, e.g. an approval that meets the quorum: approval, approve, grant.create).
   * When `fn` throws RetryTransaction (it lost an optimistic-concurrency race), the transaction
   * rolls back and the whole operation runs again, at most `retries` times.
   */
  async mutateAll<T>(
    fn: (trx: Transaction<Database>, now: number) => Promise<{ result: T; audit: readonly AuditEntry[] }>,
    retries = 8,
  ): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const now = this.now();
      const signed: Checkpoint[] = [];
      try {
        const result = await this.db.transaction().execute(async (trx) => {
          const { result, audit } = await fn(trx, now);
          for (const entry of audit) {
            const rec = await appendAudit(trx, now, entry, this.auditSigner, signed);
            this.#afterAudit?.(rec);
          }
          return result;
        });
        this.checkpointsCommitted(signed);
        return result;
      } catch (err) {
        if (err instanceof RetryTransaction && attempt < retries) {
          this.retries++;
          continue;
        }
        if (err instanceof RetryTransaction)
          throw new StoreError('CONFLICT', 'too many concurrent changes; try again', { cause: err });
        throw mapDbError(err);
      }
    }
  }
}

/** Thrown inside a transaction to roll it back and run the whole operation again (see mutateAll). */
export class RetryTransaction extends Error {}

export async function insertNode(
  trx: Transaction<Database>,
  now: number,
  n: {
    public_key: string;
    kind: R.NodeKind;
    name: string;
    deployment_id: string | null;
    user_id: string | null;
    expires_at: number;
  },
) {
  const existing = await trx
    .selectFrom('nodes')
    .select('id')
    .where('public_key', '=', n.public_key)
    .executeTakeFirst();
  if (existing) throw new StoreError('CONFLICT', 'a node with this key is already enrolled');
  const row = {
    id: newId(),
    ...n,
    created_at: now,
    last_seen_at: null,
    endpoints: '[]',
    home_relay: null,
    revoked_at: null,
  };
  await trx.insertInto('nodes').values(row).execute();
  return row;
}

export async function resolveSubject(
  trx: Transaction<Database>,
  s: { type: R.SubjectType; name: string },
): Promise<string> {
  let row: { id: string } | undefined;
  if (s.type === 'user')
    row = await trx.selectFrom('users').select('id').where('name', '=', s.name).executeTakeFirst();
  else if (s.type === 'group')
    row = await trx.selectFrom('groups').select('id').where('name', '=', s.name).executeTakeFirst();
  else
    row = await trx
      .selectFrom('nodes')
      .select('id')
      .where('public_key', '=', s.name)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
  if (!row) throw new StoreError('NOT_FOUND', `no ${s.type} ${JSON.stringify(s.name)}`);
  return row.id;
}
