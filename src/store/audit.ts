// The audit chain as the store writes it (DESIGN.md §5 "Audit", I7). Each record:
//   hash = SHA-256(prev_hash (32 bytes) ‖ canonical JSON { seq, time, actor, action, subject, details })
// The first record's prev_hash is 32 zero bytes. Appending bumps the single audit_head row first,
// which takes its row lock in PostgreSQL, so concurrent transactions append one after another.
import { createHash } from 'node:crypto';
import { sql, type Transaction } from 'kysely';
import type { Database } from './schema.ts';
import { canonicalJson } from './canonical.ts';

export const GENESIS_HASH = '0'.repeat(64);

export interface AuditEntry {
  actor: string;
  action: string;
  subject: string;
  details: Record<string, unknown>;
}

export interface AuditRecord extends AuditEntry {
  seq: number;
  time: number;
}

export interface StoredAuditRecord extends AuditRecord {
  prevHash: string;
  hash: string;
}

export function auditHash(prevHash: string, rec: AuditRecord): string {
  const body = canonicalJson({
    seq: rec.seq,
    time: rec.time,
    actor: rec.actor,
    action: rec.action,
    subject: rec.subject,
    details: rec.details,
  });
  return createHash('sha256').update(Buffer.from(prevHash, 'hex')).update(body, 'utf8').digest('hex');
}

/** Appends one record inside `trx`; returns it with its hashes. */
export async function appendAudit(
  trx: Transaction<Database>,
  time: number,
  entry: AuditEntry,
): Promise<StoredAuditRecord> {
  const head = await trx
    .updateTable('audit_head')
    .set({ seq: sql`seq + 1` })
    .where('id', '=', 1)
    .returning(['seq', 'hash'])
    .executeTakeFirstOrThrow();
  const rec: AuditRecord = { seq: Number(head.seq), time, ...entry };
  const hash = auditHash(head.hash, rec);
  await trx.updateTable('audit_head').set({ hash }).where('id', '=', 1).execute();
  await trx
    .insertInto('audit_log')
    .values({
      seq: rec.seq,
      time,
      actor: entry.actor,
      action: entry.action,
      subject: entry.subject,
      details: canonicalJson(entry.details),
      prev_hash: head.hash,
      hash,
    })
    .execute();
  return { ...rec, prevHash: head.hash, hash };
}

/** Checks a run of records from the start of the chain; returns the first bad seq or undefined. */
export function verifyAuditChain(records: readonly StoredAuditRecord[]): number | undefined {
  let prev = GENESIS_HASH;
  let seq = 1;
  for (const r of records) {
    if (r.seq !== seq || r.prevHash !== prev || auditHash(prev, r) !== r.hash) return r.seq;
    prev = r.hash;
    seq++;
  }
  return undefined;
}
