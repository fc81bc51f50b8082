// The signer's anchor: the last checkpoint this coordinator signed, kept in its data directory
// (DIR/audit-anchor.json, 0600), outside the database, so that whoever can write the database but
// not this directory cannot make the signer forget what it signed. Written atomically: a temporary
// file, fsync, rename, fsync of the directory.
//
//   {"checkpoint":{"hash":H,"keyId":ID,"seq":N,"signature":B64,"time":MS},"version":1}
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  canonicalize,
  checkpointProblem,
  checkpointSignatureValid,
  type Checkpoint,
} from '../audit/index.ts';
import type { VerifyKey } from '../crypto/index.ts';
import { ControlError } from './errors.ts';

export const ANCHOR_FILE = 'audit-anchor.json';

/** The anchor in `file`, or undefined when there is none yet; refuses a file it cannot trust. */
export function readAnchor(file: string, key: VerifyKey): Checkpoint | undefined {
  if (!existsSync(file)) return undefined;
  const fix = `move it away only if you mean the coordinator to trust the database's current audit head (docs/security-model.md, "Audit anchoring")`;
  let cp: Checkpoint;
  try {
    const o = JSON.parse(readFileSync(file, 'utf8')) as { version?: unknown; checkpoint?: Checkpoint };
    if (o.version !== 1 || typeof o.checkpoint !== 'object' || o.checkpoint === null)
      throw new Error('not a version 1 anchor');
    const { seq, hash, time, keyId, signature } = o.checkpoint;
    cp = { seq, hash, time, keyId, signature };
  } catch (cause) {
    throw new ControlError(
      'CONFIG',
      `cannot read the audit anchor ${file}: ${(cause as Error).message}; ${fix}`,
      {
        cause,
      },
    );
  }
  const problem = checkpointProblem(cp);
  if (problem) throw new ControlError('CONFIG', `audit anchor ${file}: ${problem}; ${fix}`);
  if (!checkpointSignatureValid(cp, key))
    throw new ControlError(
      'CONFIG',
      `audit anchor ${file} is not signed by this coordinator's audit key; ${fix}`,
    );
  return cp;
}

/** Replaces the anchor atomically and durably. */
export function writeAnchor(file: string, cp: Checkpoint): void {
  const { seq, hash, time, keyId, signature } = cp;
  const text = canonicalize({ version: 1, checkpoint: { seq, hash, time, keyId, signature } }) + '\n';
  const tmp = `${file}.tmp`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
  const dir = openSync(dirname(file), 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}
