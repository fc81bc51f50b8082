// Audit records and the hash chain (DESIGN.md §5 "Audit", I8):
//
//   body   = { seq, time, actor, action, subject, details }
//   hash_n = SHA-256( prev_hash_n (32 raw bytes) ‖ UTF-8( JCS(body_n) ) )      (RFC 8785, canonical.ts)
//   prev_hash_1 = 32 zero bytes;  prev_hash_n = hash_(n-1);  seq_n = n (1, 2, 3, … with no gap)
//
// Hashes travel as 64 lower-case hex digits. `time` is the wall clock in integer epoch
// milliseconds (what the store writes; a number hashes the same everywhere, an ISO string would
// invite two spellings of one instant). `details` is a JSON object. The body names its fields
// explicitly, so `prevHash` and `hash` are never inside what they hash.
// This is exactly the chain src/store writes today (store/audit.ts `auditHash`).
import { createHash } from 'node:crypto';
import { AuditError } from './errors.ts';
import { canonicalize, isCanonicalizable } from './canonical.ts';

/** The prev_hash of record 1: 32 zero bytes, in hex. */
export const GENESIS_PREV_HASH = '0'.repeat(64);

/** Longest actor, action or subject (UTF-16 code units). */
export const MAX_FIELD_LENGTH = 1024;
/** Longest canonical `details` (UTF-16 code units). */
export const MAX_DETAILS_LENGTH = 64 * 1024;

const HEX64 = /^[0-9a-f]{64}$/;

/** What a caller supplies for one record. */
export interface AuditFields {
  /** Wall clock, integer epoch milliseconds. */
  time: number;
  /** Who: `user:alice`, `node:<key>`, `system`. */
  actor: string;
  /** What: `grant.create`, `request.approve`, … */
  action: string;
  /** On what: `grant:<id>`, `deployment:acme-prod`, … */
  subject: string;
  /** A JSON object (canonicalizable: no undefined members, no NaN). */
  details: Record<string, unknown>;
}

/** The hashed part of a record. */
export interface AuditBody extends AuditFields {
  seq: number;
}

export interface AuditRecord extends AuditBody {
  prevHash: string;
  hash: string;
}

/** The canonical JSON that a record's hash covers. */
export function recordBody(r: AuditBody): string {
  return canonicalize({
    seq: r.seq,
    time: r.time,
    actor: r.actor,
    action: r.action,
    subject: r.subject,
    details: r.details,
  });
}

/** hash = SHA-256(prevHash bytes ‖ JCS(body)), as hex. Throws AuditError on a bad prevHash or body. */
export function hashRecord(prevHash: string, r: AuditBody): string {
  if (!HEX64.test(prevHash))
    throw new AuditError('RECORD_INVALID', 'prevHash must be 64 lower-case hex digits');
  return createHash('sha256')
    .update(Buffer.from(prevHash, 'hex'))
    .update(recordBody(r), 'utf8')
    .digest('hex');
}

/** The record after `prev` (or the first, when `prev` is undefined), with seq, prevHash and hash. */
export function appendRecord(prev: AuditRecord | undefined, fields: AuditFields): AuditRecord {
  const problem = fieldsProblem(fields);
  if (problem) throw new AuditError('RECORD_INVALID', problem);
  if (prev !== undefined && (!Number.isSafeInteger(prev.seq) || prev.seq < 1 || !HEX64.test(prev.hash)))
    throw new AuditError('RECORD_INVALID', 'prev is not a chained record');
  const body: AuditBody = {
    seq: prev ? prev.seq + 1 : 1,
    time: fields.time,
    actor: fields.actor,
    action: fields.action,
    subject: fields.subject,
    details: fields.details,
  };
  const prevHash = prev ? prev.hash : GENESIS_PREV_HASH;
  return { ...body, prevHash, hash: hashRecord(prevHash, body) };
}

/** Why `f` cannot be a record's fields, or undefined when it can. Never throws. */
export function fieldsProblem(f: AuditFields): string | undefined {
  if (!Number.isSafeInteger(f.time) || f.time < 0) return 'time must be a non-negative integer (epoch ms)';
  for (const k of ['actor', 'action', 'subject'] as const) {
    const v = f[k];
    if (typeof v !== 'string' || v.length === 0 || v.length > MAX_FIELD_LENGTH)
      return `${k} must be a string of 1..${MAX_FIELD_LENGTH} characters`;
    if (!isCanonicalizable(v)) return `${k} is not valid Unicode (a lone surrogate)`;
  }
  const d = f.details as unknown;
  if (d === null || typeof d !== 'object' || Array.isArray(d)) return 'details must be a JSON object';
  try {
    canonicalize(d, { maxLength: MAX_DETAILS_LENGTH });
  } catch (e) {
    return `details: ${(e as Error).message}`;
  }
  return undefined;
}

/** Why `r` is not a well-formed record (shape only, not its hash), or undefined. Never throws. */
export function recordProblem(r: AuditRecord): string | undefined {
  if (!Number.isSafeInteger(r.seq) || r.seq < 1) return 'seq must be a positive integer';
  if (typeof r.prevHash !== 'string' || !HEX64.test(r.prevHash))
    return 'prevHash must be 64 lower-case hex digits';
  if (typeof r.hash !== 'string' || !HEX64.test(r.hash)) return 'hash must be 64 lower-case hex digits';
  return fieldsProblem(r);
}

export const isHash = (s: unknown): s is string => typeof s === 'string' && HEX64.test(s);
