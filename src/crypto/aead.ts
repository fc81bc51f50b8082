import { createCipheriv, createDecipheriv } from 'node:crypto';
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';

/** Poly1305 tag length (bytes). */
export const TAG_LEN = 16;

/** The 96-bit ChaCha20-Poly1305 nonce WireGuard uses: 32 zero bits, then the counter, little-endian. */
function nonce(counter: bigint | number): Buffer {
  const n = Buffer.alloc(12);
  n.writeBigUInt64LE(BigInt(counter), 4);
  return n;
}

/**
 * AEAD(key, counter, plaintext, ad): ChaCha20-Poly1305 (RFC 8439) with WireGuard's nonce.
 * Returns ciphertext ‖ tag. With `out`, writes there at `offset` instead and returns that view.
 */
export function seal(
  key: Uint8Array,
  counter: bigint | number,
  plaintext: Uint8Array,
  ad: Uint8Array,
  out?: Uint8Array,
  offset = 0,
): Uint8Array {
  const c = createCipheriv('chacha20-poly1305', key, nonce(counter), { authTagLength: TAG_LEN });
  if (ad.length) c.setAAD(ad, { plaintextLength: plaintext.length });
  const body = c.update(plaintext);
  c.final();
  const tag = c.getAuthTag();
  if (!out) return Buffer.concat([body, tag], body.length + TAG_LEN);
  out.set(body, offset);
  out.set(tag, offset + body.length);
  return out.subarray(offset, offset + body.length + TAG_LEN);
}

/** Opens ciphertext ‖ tag; undefined when authentication fails (never throws on bad input). */
export function open(
  key: Uint8Array,
  counter: bigint | number,
  sealed: Uint8Array,
  ad: Uint8Array,
): Uint8Array | undefined {
  if (sealed.length < TAG_LEN) return undefined;
  const n = sealed.length - TAG_LEN;
  try {
    const d = createDecipheriv('chacha20-poly1305', key, nonce(counter), { authTagLength: TAG_LEN });
    d.setAuthTag(sealed.subarray(n));
    if (ad.length) d.setAAD(ad, { plaintextLength: n });
    const body = d.update(sealed.subarray(0, n));
    d.final();
    return body;
  } catch {
    return undefined;
  }
}

/** XAEAD(key, nonce24, plaintext, ad): XChaCha20-Poly1305, for cookie replies. */
export function xseal(
  key: Uint8Array,
  nonce24: Uint8Array,
  plaintext: Uint8Array,
  ad: Uint8Array,
): Uint8Array {
  return xchacha20poly1305(key, nonce24, ad).encrypt(plaintext);
}

/** Opens an XChaCha20-Poly1305 box; undefined when authentication fails. */
export function xopen(
  key: Uint8Array,
  nonce24: Uint8Array,
  sealed: Uint8Array,
  ad: Uint8Array,
): Uint8Array | undefined {
  if (sealed.length < TAG_LEN || nonce24.length !== 24 || key.length !== 32) return undefined;
  try {
    return xchacha20poly1305(key, nonce24, ad).decrypt(sealed);
  } catch {
    return undefined;
  }
}
