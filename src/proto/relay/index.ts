export * from './constants.ts';
export { RelayFrameError } from './errors.ts';
export { encodeFrame, decodePayload, checkHeader, type Frame, type FrameType } from './frames.ts';
export { FrameDecoder } from './decoder.ts';
export { clientProof, verifyClientProof } from './proof.ts';
