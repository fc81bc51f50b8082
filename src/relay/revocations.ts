// The relay's revocation set: the node keys of the newest coordinator-signed revocation list
// (proto/relay/revocations.ts). A list replaces the set whole, so the set holds at most one list's
// keys (MAX_REVOKED_KEYS) and nothing per client; a list older than the one in force, or older
// than maxAgeMs, is refused (a replayed list cannot un-revoke a key).
import type { VerifyKey } from '../crypto/index.ts';
import { verifyRevocations, type RevocationsCode } from '../proto/relay/index.ts';

/** Lists older than this are refused; the coordinator pushes one every few seconds. */
export const REVOCATIONS_MAX_AGE_MS = 60_000;

const b64 = (k: Uint8Array): string => Buffer.from(k.buffer, k.byteOffset, k.byteLength).toString('base64');

export type ApplyResult = { ok: true; keys: ReadonlySet<string> } | { ok: false; code: RevocationsCode };

export class RevocationSet {
  #keys: ReadonlySet<string> = new Set();
  #issuedAtMs = -1;
  readonly #trusted: readonly VerifyKey[];
  readonly #skewMs: number;

  constructor(trusted: readonly VerifyKey[], skewMs: number) {
    this.#trusted = trusted;
    this.#skewMs = skewMs;
  }

  /** Node keys (base64) revoked now. */
  get size(): number {
    return this.#keys.size;
  }

  has(keyB64: string): boolean {
    return this.#keys.has(keyB64);
  }

  /** Verifies a list and, when it is the newest, makes its keys the set. */
  apply(body: Uint8Array, nowMs: number): ApplyResult {
    const r = verifyRevocations(body, {
      trusted: this.#trusted,
      nowMs,
      maxAgeMs: REVOCATIONS_MAX_AGE_MS,
      skewMs: this.#skewMs,
    });
    if (!r.ok) return r;
    if (r.issuedAtMs < this.#issuedAtMs) return { ok: false, code: 'REVOCATIONS_STALE' };
    this.#issuedAtMs = r.issuedAtMs;
    this.#keys = new Set(r.keys.map(b64));
    return { ok: true, keys: this.#keys };
  }
}
