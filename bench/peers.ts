// Peers the suites measure against: plain node:crypto doing the same job as our code.
import {
  createCipheriv,
  createDecipheriv,
  diffieHellman,
  generateKeyPairSync,
  randomBytes,
  type KeyPairKeyObjectResult,
} from 'node:crypto';

const TAG_LEN = 16;

/** Raw node:crypto ChaCha20-Poly1305: encrypt then decrypt `size` bytes, a new nonce each call. */
export function rawAead(size: number): () => void {
  const key = randomBytes(32);
  const pt = randomBytes(size);
  const nonce = Buffer.alloc(12);
  let n = 0;
  return () => {
    nonce.writeUInt32LE(++n >>> 0, 4);
    const c = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: TAG_LEN });
    const ct = c.update(pt);
    c.final();
    const tag = c.getAuthTag();
    const d = createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: TAG_LEN });
    d.setAuthTag(tag);
    d.update(ct);
    d.final();
  };
}

/**
 * The public-key work of one WireGuard handshake alone, in plain node:crypto: two X25519 key
 * generations (the ephemerals) and eight Diffie-Hellman operations (es, ss at each side; ee, se
 * at each side). A floor for handshakes per second: the rest is hashing, AEAD and bookkeeping.
 */
export function rawHandshakeDh(): () => void {
  const si = generateKeyPairSync('x25519');
  const sr = generateKeyPairSync('x25519');
  return () => {
    const ei = generateKeyPairSync('x25519');
    const er = generateKeyPairSync('x25519');
    const dh = (a: KeyPairKeyObjectResult, b: KeyPairKeyObjectResult) =>
      diffieHellman({ privateKey: a.privateKey, publicKey: b.publicKey });
    for (const [a, b] of [
      [ei, sr], // initiator: es
      [si, sr], // initiator: ss
      [sr, ei], // responder: es
      [sr, si], // responder: ss
      [er, ei], // responder: ee
      [er, si], // responder: se
      [ei, er], // initiator: ee
      [si, er], // initiator: se
    ] as const) {
      dh(a, b);
    }
  };
}
