// The coordinator's audit checkpoint signer (DESIGN.md I8): the dedicated Ed25519 audit key
// (DIR/audit.key, keys.ts) signs the chain head. The store calls it in the transaction of every
// `every`-th record (so no crash can leave a due checkpoint unwritten), and the API asks for the
// head to be signed when an export is taken (GET /api/v1/audit/checkpoints).
import { signCheckpoint, type Checkpoint } from '../audit/index.ts';
import type { Clock } from '../clock/index.ts';
import type { SigningKey } from '../crypto/index.ts';
import type { AuditSigner } from '../store/index.ts';
import { ControlError } from './errors.ts';

/** Records between two periodic checkpoints, unless --audit-checkpoint-every says otherwise. */
export const DEFAULT_CHECKPOINT_EVERY = 100;

export function createAuditSigner(
  key: SigningKey,
  clock: Clock,
  every = DEFAULT_CHECKPOINT_EVERY,
): AuditSigner {
  if (!Number.isSafeInteger(every) || every < 1)
    throw new ControlError('CONFIG', `audit checkpoint interval ${every} is not a positive integer`);
  return {
    publicKey: key.verifyKey.base64(),
    every,
    sign: (head: { seq: number; hash: string }): Checkpoint =>
      signCheckpoint(head, key, Math.floor(clock.wallMs())),
  };
}
