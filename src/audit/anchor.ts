// Anchors (DESIGN.md Amendments, "Audit anchoring"): a checkpoint kept somewhere the database's
// writers cannot reach — the signer's own file, the customer's local audit. Two pure checks:
//
//   extensionProblem(anchor, head, chain)   the signer's rule: sign `head` only when `chain`
//                                           (records anchor.seq..head.seq as the store holds them)
//                                           starts at the anchored record, unchanged, and links up
//                                           to the head, every record hashing to its own hash
//   anchorLines(text)                       the anchors in a file: export-style checkpoint lines,
//                                           or a connector's local audit, whose `audit.anchor`
//                                           records carry the checkpoints it was sent
//
// Like the CT log's consistency rule: a signed head is never contradicted by a later one; a
// database rewritten below the anchor cannot be signed again.
import type { Checkpoint } from './checkpoint.ts';
import { parseLine } from './export.ts';
import { hashRecord, type AuditRecord } from './record.ts';

/** The action of a local audit record that keeps a checkpoint the coordinator sent. */
export const ANCHOR_ACTION = 'audit.anchor';

/**
 * Why `head` does not extend `anchor` given `chain` (the stored records anchor.seq..head.seq, in
 * order), or undefined when it does. Never throws.
 */
export function extensionProblem(
  anchor: { seq: number; hash: string },
  head: { seq: number; hash: string },
  chain: readonly AuditRecord[],
): string | undefined {
  if (head.seq < anchor.seq)
    return `the head is at seq ${head.seq}, below the anchored seq ${anchor.seq}: records were removed`;
  const first = chain[0];
  if (!first || first.seq !== anchor.seq) return `the anchored record at seq ${anchor.seq} is gone`;
  if (first.hash !== anchor.hash)
    return `the record at seq ${anchor.seq} has hash ${first.hash.slice(0, 16)}…, not the anchored ${anchor.hash.slice(0, 16)}…: the chain was rewritten`;
  let prev = first;
  for (const r of chain.slice(1)) {
    if (r.seq !== prev.seq + 1) return `seq ${prev.seq + 1} is missing after the anchor`;
    if (r.prevHash !== prev.hash) return `seq ${r.seq} does not link to seq ${prev.seq}`;
    let h: string;
    try {
      h = hashRecord(r.prevHash, r);
    } catch {
      h = '';
    }
    if (h !== r.hash) return `seq ${r.seq}: its contents do not match its hash`;
    prev = r;
  }
  if (prev.seq !== head.seq || prev.hash !== head.hash)
    return `the chain from the anchor ends at seq ${prev.seq}, not at the head (seq ${head.seq})`;
  return undefined;
}

/** One anchor read from a file, with its 1-based line. */
export interface AnchorLine {
  checkpoint: Checkpoint;
  line: number;
}

/**
 * The anchors in `text`: checkpoint lines (`{"type":"checkpoint",…}`, as `audit anchors` writes
 * them) and `audit.anchor` records of a connector's local audit (their details hold the
 * checkpoint). Other records are skipped; a line that is neither is returned in `problems`.
 */
export function anchorLines(text: string): {
  anchors: AnchorLine[];
  problems: { line: number; problem: string }[];
} {
  const anchors: AnchorLine[] = [];
  const problems: { line: number; problem: string }[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (lines[i] === '') continue;
    const p = parseLine(lines[i]);
    if (p.kind === 'checkpoint') anchors.push({ checkpoint: p.checkpoint, line: i + 1 });
    else if (p.kind === 'record') {
      if (p.record.action !== ANCHOR_ACTION) continue;
      const d = p.record.details as Partial<Checkpoint>;
      const cp: Checkpoint = {
        seq: d.seq as number,
        hash: d.hash as string,
        time: d.time as number,
        keyId: d.keyId as string,
        signature: d.signature as string,
      };
      anchors.push({ checkpoint: cp, line: i + 1 });
    } else if (p.kind === 'malformed') problems.push({ line: i + 1, problem: p.problem });
    else problems.push({ line: i + 1, problem: 'a header has no place in an anchors file' });
  }
  return { anchors, problems };
}
