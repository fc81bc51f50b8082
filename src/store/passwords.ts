// Password hashing with node:crypto scrypt. Stored form: scrypt$N$r$p$salt$hash (base64 fields).
// N = 2^15, r = 8, p = 1 (≈32 MiB, tens of ms) by default; the parameters travel with the hash.
import { scrypt, randomBytes, timingSafeEqual } from 'node:crypto';

export interface ScryptParams {
  N: number;
  r: number;
  p: number;
}

export const DEFAULT_SCRYPT: ScryptParams = { N: 1 << 15, r: 8, p: 1 };
const KEY_LEN = 32;

/** The key derivation: scrypt by default; a store may be given a wrapper (tests count calls). */
export type Kdf = (password: string, salt: Buffer, params: ScryptParams) => Promise<Buffer>;

export const scryptKdf: Kdf = (password, salt, params) => derive(password, salt, params);

function derive(password: string, salt: Buffer, { N, r, p }: ScryptParams): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password, salt, KEY_LEN, { N, r, p, maxmem: 256 * N * r + (1 << 20) }, (err, key) =>
      err ? reject(err) : resolve(key),
    ),
  );
}

export async function hashPassword(
  password: string,
  params: ScryptParams = DEFAULT_SCRYPT,
  kdf: Kdf = scryptKdf,
): Promise<string> {
  const salt = randomBytes(16);
  const key = await kdf(password, salt, params);
  return `scrypt$${params.N}$${params.r}$${params.p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

/** True when `password` matches `stored`; false for a malformed stored value. */
export async function verifyPassword(
  password: string,
  stored: string,
  kdf: Kdf = scryptKdf,
): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [N, r, p] = parts.slice(1, 4).map(Number);
  if (![N, r, p].every((x) => Number.isInteger(x) && x > 0) || N > 1 << 20) return false;
  const want = Buffer.from(parts[5], 'base64');
  if (want.length !== KEY_LEN) return false;
  const got = await kdf(password, Buffer.from(parts[4], 'base64'), { N, r, p });
  return timingSafeEqual(got, want);
}

/**
 * The work of one verifyPassword against a hash made with `params`, for a user who does not exist:
 * so a sign-in takes as long whether or not the name is known. Always false.
 */
export async function verifyNoPassword(
  password: string,
  params: ScryptParams = DEFAULT_SCRYPT,
  kdf: Kdf = scryptKdf,
): Promise<false> {
  const got = await kdf(password, randomBytes(16), params);
  timingSafeEqual(got, Buffer.alloc(got.length));
  return false;
}
