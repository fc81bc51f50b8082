// The agent channel's handshake: Noise IK (IKpsk2 with an all-zero psk) on the session layer's
// Noise core, with the control channel's protocol name and prologue. The agent is the initiator
// and pins the coordinator's static key; the coordinator learns the agent's node key from
// message 1. Both sides end with a ChannelCipher for the transport messages.
import { NoiseIKpsk2, type Initiating, type Responding } from '../session/index.ts';
import type { PrivateKey, PublicKey } from '../crypto/index.ts';
import {
  CONTROL_PROLOGUE,
  CONTROL_PROTOCOL_NAME,
  ZERO_PSK,
  ChannelCipher,
  ControlProtoError,
  decodeHandshakeReply,
  decodeHello,
  encodeHandshakeReply,
  encodeHello,
  type Hello,
  type Refused,
  type Welcome,
} from '../proto/control/index.ts';

const noise = new NoiseIKpsk2({ protocolName: CONTROL_PROTOCOL_NAME, prologue: CONTROL_PROLOGUE });

/** Initiator, step 1: message 1 carrying the hello. */
export function initiate(
  nodeKey: PrivateKey,
  coordinatorKey: PublicKey,
  hello: Hello,
): { message: Uint8Array; state: Initiating } {
  const r = noise.writeMessage1(nodeKey, coordinatorKey, encodeHello(hello));
  if (!r) throw new ControlProtoError('CONTROL_BAD_KEY', 'coordinator key gives a zero DH result');
  return r;
}

/** Initiator, step 2: reads message 2. Throws ControlProtoError when it does not authenticate or parse. */
export function finishInitiator(
  state: Initiating,
  message: Uint8Array,
): { reply: Welcome | Refused; cipher: ChannelCipher } {
  const r = noise.readMessage2(state, ZERO_PSK, message);
  if (!r)
    throw new ControlProtoError(
      'CONTROL_BAD_HANDSHAKE',
      'coordinator handshake did not authenticate (wrong pinned key?)',
    );
  return { reply: decodeHandshakeReply(r.payload), cipher: new ChannelCipher(r.keys) };
}

export interface Accepted {
  nodeKey: PublicKey;
  hello: Hello;
  state: Responding;
}

/**
 * Responder, step 1: reads message 1. Undefined when it does not authenticate; throws
 * ControlProtoError when it authenticates but the hello is malformed (then `nodeKey` is known:
 * see `acceptWithKey`).
 */
export function accept(
  coordinatorKey: PrivateKey,
  message: Uint8Array,
  h1?: Uint8Array,
): Accepted | { nodeKey: PublicKey; state: Responding; error: ControlProtoError } | undefined {
  const r = noise.readMessage1(coordinatorKey, message, h1 ? { h1 } : {});
  if (!r) return undefined;
  try {
    return { nodeKey: r.state.rs, hello: decodeHello(r.payload), state: r.state };
  } catch (e) {
    if (e instanceof ControlProtoError) return { nodeKey: r.state.rs, state: r.state, error: e };
    throw e;
  }
}

/** Responder, step 2: message 2 carrying the welcome or refusal, and the transport cipher. */
export function respond(
  state: Responding,
  reply: Welcome | Refused,
): { message: Uint8Array; cipher: ChannelCipher } {
  const r = noise.writeMessage2(state, ZERO_PSK, encodeHandshakeReply(reply));
  if (!r) throw new ControlProtoError('CONTROL_BAD_HANDSHAKE', 'zero DH result');
  return { message: r.message, cipher: new ChannelCipher(r.keys) };
}

/** The cacheable pre-message hash for the coordinator's key. */
export const preMessageHash = (k: PublicKey): Uint8Array => noise.preMessageHash(k);
