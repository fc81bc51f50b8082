import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign,
  verify,
  type KeyObject,
} from 'node:crypto';
import { inspect } from 'node:util';
import { equalBytes } from '../util/index.ts';
import { CryptoError } from './errors.ts';

/** Ed25519 signature length (bytes). */
export const SIGNATURE_LEN = 64;

const b64url = (b: Uint8Array): string =>
  Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64url');

/** An Ed25519 public key (checkpoint and token verification). Prints as a short fingerprint. */
export class VerifyKey {
  readonly bytes: Uint8Array;
  readonly #object: KeyObject;

  private constructor(bytes: Uint8Array, object: KeyObject) {
    this.bytes = bytes;
    this.#object = object;
  }

  static fromBytes(b: Uint8Array): VerifyKey {
    if (b.length !== 32)
      throw new CryptoError('KEY_INVALID', `Ed25519 public key must be 32 bytes, got ${b.length}`);
    try {
      const object = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: b64url(b) }, format: 'jwk' });
      return new VerifyKey(new Uint8Array(b), object);
    } catch (cause) {
      throw new CryptoError('KEY_INVALID', 'not an Ed25519 public key', { cause });
    }
  }

  static fromBase64(s: string): VerifyKey {
    const b = Buffer.from(s, 'base64');
    if (b.length !== 32 || b.toString('base64') !== s)
      throw new CryptoError('KEY_INVALID', 'Ed25519 public key must be 32 bytes in standard base64');
    return VerifyKey.fromBytes(b);
  }

  /** True when `sig` is a valid Ed25519 signature of `data` by this key; never throws. */
  verify(data: Uint8Array, sig: Uint8Array): boolean {
    if (sig.length !== SIGNATURE_LEN) return false;
    try {
      return verify(null, data, this.#object, sig);
    } catch {
      return false;
    }
  }

  base64(): string {
    return Buffer.from(this.bytes).toString('base64');
  }
  fingerprint(): string {
    return this.base64().slice(0, 8);
  }
  equals(o: VerifyKey): boolean {
    return equalBytes(this.bytes, o.bytes);
  }
  toString(): string {
    return `[ed25519 ${this.fingerprint()}]`;
  }
  toJSON(): string {
    return this.base64();
  }
  [inspect.custom](): string {
    return `VerifyKey${this.toString()}`;
  }
}

/** An Ed25519 private key. Never prints its bytes; `unsafeSeed()` is for the key file only. */
export class SigningKey {
  readonly #seed: Uint8Array;
  readonly #object: KeyObject;
  readonly verifyKey: VerifyKey;

  private constructor(seed: Uint8Array, object: KeyObject, verifyKey: VerifyKey) {
    this.#seed = seed;
    this.#object = object;
    this.verifyKey = verifyKey;
  }

  static generate(): SigningKey {
    const { privateKey } = generateKeyPairSync('ed25519');
    return SigningKey.fromSeed(Buffer.from(privateKey.export({ format: 'jwk' }).d!, 'base64url'));
  }

  /** A key from its 32-byte seed (RFC 8032 private key). */
  static fromSeed(seed: Uint8Array): SigningKey {
    if (seed.length !== 32)
      throw new CryptoError('KEY_INVALID', `Ed25519 seed must be 32 bytes, got ${seed.length}`);
    const object = createPrivateKey({
      key: { kty: 'OKP', crv: 'Ed25519', d: b64url(seed), x: b64url(new Uint8Array(32)) },
      format: 'jwk',
    });
    const x = createPublicKey(object).export({ format: 'jwk' }).x!;
    return new SigningKey(new Uint8Array(seed), object, VerifyKey.fromBytes(Buffer.from(x, 'base64url')));
  }

  sign(data: Uint8Array): Uint8Array {
    return new Uint8Array(sign(null, data, this.#object));
  }

  /** The node:crypto key object, for X.509 and JOSE libraries. */
  keyObject(): KeyObject {
    return this.#object;
  }

  unsafeSeed(): Uint8Array {
    return new Uint8Array(this.#seed);
  }

  toString(): string {
    return `[ed25519 private ${this.verifyKey.fingerprint()}]`;
  }
  toJSON(): string {
    return '[redacted private key]';
  }
  [inspect.custom](): string {
    return `SigningKey${this.toString()}`;
  }
}
