export { KEY_LEN, PublicKey, PrivateKey } from './keys.ts';
export { hash, hmac, kdf, mac } from './hash.ts';
export { TAG_LEN, seal, open, xseal, xopen } from './aead.ts';
export { randomBytes, randomU32, randomBelow } from './random.ts';
export { CryptoError } from './errors.ts';
export { SIGNATURE_LEN, SigningKey, VerifyKey } from './sign.ts';
