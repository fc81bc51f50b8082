// The audit log (DESIGN.md §5 "Audit", I7, I8): canonical JSON, the hash chain, signed checkpoints,
// the export format and its offline verification. Pure: the store writes the records.
export { AuditError, type AuditErrorCode } from './errors.ts';
export {
  canonicalize,
  isCanonicalizable,
  CANONICAL_MAX_DEPTH,
  CANONICAL_MAX_LENGTH,
  type CanonicalLimits,
} from './canonical.ts';
export {
  GENESIS_PREV_HASH,
  MAX_FIELD_LENGTH,
  MAX_DETAILS_LENGTH,
  appendRecord,
  hashRecord,
  recordBody,
  fieldsProblem,
  recordProblem,
  type AuditFields,
  type AuditBody,
  type AuditRecord,
} from './record.ts';
export {
  CHECKPOINT_CONTEXT,
  checkpointMessage,
  checkpointProblem,
  checkpointSignatureValid,
  keyIdOf,
  signCheckpoint,
  type Checkpoint,
  type CheckpointBody,
} from './checkpoint.ts';
export {
  EXPORT_FORMAT,
  EXPORT_VERSION,
  MAX_LINE_LENGTH,
  checkpointLine,
  exportLines,
  parseLine,
  recordLine,
  writeExport,
  type ExportHeader,
  type ExportInput,
  type ParsedLine,
} from './export.ts';
export {
  verifyChain,
  verifyExport,
  type VerifyCode,
  type VerifyFailure,
  type VerifyOptions,
  type VerifyReport,
} from './verify.ts';
export { ANCHOR_ACTION, anchorLines, extensionProblem, type AnchorLine } from './anchor.ts';
