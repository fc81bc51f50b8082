import {
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  type KeyObject,
} from 'node:crypto';
import { inspect } from 'node:util';
import { equalBytes, isZero } from '../util/index.ts';
import { CryptoError } from './errors.ts';

/** Length of X25519 keys and of every symmetric key in the session (bytes). */
export const KEY_LEN = 32;

// Raw X25519 keys reach node:crypto as JWK (RFC 8037): an order of magnitude faster to import
// than PKCS#8/SPKI DER on Node 20. Node requires `x` in a private JWK but derives the public key
// from `d`, so a placeholder is given and the real public key read back.
const b64url = (b: Uint8Array): string =>
  Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64url');
const PLACEHOLDER_X = b64url(new Uint8Array(32));

/**
 * An X25519 public key: a node's identity, relay address and WireGuard static key.
 * Prints as a short fingerprint; `base64()` gives the WireGuard text form.
 */
export class PublicKey {
  readonly bytes: Uint8Array;
  #object: KeyObject | undefined;
  #base64: string | undefined;

  private constructor(bytes: Uint8Array) {
    this.bytes = bytes;
  }

  static fromBytes(b: Uint8Array): PublicKey {
    if (b.length !== KEY_LEN)
      throw new CryptoError('KEY_INVALID', `public key must be ${KEY_LEN} bytes, got ${b.length}`);
    return new PublicKey(new Uint8Array(b));
  }

  static fromBase64(s: string): PublicKey {
    const b = Buffer.from(s, 'base64');
    if (b.length !== KEY_LEN || b.toString('base64') !== s)
      throw new CryptoError('KEY_INVALID', 'public key must be 32 bytes in standard base64');
    return new PublicKey(new Uint8Array(b));
  }

  /** The node:crypto key object (cached). */
  keyObject(): KeyObject {
    this.#object ??= createPublicKey({
      key: { kty: 'OKP', crv: 'X25519', x: b64url(this.bytes) },
      format: 'jwk',
    });
    return this.#object;
  }

  /** The WireGuard text form (computed once: peers are looked up by it per relayed datagram). */
  base64(): string {
    this.#base64 ??= Buffer.from(this.bytes).toString('base64');
    return this.#base64;
  }

  /** Short, log-safe name: first 8 base64 characters. */
  fingerprint(): string {
    return this.base64().slice(0, 8);
  }

  equals(o: PublicKey): boolean {
    return equalBytes(this.bytes, o.bytes);
  }

  toString(): string {
    return `[${this.fingerprint()}]`;
  }
  toJSON(): string {
    return this.base64();
  }
  [inspect.custom](): string {
    return `PublicKey${this.toString()}`;
  }
}

/**
 * An X25519 private key. It never prints its bytes: `toString`, `toJSON` and `inspect` show only
 * the public fingerprint. `unsafeBytes()` is the one way out, for writing the key file.
 */
export class PrivateKey {
  readonly #bytes: Uint8Array;
  readonly #object: KeyObject;
  readonly publicKey: PublicKey;

  private constructor(bytes: Uint8Array, object: KeyObject, publicKey: PublicKey) {
    this.#bytes = bytes;
    this.#object = object;
    this.publicKey = publicKey;
  }

  /** A new key from the system CSPRNG (node:crypto generates it clamped). */
  static generate(): PrivateKey {
    const { privateKey, publicKey } = generateKeyPairSync('x25519');
    const priv = privateKey.export({ format: 'jwk' });
    const pub = publicKey.export({ format: 'jwk' });
    return new PrivateKey(
      new Uint8Array(Buffer.from(priv.d!, 'base64url')),
      privateKey,
      PublicKey.fromBytes(Buffer.from(pub.x!, 'base64url')),
    );
  }

  /** A key from 32 raw bytes (clamped, as WireGuard does). */
  static fromBytes(b: Uint8Array): PrivateKey {
    if (b.length !== KEY_LEN)
      throw new CryptoError('KEY_INVALID', `private key must be ${KEY_LEN} bytes, got ${b.length}`);
    const k = new Uint8Array(b);
    k[0] &= 248;
    k[31] = (k[31] & 127) | 64;
    const object = createPrivateKey({
      key: { kty: 'OKP', crv: 'X25519', d: b64url(k), x: PLACEHOLDER_X },
      format: 'jwk',
    });
    const jwk = createPublicKey(object).export({ format: 'jwk' });
    return new PrivateKey(k, object, PublicKey.fromBytes(Buffer.from(jwk.x!, 'base64url')));
  }

  static fromBase64(s: string): PrivateKey {
    const b = Buffer.from(s.trim(), 'base64');
    if (b.length !== KEY_LEN) throw new CryptoError('KEY_INVALID', 'private key must be 32 bytes in base64');
    return PrivateKey.fromBytes(b);
  }

  /**
   * X25519(this, peer). Returns undefined when the result is all zeros (a low-order peer key),
   * which WireGuard treats as a failed handshake.
   */
  dh(peer: PublicKey): Uint8Array | undefined {
    let out: Buffer;
    try {
      out = diffieHellman({ privateKey: this.#object, publicKey: peer.keyObject() });
    } catch {
      return undefined;
    }
    return isZero(out) ? undefined : new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  }

  /** The raw key bytes: only for storing the key file (0600). */
  unsafeBytes(): Uint8Array {
    return new Uint8Array(this.#bytes);
  }

  toString(): string {
    return `[private ${this.publicKey.fingerprint()}]`;
  }
  toJSON(): string {
    return '[redacted private key]';
  }
  [inspect.custom](): string {
    return `PrivateKey${this.toString()}`;
  }
}
