// The audit chain as the store writes it (DESIGN.md §5 "Audit", I7, I8). src/audit is its one
// definition: record bodies, RFC 8785 canonical JSON and hashes come from there, never from here.
// Appending bumps the single audit_head row first, which takes its row lock in PostgreSQL, so
// concurrent transactions append one after another. A record whose fields have no canonical form
// (a lone surrogate, NaN, …) is refused with StoreError INVALID, so the whole mutation rolls back.
// With a signer, the record at every `every`-th seq gets its checkpoint in the same transaction.
import { sql, type Transaction } from 'kysely';
import {
  canonicalize,
  fieldsProblem,
  hashRecord,
  GENESIS_PREV_HASH,
  type AuditFields,
  type AuditRecord,
  type Checkpoint,
} from '../audit/index.ts';
import type { Database } from './schema.ts';
import { StoreError } from './errors.ts';

export { GENESIS_PREV_HASH as GENESIS_HASH };

export interface AuditEntry {
  actor: string;
  action: string;
  subject: string;
  /** A JSON object; members that are undefined are dropped before hashing. */
  details: Record<string, unknown>;
}

/** A record as stored: exactly src/audit's record. */
export type StoredAuditRecord = AuditRecord;

/** Signs checkpoints of the chain head (the coordinator's audit key; see control/audit-signer.ts). */
export interface AuditSigner {
  /** The checkpoint key, standard base64 (32-byte Ed25519 public key). */
  readonly publicKey: string;
  /** A checkpoint is written with every record whose seq is a multiple of this (≥ 1). */
  readonly every: number;
  /**
   * The head this signer last signed, kept outside the database (its anchor), if it keeps one.
   * The store then reads the records from the anchor's seq to the head in the signing transaction
   * and passes them to `sign` and `check`.
   */
  anchor?(): { seq: number; hash: string } | undefined;
  /** A checkpoint of `head`, or undefined when the signer refuses it (it raises its own alarm). */
  sign(head: { seq: number; hash: string }, chain?: readonly AuditRecord[]): Checkpoint | undefined;
  /** True when `chain` (anchor..head) extends the anchor; false raises the signer's alarm. */
  check?(head: { seq: number; hash: string }, chain?: readonly AuditRecord[]): boolean;
  /** Called once the transaction that stored `cp` has committed. */
  committed?(cp: Checkpoint): void;
}

/** `v` without undefined object members, at any depth (arrays keep their elements). */
export function dropUndefined(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(dropUndefined);
  if (v === null || typeof v !== 'object') return v;
  const proto = Object.getPrototypeOf(v) as unknown;
  if (proto !== Object.prototype && proto !== null) return v; // canonicalize refuses it, by name
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) if (x !== undefined) out[k] = dropUndefined(x);
  return out;
}

/**
 * Appends one record inside `trx` (and its checkpoint when due, pushed to `signed` for the caller
 * to hand to `signer.committed` after the commit); returns the record with its hashes.
 */
export async function appendAudit(
  trx: Transaction<Database>,
  time: number,
  entry: AuditEntry,
  signer?: AuditSigner,
  signed?: Checkpoint[],
): Promise<StoredAuditRecord> {
  const fields: AuditFields = {
    time,
    actor: entry.actor,
    action: entry.action,
    subject: entry.subject,
    details: dropUndefined(entry.details) as Record<string, unknown>,
  };
  const problem = fieldsProblem(fields);
  if (problem)
    throw new StoreError('INVALID', `refused: the audit record would not be canonical: ${problem}`);
  const head = await trx
    .updateTable('audit_head')
    .set({ seq: sql`seq + 1` })
    .where('id', '=', 1)
    .returning(['seq', 'hash'])
    .executeTakeFirstOrThrow();
  const seq = Number(head.seq);
  const hash = hashRecord(head.hash, { seq, ...fields });
  await trx.updateTable('audit_head').set({ hash }).where('id', '=', 1).execute();
  await trx
    .insertInto('audit_log')
    .values({
      seq,
      time,
      actor: fields.actor,
      action: fields.action,
      subject: fields.subject,
      details: canonicalize(fields.details),
      prev_hash: head.hash,
      hash,
    })
    .execute();
  if (signer && seq % signer.every === 0) {
    const cp = signer.sign({ seq, hash }, await anchorChain(trx, signer, seq));
    if (cp) {
      await insertCheckpoint(trx, cp, signer);
      signed?.push(cp);
    }
  }
  return { seq, ...fields, prevHash: head.hash, hash };
}

/** The records from the signer's anchor to `headSeq` as `trx` sees them; undefined without an anchor. */
export async function anchorChain(
  trx: Transaction<Database>,
  signer: AuditSigner,
  headSeq: number,
): Promise<StoredAuditRecord[] | undefined> {
  const a = signer.anchor?.();
  if (!a) return undefined;
  const rows = await trx
    .selectFrom('audit_log')
    .selectAll()
    .where('seq', '>=', a.seq)
    .where('seq', '<=', headSeq)
    .orderBy('seq')
    .execute();
  return rows.map(toRecord);
}

/** A stored row as a record (details parsed; a row whose details are not JSON keeps them as text). */
export function toRecord(r: {
  seq: number;
  time: number;
  actor: string;
  action: string;
  subject: string;
  details: string;
  prev_hash: string;
  hash: string;
}): StoredAuditRecord {
  let details: Record<string, unknown>;
  try {
    details = JSON.parse(r.details) as Record<string, unknown>;
  } catch {
    details = { unreadable: r.details };
  }
  return {
    seq: Number(r.seq),
    time: Number(r.time),
    actor: r.actor,
    action: r.action,
    subject: r.subject,
    details,
    prevHash: r.prev_hash,
    hash: r.hash,
  };
}

/** Stores a checkpoint; a second one by the same key at the same seq is ignored. */
export async function insertCheckpoint(
  trx: Transaction<Database>,
  cp: Checkpoint,
  signer: Pick<AuditSigner, 'publicKey'>,
): Promise<void> {
  await trx
    .insertInto('audit_checkpoints')
    .values({
      seq: cp.seq,
      key_id: cp.keyId,
      hash: cp.hash,
      time: cp.time,
      signature: cp.signature,
      public_key: signer.publicKey,
    })
    .onConflict((oc) => oc.columns(['seq', 'key_id']).doNothing())
    .execute();
}
