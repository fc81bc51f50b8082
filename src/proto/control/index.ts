// The agent channel's wire: constants, JSON message schemas and codec, the netmap and its deltas,
// and the transport framing (counter ‖ AEAD, replay-checked). The Noise IK handshake itself runs in
// src/control/channel-noise.ts (it uses src/session, a layer above proto).
export * from './constants.ts';
export { ControlProtoError } from './errors.ts';
export * from './messages.ts';
export * from './netmap.ts';
export { ChannelCipher, type OpenResult } from './framing.ts';
export * from './device-proof.ts';
