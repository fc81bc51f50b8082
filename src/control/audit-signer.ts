// The coordinator's audit checkpoint signer (DESIGN.md I8 and "Audit anchoring"): the dedicated
// Ed25519 audit key (DIR/audit.key, keys.ts) signs the chain head — but only a head that extends
// the last one it signed. That last checkpoint, its anchor, lives in DIR/audit-anchor.json
// (audit-anchor.ts), outside the database. The store calls `sign` in the transaction of every
// `every`-th record and at export, passing the records from the anchor's seq to the head as the
// transaction sees them; `committed` runs after that transaction commits, advances the anchor and
// publishes the checkpoint (the coordinator pushes it to every connector).
//
//   signing ──(chain does not extend the anchor)──► halted: AUDIT_REWRITE logged at fatal level,
//                                                  counted, /health 503, every later sign refused
//
// Halted is left only by an operator: restore the database (the anchored record is back), or
// move DIR/audit-anchor.json away deliberately and restart (the head is then trusted on first use).
// Refusing withholds the checkpoint only: the record's change is still written (see
// docs/security-model.md, "Audit anchoring", for why writes do not fail).
import { join } from 'node:path';
import { extensionProblem, signCheckpoint, type AuditRecord, type Checkpoint } from '../audit/index.ts';
import type { Clock } from '../clock/index.ts';
import type { SigningKey } from '../crypto/index.ts';
import type { AuditSigner } from '../store/index.ts';
import { ANCHOR_FILE, readAnchor, writeAnchor } from './audit-anchor.ts';
import { ControlError } from './errors.ts';
import type { Logger } from './logger.ts';
import type { ControlMetrics } from './metrics.ts';

/** Records between two periodic checkpoints, unless --audit-checkpoint-every says otherwise. */
export const DEFAULT_CHECKPOINT_EVERY = 100;

export interface AuditSignerOptions {
  /** Where the anchor file lives (the coordinator's data dir). Omitted: the anchor is kept in memory only. */
  dataDir?: string;
  logger?: Logger;
  metrics?: Pick<ControlMetrics, 'auditCheckpoints' | 'auditRewrites' | 'auditSignerHalted'>;
}

/** The signer's state, for /health and status. */
export interface AuditSignerState {
  signer: 'ok' | 'halted';
  /** The seq of the last checkpoint signed (the anchor); 0 before the first. */
  anchorSeq: number;
  /** Why signing stopped, when halted. */
  reason?: string;
}

export interface CoordinatorAuditSigner extends AuditSigner {
  state(): AuditSignerState;
  /** The last checkpoint signed (what a connector is sent when it connects). */
  latest(): Checkpoint | undefined;
  /** Calls `fn` with every checkpoint once its transaction committed. */
  onCheckpoint(fn: (cp: Checkpoint) => void): void;
}

export function createAuditSigner(
  key: SigningKey,
  clock: Clock,
  every = DEFAULT_CHECKPOINT_EVERY,
  opts: AuditSignerOptions = {},
): CoordinatorAuditSigner {
  if (!Number.isSafeInteger(every) || every < 1)
    throw new ControlError('CONFIG', `audit checkpoint interval ${every} is not a positive integer`);
  const file = opts.dataDir === undefined ? undefined : join(opts.dataDir, ANCHOR_FILE);
  let anchor = file === undefined ? undefined : readAnchor(file, key.verifyKey);
  let halted: string | undefined;
  const listeners: ((cp: Checkpoint) => void)[] = [];
  const m = opts.metrics;
  m?.auditSignerHalted.set(0);

  const halt = (problem: string, head: { seq: number; hash: string }) => {
    m?.auditRewrites.inc();
    if (halted === undefined) m?.auditSignerHalted.set(1);
    halted ??= problem;
    opts.logger?.fatal(
      { code: 'AUDIT_REWRITE', anchorSeq: anchor?.seq, headSeq: head.seq, problem },
      'AUDIT_REWRITE: the audit log in the database does not extend the last checkpoint this coordinator signed; ' +
        'checkpoints are withheld until an operator restores the database or deliberately resets the anchor',
    );
  };

  return {
    publicKey: key.verifyKey.base64(),
    every,
    anchor: () => anchor && { seq: anchor.seq, hash: anchor.hash },
    check(head, chain) {
      if (!anchor) return true;
      const problem = extensionProblem(anchor, head, chain ?? []);
      if (problem) halt(problem, head);
      return problem === undefined;
    },
    sign(head: { seq: number; hash: string }, chain?: readonly AuditRecord[]): Checkpoint | undefined {
      if (halted !== undefined) {
        m?.auditCheckpoints.inc({ result: 'refused' });
        opts.logger?.error(
          { code: 'AUDIT_REWRITE', headSeq: head.seq, reason: halted },
          'AUDIT_REWRITE: checkpoint refused: the signer is halted',
        );
        return undefined;
      }
      if (anchor) {
        const problem = extensionProblem(anchor, head, chain ?? []);
        if (problem) {
          halt(problem, head);
          m?.auditCheckpoints.inc({ result: 'refused' });
          return undefined;
        }
      } else if (file !== undefined)
        opts.logger?.warn(
          { seq: head.seq },
          `no audit anchor yet (${ANCHOR_FILE}): trusting the database's audit head on first use`,
        );
      m?.auditCheckpoints.inc({ result: 'signed' });
      return signCheckpoint(head, key, Math.floor(clock.wallMs()));
    },
    committed(cp: Checkpoint) {
      if (anchor && cp.seq <= anchor.seq) return;
      try {
        if (file !== undefined) writeAnchor(file, cp);
      } catch (err) {
        // The file keeps the older anchor: still a head this chain extends, so nothing is lost
        // but the reach of the check after a restart.
        opts.logger?.error({ err, seq: cp.seq }, `could not write the audit anchor ${ANCHOR_FILE}`);
      }
      anchor = cp;
      for (const fn of listeners)
        try {
          fn(cp);
        } catch (err) {
          // The change is committed; a failed push must not report it as failed.
          opts.logger?.error({ err, seq: cp.seq }, 'audit checkpoint could not be published');
        }
    },
    state: () => ({
      signer: halted === undefined ? 'ok' : 'halted',
      anchorSeq: anchor?.seq ?? 0,
      ...(halted !== undefined ? { reason: halted } : {}),
    }),
    latest: () => anchor,
    onCheckpoint: (fn) => void listeners.push(fn),
  };
}
