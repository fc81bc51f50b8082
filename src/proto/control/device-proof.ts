// Device login's proof of possession of the node key (POST /api/v1/device/challenge, then
// POST /api/v1/device/start). X25519 keys cannot sign, so the proof is a MAC keyed by a
// Diffie-Hellman secret with the coordinator's channel key — the key the client pins with
// --coordinator-key — exactly as the relay's proof (src/proto/relay/proof.ts):
//
//   challenge (40 bytes, base64url, made and checked by the coordinator alone):
//     +---------------------+------------------+---------------------------------------+
//     | issued at, ms (u64) | random (16)      | tag (16) = HMAC-BLAKE2s(challenge key, |
//     |     big-endian      |                  |   label || issued at || random)[0..16] |
//     +---------------------+------------------+---------------------------------------+
//
//   shared = X25519(node private key, coordinator public key)
//   proof  = HMAC-BLAKE2s-256(key = BLAKE2s-256("sallyport device proof v1" || shared),
//                             challenge || node key || coordinator key || UTF-8 device name)
//
// The coordinator recomputes the proof with X25519(its private key, node key). Only the holder of
// the node key (or the coordinator) can compute it; the challenge makes it fresh and (checked
// against a used set) single-use; binding the coordinator key stops a proof from being replayed
// to another coordinator; binding the name stops it being moved to another name. The challenge
// key is derived from the coordinator's private key, so coordinators sharing keys (several behind
// one address) accept each other's challenges. Pure functions; no I/O, no clock of their own.
import { PrivateKey, PublicKey, hash, hmac, randomBytes } from '../../crypto/index.ts';
import { equalBytes, wipe } from '../../util/index.ts';

export const DEVICE_CHALLENGE_LEN = 40;
export const DEVICE_PROOF_LEN = 32;
const TAG_LEN = 16;

const enc = new TextEncoder();
const PROOF_LABEL = enc.encode('sallyport device proof v1');
const CHALLENGE_LABEL = enc.encode('sallyport device challenge v1');
const CHALLENGE_KEY_LABEL = enc.encode('sallyport device challenge key v1');

/** The coordinator's key for its challenges: a secret only the holder of `coordinatorKey` has. */
export function deviceChallengeKey(coordinatorKey: PrivateKey): Uint8Array {
  const self = coordinatorKey.dh(coordinatorKey.publicKey);
  if (!self) throw new Error('unreachable: a clamped key with its own public key gives no zero secret');
  const key = hash(CHALLENGE_KEY_LABEL, self);
  wipe(self);
  return key;
}

const u64 = (n: number): Uint8Array => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(Math.max(0, Math.floor(n))));
  return b;
};

/** A fresh challenge issued at `nowMs`. */
export function newDeviceChallenge(key: Uint8Array, nowMs: number): Uint8Array {
  const head = new Uint8Array(24);
  head.set(u64(nowMs), 0);
  head.set(randomBytes(16), 8);
  const out = new Uint8Array(DEVICE_CHALLENGE_LEN);
  out.set(head, 0);
  out.set(hmac(key, CHALLENGE_LABEL, head).subarray(0, TAG_LEN), 24);
  return out;
}

/** When `challenge` was issued (ms), or undefined when it is not one of ours. Constant-time tag check. */
export function deviceChallengeIssuedAt(key: Uint8Array, challenge: Uint8Array): number | undefined {
  if (challenge.length !== DEVICE_CHALLENGE_LEN) return undefined;
  const head = challenge.subarray(0, 24);
  if (!equalBytes(hmac(key, CHALLENGE_LABEL, head).subarray(0, TAG_LEN), challenge.subarray(24)))
    return undefined;
  return Number(new DataView(head.buffer, head.byteOffset, 8).getBigUint64(0));
}

function compute(
  shared: Uint8Array,
  challenge: Uint8Array,
  node: PublicKey,
  coordinator: PublicKey,
  name: string,
): Uint8Array {
  const key = hash(PROOF_LABEL, shared);
  const proof = hmac(key, challenge, node.bytes, coordinator.bytes, enc.encode(name));
  wipe(key);
  wipe(shared);
  return proof;
}

/** The node's proof; undefined when the coordinator key is a low-order point (do not proceed). */
export function deviceProof(
  nodeKey: PrivateKey,
  coordinatorKey: PublicKey,
  challenge: Uint8Array,
  name: string,
): Uint8Array | undefined {
  const shared = nodeKey.dh(coordinatorKey);
  return shared && compute(shared, challenge, nodeKey.publicKey, coordinatorKey, name);
}

/** The coordinator's check of a proof, in constant time. */
export function verifyDeviceProof(
  coordinatorKey: PrivateKey,
  nodeKey: PublicKey,
  challenge: Uint8Array,
  name: string,
  proof: Uint8Array,
): boolean {
  if (proof.length !== DEVICE_PROOF_LEN) return false;
  const shared = coordinatorKey.dh(nodeKey);
  if (!shared) return false;
  return equalBytes(compute(shared, challenge, nodeKey, coordinatorKey.publicKey, name), proof);
}
