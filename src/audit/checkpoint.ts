// Signed checkpoints: the coordinator's Ed25519 key vouching for the chain head at one seq.
//
//   body      = { seq, hash, time, keyId }          hash: the record hash at `seq`; time: epoch ms
//   message   = UTF-8("sallyport audit checkpoint v1") ‖ UTF-8(JCS(body))
//   signature = Ed25519(message), standard base64 (64 bytes)
//   keyId     = hex of the first 8 bytes of SHA-256(raw 32-byte public key)
//
// The context string is fixed, and canonical JSON starts with '{', so the message splits one way
// only; no other sallyport signature (relay tokens, …) starts with this context, so a checkpoint
// signature cannot be replayed as anything else, nor anything else as a checkpoint.
// A checkpoint at seq n covers records 1..n: the hash at n commits to every earlier record.
import { createHash } from 'node:crypto';
import { SIGNATURE_LEN, type SigningKey, type VerifyKey } from '../crypto/index.ts';
import { AuditError } from './errors.ts';
import { canonicalize } from './canonical.ts';
import { isHash } from './record.ts';

export const CHECKPOINT_CONTEXT = 'sallyport audit checkpoint v1';

export interface CheckpointBody {
  seq: number;
  hash: string;
  time: number;
  keyId: string;
}

export interface Checkpoint extends CheckpointBody {
  signature: string;
}

const KEY_ID = /^[0-9a-f]{16}$/;

/** The short id naming a checkpoint key: hex of SHA-256(public key)[0..8]. */
export function keyIdOf(key: VerifyKey): string {
  return createHash('sha256').update(key.bytes).digest('hex').slice(0, 16);
}

/** The exact bytes a checkpoint signature covers. */
export function checkpointMessage(b: CheckpointBody): Uint8Array {
  const body = canonicalize({ seq: b.seq, hash: b.hash, time: b.time, keyId: b.keyId });
  return new Uint8Array(Buffer.from(CHECKPOINT_CONTEXT + body, 'utf8'));
}

/** Signs the chain head `at` (a record's seq and hash) at wall time `time` (epoch ms). */
export function signCheckpoint(at: { seq: number; hash: string }, key: SigningKey, time: number): Checkpoint {
  const body: CheckpointBody = { seq: at.seq, hash: at.hash, time, keyId: keyIdOf(key.verifyKey) };
  const problem = checkpointBodyProblem(body);
  if (problem) throw new AuditError('CHECKPOINT_INVALID', problem);
  const signature = Buffer.from(key.sign(checkpointMessage(body))).toString('base64');
  return { ...body, signature };
}

/** True when `cp` is signed by `key` and names it; never throws. */
export function checkpointSignatureValid(cp: Checkpoint, key: VerifyKey): boolean {
  if (checkpointProblem(cp) || cp.keyId !== keyIdOf(key)) return false;
  const sig = Buffer.from(cp.signature, 'base64');
  return sig.length === SIGNATURE_LEN && key.verify(checkpointMessage(cp), sig);
}

/** Why `cp` is not a well-formed checkpoint (shape only), or undefined. Never throws. */
export function checkpointProblem(cp: Checkpoint): string | undefined {
  const p = checkpointBodyProblem(cp);
  if (p) return p;
  const s = cp.signature as unknown;
  if (typeof s !== 'string' || s.length !== 88 || Buffer.from(s, 'base64').toString('base64') !== s)
    return 'signature must be 64 bytes in standard base64';
  return undefined;
}

function checkpointBodyProblem(b: CheckpointBody): string | undefined {
  if (!Number.isSafeInteger(b.seq) || b.seq < 1) return 'checkpoint seq must be a positive integer';
  if (!isHash(b.hash)) return 'checkpoint hash must be 64 lower-case hex digits';
  if (!Number.isSafeInteger(b.time) || b.time < 0) return 'checkpoint time must be a non-negative integer';
  if (typeof b.keyId !== 'string' || !KEY_ID.test(b.keyId)) return 'checkpoint keyId must be 16 hex digits';
  return undefined;
}
