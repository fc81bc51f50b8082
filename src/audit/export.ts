// The export format: JSON Lines, UTF-8, one canonical JSON object per line, '\n' after each.
//
//   line 1     {"exportedAt":MS,"format":"sallyport-audit-export","keys":[{"keyId":ID,"publicKey":B64}…],
//               "type":"header","version":1}
//   then       {"action":…,"actor":…,"details":{…},"hash":H,"prevHash":H,"seq":N,"subject":…,"time":MS,
//               "type":"record"}                     every record from seq 1, in seq order
//   and        {"hash":H,"keyId":ID,"seq":N,"signature":B64,"time":MS,"type":"checkpoint"}
//   or, in a scoped export (a customer's), for a record outside the scope:
//              {"hash":H,"prevHash":H,"seq":N,"type":"elided"}
//              its place in the chain without its contents: the chain and the checkpoints still
//              verify across it, and every record shown is checked in full
//
// Checkpoints are interleaved: the writer puts each checkpoint on the line right after the record
// it covers, and any checkpoint whose record is not in the export (the store lost its tail) at the
// end. A reader accepts a checkpoint line anywhere after the header. An export always starts at
// seq 1: a suffix could not prove what came before it. `keys` lists the public keys that signed
// the checkpoints, for convenience only: a verifier trusts the keys it is given, not these.
// Lines carry no member beyond those shown, so nothing unhashed can ride along in a record.
import { VerifyKey } from '../crypto/index.ts';
import { canonicalize } from './canonical.ts';
import { checkpointProblem, keyIdOf, type Checkpoint } from './checkpoint.ts';
import { AuditError } from './errors.ts';
import { recordProblem, type AuditRecord } from './record.ts';

export const EXPORT_FORMAT = 'sallyport-audit-export';
export const EXPORT_VERSION = 1;
/** Longest line a reader accepts (UTF-16 code units). */
export const MAX_LINE_LENGTH = 256 * 1024;
/** Most keys a header may list. */
export const MAX_HEADER_KEYS = 16;

export interface ExportHeader {
  exportedAt: number;
  keys: { keyId: string; publicKey: string }[];
}

export interface ExportInput {
  /** Every record from seq 1, in order. */
  records: Iterable<AuditRecord>;
  /** Every checkpoint, any order. */
  checkpoints: Iterable<Checkpoint>;
  /** The public keys that signed the checkpoints. */
  keys: readonly VerifyKey[];
  /** A scoped export: records for which this is false are written as elided lines. */
  shown?: (r: AuditRecord) => boolean;
  /** Wall clock, epoch ms. */
  exportedAt: number;
  /**
   * Write a record that fails validation as it is (plain JSON) instead of throwing, so that the
   * verifier names it. For exporting a store that may hold bad records: the export must not be
   * something a bad record can prevent. Default false.
   */
  lenient?: boolean;
}

/** The lines of an export (without newlines), header first; throws AuditError on an invalid input. */
export function* exportLines(input: ExportInput): Generator<string> {
  yield canonicalize({
    type: 'header',
    format: EXPORT_FORMAT,
    version: EXPORT_VERSION,
    exportedAt: input.exportedAt,
    keys: input.keys.map((k) => ({ keyId: keyIdOf(k), publicKey: k.base64() })),
  });
  const bySeq = new Map<number, Checkpoint[]>();
  for (const cp of input.checkpoints) {
    const problem = checkpointProblem(cp);
    if (problem && !input.lenient) throw new AuditError('CHECKPOINT_INVALID', problem);
    bySeq.set(cp.seq, [...(bySeq.get(cp.seq) ?? []), cp]);
  }
  for (const r of input.records) {
    const problem = recordProblem(r);
    if (problem && !input.lenient) throw new AuditError('RECORD_INVALID', `seq ${r.seq}: ${problem}`);
    yield problem ? rawRecordLine(r) : input.shown && !input.shown(r) ? elidedLine(r) : recordLine(r);
    for (const cp of bySeq.get(r.seq) ?? []) yield checkpointLine(cp);
    bySeq.delete(r.seq);
  }
  for (const seq of [...bySeq.keys()].sort((a, b) => a - b))
    for (const cp of bySeq.get(seq)!) yield checkpointLine(cp);
}

/** The whole export as text, each line ending in '\n'. */
export function writeExport(input: ExportInput): string {
  let out = '';
  for (const line of exportLines(input)) out += line + '\n';
  return out;
}

export function recordLine(r: AuditRecord): string {
  const { seq, time, actor, action, subject, details, prevHash, hash } = r;
  return canonicalize({ type: 'record', seq, time, actor, action, subject, details, prevHash, hash });
}

export function elidedLine(r: AuditRecord): string {
  return canonicalize({ type: 'elided', seq: r.seq, prevHash: r.prevHash, hash: r.hash });
}

function rawRecordLine(r: AuditRecord): string {
  const { seq, time, actor, action, subject, details, prevHash, hash } = r;
  try {
    return JSON.stringify({ type: 'record', seq, time, actor, action, subject, details, prevHash, hash });
  } catch {
    return JSON.stringify({ type: 'record', seq, unreadable: true });
  }
}

export function checkpointLine(cp: Checkpoint): string {
  const { seq, hash, time, keyId, signature } = cp;
  const line = { type: 'checkpoint', seq, hash, time, keyId, signature };
  return checkpointProblem(cp) ? JSON.stringify(line) : canonicalize(line);
}

/** One line read back. */
export type ParsedLine =
  | { kind: 'header'; header: ExportHeader; keys: Map<string, VerifyKey> }
  | { kind: 'record'; record: AuditRecord }
  | { kind: 'checkpoint'; checkpoint: Checkpoint }
  | { kind: 'elided'; seq: number; prevHash: string; hash: string }
  | { kind: 'malformed'; problem: string; seq?: number };

const RECORD_KEYS = ['action', 'actor', 'details', 'hash', 'prevHash', 'seq', 'subject', 'time', 'type'];
const CHECKPOINT_KEYS = ['hash', 'keyId', 'seq', 'signature', 'time', 'type'];
const HEADER_KEYS = ['exportedAt', 'format', 'keys', 'type', 'version'];
const ELIDED_KEYS = ['hash', 'prevHash', 'seq', 'type'];
const HEX64 = /^[0-9a-f]{64}$/;

/** Reads one line; never throws. */
export function parseLine(line: string): ParsedLine {
  if (line.length > MAX_LINE_LENGTH) return bad(`line longer than ${MAX_LINE_LENGTH} characters`);
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return bad('not JSON');
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return bad('not a JSON object');
  const o = v as Record<string, unknown>;
  const seq = Number.isSafeInteger(o.seq) ? (o.seq as number) : undefined;
  const exactKeys = (want: string[]) => {
    const have = Object.keys(o).sort();
    return have.length === want.length && have.every((k, i) => k === want[i]);
  };
  switch (o.type) {
    case 'record': {
      if (!exactKeys(RECORD_KEYS))
        return bad(`a record has exactly the members ${RECORD_KEYS.join(', ')}`, seq);
      const record = o as unknown as AuditRecord & { type?: string };
      const r: AuditRecord = {
        seq: record.seq,
        time: record.time,
        actor: record.actor,
        action: record.action,
        subject: record.subject,
        details: record.details,
        prevHash: record.prevHash,
        hash: record.hash,
      };
      const problem = recordProblem(r);
      return problem ? bad(problem, seq) : { kind: 'record', record: r };
    }
    case 'checkpoint': {
      if (!exactKeys(CHECKPOINT_KEYS))
        return bad(`a checkpoint has exactly the members ${CHECKPOINT_KEYS.join(', ')}`, seq);
      const c = o as unknown as Checkpoint;
      const cp: Checkpoint = {
        seq: c.seq,
        hash: c.hash,
        time: c.time,
        keyId: c.keyId,
        signature: c.signature,
      };
      const problem = checkpointProblem(cp);
      return problem ? bad(problem, seq) : { kind: 'checkpoint', checkpoint: cp };
    }
    case 'header':
      return parseHeader(o, exactKeys(HEADER_KEYS));
    case 'elided': {
      if (!exactKeys(ELIDED_KEYS))
        return bad(`an elided record has exactly the members ${ELIDED_KEYS.join(', ')}`, seq);
      if (seq === undefined || seq < 1) return bad('an elided record needs a positive seq');
      if (
        typeof o.hash !== 'string' ||
        !HEX64.test(o.hash) ||
        typeof o.prevHash !== 'string' ||
        !HEX64.test(o.prevHash)
      )
        return bad('hash and prevHash are 64 lower-case hex digits', seq);
      return { kind: 'elided', seq, prevHash: o.prevHash, hash: o.hash };
    }
    default:
      return bad('type must be header, record, elided or checkpoint', seq);
  }
}

function parseHeader(o: Record<string, unknown>, exact: boolean): ParsedLine {
  if (!exact) return bad(`a header has exactly the members ${HEADER_KEYS.join(', ')}`);
  if (o.format !== EXPORT_FORMAT) return bad(`format must be ${EXPORT_FORMAT}`);
  if (o.version !== EXPORT_VERSION) return bad(`unsupported export version ${String(o.version)}`);
  if (!Number.isSafeInteger(o.exportedAt) || (o.exportedAt as number) < 0)
    return bad('exportedAt must be a non-negative integer');
  if (!Array.isArray(o.keys) || o.keys.length > MAX_HEADER_KEYS)
    return bad(`keys must be a list of at most ${MAX_HEADER_KEYS}`);
  const keys = new Map<string, VerifyKey>();
  for (const k of o.keys as unknown[]) {
    const e = k as { keyId?: unknown; publicKey?: unknown } | null;
    if (e === null || typeof e !== 'object' || typeof e.publicKey !== 'string' || typeof e.keyId !== 'string')
      return bad('each key is { keyId, publicKey }');
    let key: VerifyKey;
    try {
      key = VerifyKey.fromBase64(e.publicKey);
    } catch {
      return bad('a header key is not an Ed25519 public key in standard base64');
    }
    if (keyIdOf(key) !== e.keyId) return bad(`header keyId ${e.keyId} does not match its public key`);
    keys.set(e.keyId, key);
  }
  const header: ExportHeader = {
    exportedAt: o.exportedAt as number,
    keys: [...keys].map(([keyId, k]) => ({ keyId, publicKey: k.base64() })),
  };
  return { kind: 'header', header, keys };
}

function bad(problem: string, seq?: number): ParsedLine {
  return seq === undefined ? { kind: 'malformed', problem } : { kind: 'malformed', problem, seq };
}
