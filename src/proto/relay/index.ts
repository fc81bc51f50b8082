export * from './constants.ts';
export { RelayFrameError } from './errors.ts';
export { encodeFrame, decodePayload, checkHeader, type Frame, type FrameType } from './frames.ts';
export { FrameDecoder } from './decoder.ts';
export { clientProof, verifyClientProof } from './proof.ts';
export {
  issueRelayToken,
  verifyRelayToken,
  signingKeyId,
  RelayTokenError,
  TOKEN_MAGIC,
  TOKEN_VERSION,
  TOKEN_FIXED_LEN,
  MAX_REGION_LEN,
  KEY_ID_LEN,
  DEFAULT_TOKEN_SKEW_MS,
  type RelayTokenCode,
  type RelayTokenClaims,
  type RelayTokenResult,
} from './token.ts';
export {
  issueRevocations,
  verifyRevocations,
  REVOCATIONS_MAGIC,
  REVOCATIONS_VERSION,
  REVOCATIONS_FIXED_LEN,
  MAX_REVOKED_KEYS,
  MAX_REVOCATIONS_LEN,
  type RevocationsCode,
  type RevocationsResult,
} from './revocations.ts';
