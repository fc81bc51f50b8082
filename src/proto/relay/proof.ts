// Proof that a relay client holds the private half of the node key it claims (construction drawn
// in frames.ts). Pure functions; the relay and the agent call them around CLIENT_INFO.
import { PrivateKey, PublicKey, hash, hmac } from '../../crypto/index.ts';
import { equalBytes, wipe } from '../../util/index.ts';
import { CHALLENGE_LEN, PROOF_LEN } from './constants.ts';

const LABEL = new TextEncoder().encode('sallyport relay proof v1');

function compute(
  shared: Uint8Array,
  challenge: Uint8Array,
  client: PublicKey,
  server: PublicKey,
  token: Uint8Array,
): Uint8Array {
  const key = hash(LABEL, shared);
  const proof = hmac(key, challenge, client.bytes, server.bytes, token);
  wipe(key);
  wipe(shared);
  return proof;
}

/**
 * The client's proof for CLIENT_INFO. Undefined when the server key is a low-order point (no
 * shared secret): the client must not connect to such a server.
 */
export function clientProof(
  nodeKey: PrivateKey,
  serverKey: PublicKey,
  challenge: Uint8Array,
  token: Uint8Array,
): Uint8Array | undefined {
  if (challenge.length !== CHALLENGE_LEN) return undefined;
  const shared = nodeKey.dh(serverKey);
  return shared && compute(shared, challenge, nodeKey.publicKey, serverKey, token);
}

/** The server's check of a CLIENT_INFO proof, in constant time. */
export function verifyClientProof(
  serverKey: PrivateKey,
  clientKey: PublicKey,
  challenge: Uint8Array,
  token: Uint8Array,
  proof: Uint8Array,
): boolean {
  if (challenge.length !== CHALLENGE_LEN || proof.length !== PROOF_LEN) return false;
  const shared = serverKey.dh(clientKey);
  if (!shared) return false;
  return equalBytes(compute(shared, challenge, clientKey, serverKey.publicKey, token), proof);
}
