// Test helpers: deterministic chains, exports, and line-level tampering. Tests only.
import { SigningKey } from '../crypto/index.ts';
import { signCheckpoint, type Checkpoint } from './checkpoint.ts';
import { writeExport } from './export.ts';
import { appendRecord, hashRecord, type AuditRecord } from './record.ts';

export const T0 = Date.UTC(2026, 10, 28, 12, 0, 0);

export function fixedKey(n: number): SigningKey {
  return SigningKey.fromSeed(new Uint8Array(32).fill(n));
}

const ACTIONS = ['request.create', 'request.approve', 'grant.create', 'grant.revoke', 'node.enroll'];

/** A chain of `n` plausible records. */
export function chain(n: number, salt = 0): AuditRecord[] {
  const out: AuditRecord[] = [];
  for (let i = 0; i < n; i++)
    out.push(
      appendRecord(out.at(-1), {
        time: T0 + i * 1000 + salt,
        actor: `user:u${(i * 7 + salt) % 5}`,
        action: ACTIONS[(i + salt) % ACTIONS.length],
        subject: `grant:g${i}`,
        details: { i, reason: `ticket ${salt}-${i}`, services: ['k8s', 'ch'].slice(0, (i % 2) + 1) },
      }),
    );
  return out;
}

/** Checkpoints every `every` records and at the head, signed by `key`. */
export function checkpoints(records: AuditRecord[], key: SigningKey, every: number): Checkpoint[] {
  const out: Checkpoint[] = [];
  records.forEach((r, i) => {
    if ((i + 1) % every === 0 || i === records.length - 1) out.push(signCheckpoint(r, key, r.time + 1));
  });
  return out;
}

/** An export of a fresh chain as lines (header first, no trailing newline). */
export function exportOf(records: AuditRecord[], key: SigningKey, every: number): string[] {
  const text = writeExport({
    records,
    checkpoints: checkpoints(records, key, every),
    keys: [key.verifyKey],
    exportedAt: T0 + 10_000_000,
  });
  return text.split('\n').slice(0, -1);
}

type Obj = Record<string, unknown>;
const parse = (l: string) => JSON.parse(l) as Obj;

/** Index (into lines) of the record line with this seq. */
export function recordAt(lines: string[], seq: number): number {
  const i = lines.findIndex((l) => {
    const o = parse(l);
    return o.type === 'record' && o.seq === seq;
  });
  if (i < 0) throw new Error(`no record ${seq}`);
  return i;
}

/** Rewrites the record line with this seq; `rehash` recomputes its hash from its own prevHash. */
export function editRecord(lines: string[], seq: number, edit: (r: Obj) => void, rehash = false): string[] {
  const out = [...lines];
  const i = recordAt(out, seq);
  const r = parse(out[i]);
  edit(r);
  if (rehash) r.hash = hashRecord(r.prevHash as string, r as unknown as AuditRecord);
  out[i] = JSON.stringify(r);
  return out;
}

/** The hash a record line would have (for forging). */
export function rehashed(r: Obj): string {
  return hashRecord(r.prevHash as string, r as unknown as AuditRecord);
}

export { parse as parseLineObject };
