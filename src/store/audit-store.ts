// Reading the audit log and its signed checkpoints, and signing the head on demand (at export).
// Records are written only by `mutate` (base.ts → audit.ts), in the transaction of their change.
import type { Checkpoint } from '../audit/index.ts';
import { anchorChain, insertCheckpoint, type StoredAuditRecord } from './audit.ts';
import { GrantStore } from './grants.ts';

/** Most records one `listAudit` call returns. */
export const MAX_AUDIT_PAGE = 10_000;

export interface StoredCheckpoint extends Checkpoint {
  /** The signing key, standard base64. */
  publicKey: string;
}

export class AuditStore extends GrantStore {
  async listAudit(opts: { afterSeq?: number; limit?: number } = {}): Promise<StoredAuditRecord[]> {
    const rows = await this.db
      .selectFrom('audit_log')
      .selectAll()
      .where('seq', '>', opts.afterSeq ?? 0)
      .orderBy('seq')
      .limit(Math.min(opts.limit ?? 1000, MAX_AUDIT_PAGE))
      .execute();
    return rows.map((r) => ({
      seq: Number(r.seq),
      time: Number(r.time),
      actor: r.actor,
      action: r.action,
      subject: r.subject,
      details: JSON.parse(r.details) as Record<string, unknown>,
      prevHash: r.prev_hash,
      hash: r.hash,
    }));
  }

  /** The chain head: the last seq appended and its hash (seq 0 and the genesis hash when empty). */
  async auditHead(): Promise<{ seq: number; hash: string }> {
    const h = await this.db
      .selectFrom('audit_head')
      .select(['seq', 'hash'])
      .where('id', '=', 1)
      .executeTakeFirstOrThrow();
    return { seq: Number(h.seq), hash: h.hash };
  }

  /**
   * Checks, without signing, that the stored chain still extends the signer's anchor (the
   * coordinator does this at start); false when it does not (the signer raised its alarm).
   */
  async checkAuditAnchor(): Promise<boolean> {
    const signer = this.auditSigner;
    if (!signer?.check || !signer.anchor?.()) return true;
    return this.db.transaction().execute(async (trx) => {
      const head = await trx
        .selectFrom('audit_head')
        .select(['seq', 'hash'])
        .where('id', '=', 1)
        .executeTakeFirstOrThrow();
      const at = { seq: Number(head.seq), hash: head.hash };
      return signer.check!(at, await anchorChain(trx, signer, at.seq));
    });
  }

  /**
   * Signs the current head with the store's audit signer unless that key already signed it;
   * returns the head's checkpoint, or undefined when there is no signer, no record yet, or the
   * signer refused (the head does not extend its anchor).
   */
  async signAuditHead(): Promise<Checkpoint | undefined> {
    const signer = this.auditSigner;
    if (!signer) return undefined;
    const signed: Checkpoint[] = [];
    const out = await this.db.transaction().execute(async (trx) => {
      // Locks the head row (PostgreSQL) so that no append lands between reading and signing.
      const head = await trx
        .updateTable('audit_head')
        .set({ seq: (eb) => eb.ref('seq') })
        .where('id', '=', 1)
        .returning(['seq', 'hash'])
        .executeTakeFirstOrThrow();
      const seq = Number(head.seq);
      if (seq === 0) return undefined;
      const cp = signer.sign({ seq, hash: head.hash }, await anchorChain(trx, signer, seq));
      if (!cp) return undefined;
      await insertCheckpoint(trx, cp, signer);
      signed.push(cp);
      const row = await trx
        .selectFrom('audit_checkpoints')
        .selectAll()
        .where('seq', '=', seq)
        .where('key_id', '=', cp.keyId)
        .executeTakeFirstOrThrow();
      return toCheckpoint(row);
    });
    this.checkpointsCommitted(signed);
    return out;
  }

  /** Every stored checkpoint, by seq. */
  async listAuditCheckpoints(): Promise<StoredCheckpoint[]> {
    const rows = await this.db
      .selectFrom('audit_checkpoints')
      .selectAll()
      .orderBy('seq')
      .orderBy('key_id')
      .execute();
    return rows.map((r) => ({ ...toCheckpoint(r), publicKey: r.public_key }));
  }
}

function toCheckpoint(r: {
  seq: number;
  hash: string;
  time: number;
  key_id: string;
  signature: string;
}): Checkpoint {
  return { seq: Number(r.seq), hash: r.hash, time: Number(r.time), keyId: r.key_id, signature: r.signature };
}
