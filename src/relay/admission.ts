// The admission decision for one CLIENT_INFO (DESIGN.md §4 "Relay", frames.ts): a version this
// relay speaks, a relay token signed by a trusted coordinator key for this node key and region and
// valid now, and a proof that the client holds the node key, bound to this connection's challenge.
// Pure: no I/O, the caller sends SERVER_INFO or the refusal.
import { PublicKey, type PrivateKey, type VerifyKey } from '../crypto/index.ts';
import {
  CLIENT_VERSION_PEER_BUSY,
  PROTOCOL_VERSION,
  verifyClientProof,
  verifyRelayToken,
  type Frame,
} from '../proto/relay/index.ts';
import type { RefusalReason } from './metrics.ts';

export interface AdmissionPolicy {
  privateKey: PrivateKey;
  trusted: readonly VerifyKey[];
  region: string;
  skewMs: number;
}

export type Admission =
  { ok: true; key: Uint8Array; expiresAtMs: number } | { ok: false; reason: RefusalReason; message: string };

export function admit(
  info: Extract<Frame, { type: 'client-info' }>,
  challenge: Uint8Array,
  policy: AdmissionPolicy,
  wallMs: number,
): Admission {
  if (info.version !== PROTOCOL_VERSION && info.version !== CLIENT_VERSION_PEER_BUSY)
    return { ok: false, reason: 'bad_version', message: `protocol version ${info.version} is not supported` };
  if (info.token.length === 0) return { ok: false, reason: 'no_token', message: 'a relay token is required' };
  const node = PublicKey.fromBytes(info.clientKey);
  const t = verifyRelayToken(info.token, {
    trusted: policy.trusted,
    nowMs: wallMs,
    nodeKey: node,
    region: policy.region,
    skewMs: policy.skewMs,
  });
  if (!t.ok)
    return { ok: false, reason: t.code.toLowerCase() as RefusalReason, message: `refused: ${t.code}` };
  if (!verifyClientProof(policy.privateKey, node, challenge, info.token, info.proof))
    return { ok: false, reason: 'bad_proof', message: 'refused: proof of key possession failed' };
  return { ok: true, key: node.bytes, expiresAtMs: t.claims.expiresAtMs + policy.skewMs };
}
