/**
 * A small, fast, seeded PRNG for the vnet: sfc32 (Chris Doty-Humphrey's "small fast counting"
 * generator, 128-bit state, passes PractRand), seeded through splitmix32 so that nearby seeds give
 * unrelated streams. Never Math.random: a seed must replay a run exactly.
 */
export class Rng {
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  /** `seed` is folded to 32 bits; `stream` picks an independent sequence for the same seed. */
  constructor(seed: number, stream = 0) {
    const sm = splitmix32(mix32(seed >>> 0, stream >>> 0));
    this.#a = sm();
    this.#b = sm();
    this.#c = sm();
    this.#d = sm();
    for (let i = 0; i < 12; i++) this.next();
  }

  /** Next unsigned 32-bit integer. */
  next(): number {
    const t = (((this.#a + this.#b) | 0) + this.#d) | 0;
    this.#d = (this.#d + 1) | 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) | 0;
    this.#c = (this.#c << 21) | (this.#c >>> 11);
    this.#c = (this.#c + t) | 0;
    return t >>> 0;
  }

  /** Uniform float in [0, 1). */
  float(): number {
    return this.next() / 4294967296;
  }

  /** Uniform integer in [0, n), n ≤ 2^32. */
  int(n: number): number {
    return Math.floor(this.float() * n);
  }
}

/** A splitmix32 sequence; used to spread a seed over sfc32's state. */
function splitmix32(seed: number): () => number {
  let s = seed | 0;
  return () => {
    s = (s + 0x9e3779b9) | 0;
    let z = s ^ (s >>> 16);
    z = Math.imul(z, 0x21f0aaad);
    z ^= z >>> 15;
    z = Math.imul(z, 0x735a2d97);
    return (z ^ (z >>> 15)) >>> 0;
  };
}

/** Mixes two 32-bit words into one (for per-link streams of one seed). */
export function mix32(a: number, b: number): number {
  let h = Math.imul(a ^ 0x85ebca6b, 0xc2b2ae35) ^ b;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return (h ^ (h >>> 16)) >>> 0;
}
