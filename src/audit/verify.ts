// Offline verification of an export (export.ts): the chain, then every checkpoint. Walks the lines
// in order and stops at the first fault, naming its line, its seq and a reason code:
//
//   MALFORMED                 line n is not a header/record/elided/checkpoint line of format v1
//   EDITED                    record k's hash does not match its contents (or its seq field changed)
//   BROKEN_LINK               record k's prevHash is not record k-1's hash: k, or k-1 rehashed after
//                             an edit, was altered (`fromSeq` = k-1)
//   REMOVED                   records k.. are missing (a gap in seq)
//   REORDERED                 record k appears, but later than where it belongs
//   INSERTED                  a second record claims seq k
//   UNTRUSTED_KEY             a checkpoint's key is not a trusted one
//   BAD_CHECKPOINT_SIGNATURE  a checkpoint's signature does not verify
//   CHECKPOINT_MISMATCH       a validly signed checkpoint at k names another hash: some record in
//                             (previous checkpoint, k] was altered and the chain rehashed after it
//   TRUNCATED                 a signed checkpoint names seq k beyond the last record, or the export
//                             ends before `expectSeq`: records from k on were cut
//   UNSIGNED                  only with `requireSigned`: records after the last checkpoint
//   BAD_ANCHOR                an anchor (a checkpoint the customer kept, `anchors`) is not validly
//                             signed by a trusted key; `anchorLine` names its line
//   ANCHOR_MISMATCH           the record at an anchored seq k has another hash than the anchor: the
//                             chain was rewritten in (last agreeing anchor or checkpoint, k]; `seq`
//                             is k, `fromSeq` the first seq after the last agreeing one
//   (TRUNCATED also when an anchor names a seq beyond the export's last record)
//
// What an export alone cannot show: a cut of the tail together with every checkpoint after it
// looks like an export taken earlier. The report's `signedThrough` and `lastSeq` say how far the
// signatures and the chain reach; a caller that knows the real head passes `expectSeq`.
// Never throws: malformed input is a MALFORMED failure.
import type { VerifyKey } from '../crypto/index.ts';
import type { AnchorLine } from './anchor.ts';
import { checkpointSignatureValid, keyIdOf, type Checkpoint } from './checkpoint.ts';
import { MAX_LINE_LENGTH, parseLine, type ParsedLine } from './export.ts';
import { GENESIS_PREV_HASH, hashRecord, recordProblem, type AuditRecord } from './record.ts';

export type VerifyCode =
  | 'MALFORMED'
  | 'EDITED'
  | 'BROKEN_LINK'
  | 'REMOVED'
  | 'REORDERED'
  | 'INSERTED'
  | 'UNTRUSTED_KEY'
  | 'BAD_CHECKPOINT_SIGNATURE'
  | 'CHECKPOINT_MISMATCH'
  | 'TRUNCATED'
  | 'UNSIGNED'
  | 'BAD_ANCHOR'
  | 'ANCHOR_MISMATCH';

export interface VerifyFailure {
  code: VerifyCode;
  /** 1-based line of the export (for verifyChain: 1-based position in the list). */
  line: number;
  /** The first bad seq, when there is one. */
  seq?: number;
  /** The earliest seq that may be the altered one, when that is before `seq`. */
  fromSeq?: number;
  /** For anchor failures: the 1-based line of the anchor in its own file. */
  anchorLine?: number;
  message: string;
}

export interface VerifyReport {
  ok: boolean;
  failure?: VerifyFailure;
  /** Records that passed every check (all of them when ok), elided ones included. */
  records: number;
  /** Of those, records whose contents a scoped export left out. */
  elided: number;
  /** Seq and hash of the last record that passed (0 and the genesis hash when none). */
  lastSeq: number;
  headHash: string;
  /** Checkpoints that passed. */
  checkpoints: number;
  /** Highest seq covered by a checkpoint that passed; 0 when none. */
  signedThrough: number;
  /** True when `trustedKeys` were given (else signatures were checked against the header's keys). */
  trusted: boolean;
  /** Ids of the keys that signed the checkpoints that passed. */
  keyIds: string[];
  /** Anchors given and matched (0 when none were given). */
  anchors: number;
  /** Highest seq an anchor that matched covers; 0 when none. */
  anchoredThrough: number;
  exportedAt?: number;
  /** What a passing report does not prove. */
  notes: string[];
}

export interface VerifyOptions {
  /** The keys to trust. Omitted: the header's keys (integrity against accidents only). */
  trustedKeys?: readonly VerifyKey[];
  /** The export must reach at least this seq (the head as known from a trusted source). */
  expectSeq?: number;
  /** Fail with UNSIGNED when records after the last checkpoint exist. */
  requireSigned?: boolean;
  /**
   * Checkpoints kept outside the vendor's database (the customer's anchors, anchor.ts): each must
   * be signed by a trusted key (or, without `trustedKeys`, a key the header lists) and agree with
   * the record at its seq, which must be in the export.
   */
  anchors?: readonly AnchorLine[];
}

/** Verifies an export given as text or as lines (without their newlines). Never throws. */
export function verifyExport(input: string | readonly string[], opts: VerifyOptions = {}): VerifyReport {
  const lines = typeof input === 'string' ? splitLines(input) : input;
  const first = lines.length ? safeParse(lines[0]) : undefined;
  const w = new Walker(opts);
  if (!first || first.kind !== 'header') {
    const problem = first?.kind === 'malformed' ? first.problem : 'the first line must be the header';
    return w.fail({ code: 'MALFORMED', line: 1, message: `line 1: ${problem}` });
  }
  w.headerKeys = first.keys;
  w.exportedAt = first.header.exportedAt;
  // Lines are parsed twice (a cheap pass for the seqs, then in full one at a time) so that memory
  // holds the text and one hash per record, not every parsed record.
  return w.run({
    size: lines.length - 1,
    line: (i) => i + 2,
    parsed: (i) => safeParse(lines[i + 1]),
    seq: (i) => claimedSeq(lines[i + 1]),
  });
}

/** Checks records from seq 1 (no checkpoints), e.g. as read from the store. Never throws. */
export function verifyChain(records: readonly AuditRecord[]): VerifyReport {
  return new Walker({}).run({
    size: records.length,
    line: (i) => i + 1,
    parsed: (i) => {
      const r = records[i];
      const problem = recordProblem(r);
      return problem ? { kind: 'malformed', problem } : { kind: 'record', record: r };
    },
    seq: (i) => (Number.isSafeInteger(records[i]?.seq) ? records[i].seq : undefined),
  });
}

/** The entries to walk: `size` of them, each with its line number, parsed form and claimed seq. */
interface Source {
  size: number;
  line(i: number): number;
  parsed(i: number): ParsedLine;
  /** The seq a record entry claims, without checking anything else; undefined for other lines. */
  seq(i: number): number | undefined;
}

class Walker {
  headerKeys = new Map<string, VerifyKey>();
  exportedAt: number | undefined;
  readonly #trusted: Map<string, VerifyKey> | undefined;
  readonly #opts: VerifyOptions;
  #expected = 1;
  #prevHash = GENESIS_PREV_HASH;
  readonly #hashes: string[] = [];
  readonly #pending = new Map<number, { cp: Checkpoint; line: number }[]>();
  readonly #cpSeqs: number[] = [];
  readonly #keyIds = new Set<string>();
  #signedThrough = 0;
  readonly #anchors = new Map<number, AnchorLine[]>();
  #anchorsMatched = 0;
  #elided = 0;
  #anchoredThrough = 0;

  constructor(opts: VerifyOptions) {
    this.#opts = opts;
    this.#trusted = opts.trustedKeys && new Map(opts.trustedKeys.map((k) => [keyIdOf(k), k]));
  }

  run(src: Source): VerifyReport {
    const bad = this.#loadAnchors();
    if (bad) return this.fail(bad);
    // Where each seq occurs, to tell a gap from a move or a duplicate.
    const count = new Map<number, number>();
    const lastAt = new Map<number, number>();
    for (let i = 0; i < src.size; i++) {
      const s = src.seq(i);
      if (s === undefined) continue;
      count.set(s, (count.get(s) ?? 0) + 1);
      lastAt.set(s, i);
    }
    for (let i = 0; i < src.size; i++) {
      const line = src.line(i);
      const p = src.parsed(i);
      let f: VerifyFailure | undefined;
      if (p.kind === 'malformed') {
        const at = p.seq === undefined ? '' : ` (seq ${p.seq})`;
        f = { code: 'MALFORMED', line, ...seqOf(p.seq), message: `line ${line}${at}: ${p.problem}` };
      } else if (p.kind === 'header')
        f = { code: 'MALFORMED', line, message: `line ${line}: a second header` };
      else if (p.kind === 'record') f = this.#record(p.record, line, i, count, lastAt);
      else if (p.kind === 'elided') f = this.#record(p, line, i, count, lastAt, p.hash);
      else f = this.#checkpoint(p.checkpoint, line);
      if (f) return this.fail(f);
    }
    const lastLine = src.size ? src.line(src.size - 1) + 1 : src.line(0);
    const lastSeq = this.#expected - 1;
    const beyond = [...this.#anchors.keys()].sort((a, b) => a - b)[0];
    if (beyond !== undefined)
      return this.fail({
        code: 'TRUNCATED',
        line: lastLine,
        seq: lastSeq + 1,
        anchorLine: this.#anchors.get(beyond)![0].line,
        message: `the customer's anchor covers seq ${beyond} but the export ends at seq ${lastSeq}: records from seq ${lastSeq + 1} were cut`,
      });
    const cut = [...this.#pending.keys()].sort((a, b) => a - b)[0];
    if (cut !== undefined) {
      const { line } = this.#pending.get(cut)![0];
      return this.fail({
        code: 'TRUNCATED',
        line,
        seq: lastSeq + 1,
        message: `a signed checkpoint covers seq ${cut} but the export ends at seq ${lastSeq}: records from seq ${lastSeq + 1} were cut`,
      });
    }
    const expect = this.#opts.expectSeq;
    if (expect !== undefined && lastSeq < expect)
      return this.fail({
        code: 'TRUNCATED',
        line: lastLine,
        seq: lastSeq + 1,
        message: `the export ends at seq ${lastSeq} but the log reached seq ${expect}: records from seq ${lastSeq + 1} are missing`,
      });
    if (this.#opts.requireSigned && this.#signedThrough < lastSeq)
      return this.fail({
        code: 'UNSIGNED',
        line: lastLine,
        seq: this.#signedThrough + 1,
        message: `no checkpoint covers records ${this.#signedThrough + 1}..${lastSeq}`,
      });
    return this.report(undefined);
  }

  /**
   * One record in its place; `elided` is the hash an elided line states (its contents are not in
   * the export: its place in the chain is checked, and the next record's link and the checkpoints
   * check its hash).
   */
  #record(
    r: Pick<AuditRecord, 'seq' | 'prevHash'> & Partial<AuditRecord>,
    line: number,
    i: number,
    count: Map<number, number>,
    lastAt: Map<number, number>,
    elided?: string,
  ): VerifyFailure | undefined {
    const k = this.#expected;
    if (r.seq !== k) {
      if (r.prevHash === this.#prevHash)
        return { code: 'EDITED', line, seq: k, message: `seq ${k}: its seq field was changed to ${r.seq}` };
      if (r.seq < k || (count.get(r.seq) ?? 0) > 1)
        return { code: 'INSERTED', line, seq: r.seq, message: `seq ${r.seq}: a second record with this seq` };
      if ((lastAt.get(k) ?? -1) > i)
        return { code: 'REORDERED', line, seq: k, message: `seq ${k}: it appears after seq ${r.seq}` };
      const gap = r.seq - 1 === k ? `seq ${k} is` : `seqs ${k}..${r.seq - 1} are`;
      return { code: 'REMOVED', line, seq: k, message: `${gap} missing (next is seq ${r.seq})` };
    }
    if (r.prevHash !== this.#prevHash)
      return {
        code: 'BROKEN_LINK',
        line,
        seq: k,
        ...(k > 1 ? { fromSeq: k - 1 } : {}),
        message:
          k > 1
            ? `seq ${k}: prevHash is not the hash of seq ${k - 1} (seq ${k} or seq ${k - 1} was altered)`
            : 'seq 1: prevHash is not the genesis hash (32 zero bytes)',
      };
    let hash: string;
    if (elided !== undefined) {
      hash = elided;
      this.#elided++;
    } else {
      try {
        hash = hashRecord(r.prevHash, r as AuditRecord);
      } catch (e) {
        return { code: 'MALFORMED', line, seq: k, message: `seq ${k}: ${(e as Error).message}` };
      }
      if (hash !== r.hash)
        return { code: 'EDITED', line, seq: k, message: `seq ${k}: its contents do not match its hash` };
    }
    this.#hashes.push(hash);
    this.#prevHash = hash;
    this.#expected++;
    for (const { cp, line: cpLine } of this.#pending.get(k) ?? []) {
      const f = this.#match(cp, cpLine);
      if (f) return f;
    }
    this.#pending.delete(k);
    for (const a of this.#anchors.get(k) ?? []) {
      if (a.checkpoint.hash !== hash) {
        const before = Math.max(
          0,
          ...this.#cpSeqs.filter((s) => s < k),
          this.#anchoredThrough < k ? this.#anchoredThrough : 0,
        );
        return {
          code: 'ANCHOR_MISMATCH',
          line,
          seq: k,
          fromSeq: before + 1,
          anchorLine: a.line,
          message:
            `seq ${k}: its hash is not the one the customer's anchor (line ${a.line}) was signed over: ` +
            `a record in seqs ${before + 1}..${k} was altered and the chain rehashed`,
        };
      }
      this.#anchorsMatched++;
      this.#anchoredThrough = k;
    }
    this.#anchors.delete(k);
    return undefined;
  }

  /** Checks every anchor's signature and files it by seq; the first bad one is a failure. */
  #loadAnchors(): VerifyFailure | undefined {
    for (const a of this.#opts.anchors ?? []) {
      const cp = a.checkpoint;
      const key = (this.#trusted ?? this.headerKeys).get(cp.keyId);
      if (!key || !checkpointSignatureValid(cp, key))
        return {
          code: 'BAD_ANCHOR',
          line: 1,
          anchorLine: a.line,
          ...(Number.isSafeInteger(cp.seq) ? { seq: cp.seq } : {}),
          message: key
            ? `the anchor at line ${a.line} does not carry a valid signature by key ${cp.keyId}`
            : `the anchor at line ${a.line} is signed by key ${String(cp.keyId)}, which is not ${this.#trusted ? 'a trusted key' : 'listed in the header'}`,
        };
      this.#anchors.set(cp.seq, [...(this.#anchors.get(cp.seq) ?? []), a]);
    }
    return undefined;
  }

  #checkpoint(cp: Checkpoint, line: number): VerifyFailure | undefined {
    const key = (this.#trusted ?? this.headerKeys).get(cp.keyId);
    if (!key)
      return {
        code: 'UNTRUSTED_KEY',
        line,
        seq: cp.seq,
        message: `checkpoint at seq ${cp.seq}: key ${cp.keyId} is not ${this.#trusted ? 'a trusted key' : 'listed in the header'}`,
      };
    if (!checkpointSignatureValid(cp, key))
      return {
        code: 'BAD_CHECKPOINT_SIGNATURE',
        line,
        seq: cp.seq,
        message: `checkpoint at seq ${cp.seq}: the signature by key ${cp.keyId} does not verify`,
      };
    if (cp.seq < this.#expected) return this.#match(cp, line);
    this.#pending.set(cp.seq, [...(this.#pending.get(cp.seq) ?? []), { cp, line }]);
    return undefined;
  }

  #match(cp: Checkpoint, line: number): VerifyFailure | undefined {
    if (this.#hashes[cp.seq - 1] !== cp.hash) {
      const before = Math.max(0, ...this.#cpSeqs.filter((s) => s < cp.seq));
      return {
        code: 'CHECKPOINT_MISMATCH',
        line,
        seq: cp.seq,
        fromSeq: before + 1,
        message: `checkpoint at seq ${cp.seq} signs another hash: a record in seqs ${before + 1}..${cp.seq} was altered and the chain rehashed`,
      };
    }
    this.#cpSeqs.push(cp.seq);
    this.#keyIds.add(cp.keyId);
    this.#signedThrough = Math.max(this.#signedThrough, cp.seq);
    return undefined;
  }

  fail(f: VerifyFailure): VerifyReport {
    return this.report(f);
  }

  report(failure: VerifyFailure | undefined): VerifyReport {
    const lastSeq = this.#expected - 1;
    const notes: string[] = [];
    if (!failure) {
      if (!this.#trusted)
        notes.push(
          'no trusted keys given: signatures were checked against the keys the export lists, which whoever wrote the file controls',
        );
      if (this.#signedThrough < lastSeq)
        notes.push(
          `records ${this.#signedThrough + 1}..${lastSeq} are hash-chained but no checkpoint covers them; ` +
            `a cut of the tail after seq ${this.#signedThrough} cannot be seen in the export alone ` +
            '(compare the last seq with the coordinator, or pass expectSeq)',
        );
      if (this.#elided)
        notes.push(
          `${this.#elided} records are elided (a scoped export): their place in the chain is proven, not their ` +
            'contents; an elided record cannot be told from one about you (compare with your notifications ' +
            "and your connector's local audit)",
        );
    }
    return {
      ok: failure === undefined,
      ...(failure ? { failure } : {}),
      records: this.#hashes.length,
      elided: this.#elided,
      lastSeq,
      headHash: this.#prevHash,
      checkpoints: this.#cpSeqs.length,
      signedThrough: this.#signedThrough,
      trusted: this.#trusted !== undefined,
      keyIds: [...this.#keyIds],
      anchors: this.#anchorsMatched,
      anchoredThrough: this.#anchoredThrough,
      ...(this.exportedAt !== undefined ? { exportedAt: this.exportedAt } : {}),
      notes,
    };
  }
}

function splitLines(text: string): string[] {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

function safeParse(text: unknown): ParsedLine {
  if (typeof text !== 'string') return { kind: 'malformed', problem: 'not a line of text' };
  try {
    return parseLine(text);
  } catch (e) {
    return { kind: 'malformed', problem: `unreadable: ${(e as Error).message}` };
  }
}

/** The seq a record line claims, from a plain parse; undefined for anything else. */
function claimedSeq(text: string | undefined): number | undefined {
  if (typeof text !== 'string' || text.length > MAX_LINE_LENGTH) return undefined;
  try {
    const o = JSON.parse(text) as { type?: unknown; seq?: unknown } | null;
    return (o?.type === 'record' || o?.type === 'elided') && Number.isSafeInteger(o.seq)
      ? (o.seq as number)
      : undefined;
  } catch {
    return undefined;
  }
}

const seqOf = (seq: number | undefined) => (seq === undefined ? {} : { seq });
