import { randomBytes as nodeRandomBytes, randomInt } from 'node:crypto';

/** `n` bytes from the system CSPRNG. */
export function randomBytes(n: number): Uint8Array {
  return new Uint8Array(nodeRandomBytes(n));
}

/** A uniformly random unsigned 32-bit integer (session indices). */
export function randomU32(): number {
  return nodeRandomBytes(4).readUInt32LE(0);
}

/** A uniformly random integer in [0, max) (timer jitter). */
export function randomBelow(max: number): number {
  return max <= 0 ? 0 : randomInt(max);
}
