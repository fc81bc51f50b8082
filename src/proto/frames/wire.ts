/**
 * Byte-level reader and writer with QUIC variable-length integers (RFC 9000 §16):
 *
 *   2-bit prefix | usable bits | range
 *   00           | 6           | 0 .. 63
 *   01           | 14          | 0 .. 16383
 *   10           | 30          | 0 .. 2^30-1
 *   11           | 62          | 0 .. 2^62-1   (this codec: values up to 2^53-1, JavaScript's safe range)
 *
 * Values above Number.MAX_SAFE_INTEGER decode as FRAME_LIMIT; a writer never produces them.
 */
import { FrameError } from './errors.ts';

/** Largest value a varint may carry here (2^53 - 1). */
export const VARINT_MAX = Number.MAX_SAFE_INTEGER;

/** Encoded length of `v` as a varint (1, 2, 4 or 8). */
export function varintLength(v: number): number {
  if (v < 0x40) return 1;
  if (v < 0x4000) return 2;
  if (v < 0x40000000) return 4;
  return 8;
}

export class Reader {
  readonly buf: Uint8Array;
  pos: number;
  readonly end: number;

  constructor(buf: Uint8Array, pos = 0, end = buf.length) {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  #need(n: number, what: string): void {
    if (this.end - this.pos < n) throw new FrameError('FRAME_TRUNCATED', `datagram ends inside ${what}`);
  }

  u8(what = 'a byte'): number {
    this.#need(1, what);
    return this.buf[this.pos++];
  }

  u16(what = 'a 16-bit field'): number {
    this.#need(2, what);
    const b = this.buf;
    const v = (b[this.pos] << 8) | b[this.pos + 1];
    this.pos += 2;
    return v;
  }

  varint(what = 'a varint'): number {
    this.#need(1, what);
    const b = this.buf;
    const first = b[this.pos];
    const prefix = first >> 6;
    if (prefix === 0) {
      this.pos += 1;
      return first;
    }
    if (prefix === 1) {
      this.#need(2, what);
      const v = ((first & 0x3f) << 8) | b[this.pos + 1];
      this.pos += 2;
      return v;
    }
    if (prefix === 2) {
      this.#need(4, what);
      const p = this.pos;
      const v = (first & 0x3f) * 0x1000000 + ((b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]);
      this.pos += 4;
      return v;
    }
    this.#need(8, what);
    const p = this.pos;
    const hi = (first & 0x3f) * 0x1000000 + ((b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]);
    const lo = ((b[p + 4] << 24) | (b[p + 5] << 16) | (b[p + 6] << 8) | b[p + 7]) >>> 0;
    if (hi >= 0x200000) throw new FrameError('FRAME_LIMIT', `${what} exceeds 2^53-1`);
    this.pos += 8;
    return hi * 0x100000000 + lo;
  }

  /** A view (no copy) of the next `n` bytes. */
  bytes(n: number, what = 'bytes'): Uint8Array {
    this.#need(n, what);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }
}

export class Writer {
  readonly buf: Uint8Array;
  pos: number;

  constructor(buf: Uint8Array, pos = 0) {
    this.buf = buf;
    this.pos = pos;
  }

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  u8(v: number): void {
    this.buf[this.pos++] = v;
  }

  u16(v: number): void {
    this.buf[this.pos++] = v >>> 8;
    this.buf[this.pos++] = v & 0xff;
  }

  varint(v: number): void {
    const b = this.buf;
    let p = this.pos;
    if (v < 0x40) {
      b[p++] = v;
    } else if (v < 0x4000) {
      b[p++] = 0x40 | (v >>> 8);
      b[p++] = v & 0xff;
    } else if (v < 0x40000000) {
      b[p++] = 0x80 | (v >>> 24);
      b[p++] = (v >>> 16) & 0xff;
      b[p++] = (v >>> 8) & 0xff;
      b[p++] = v & 0xff;
    } else {
      if (!(v <= VARINT_MAX) || v < 0 || !Number.isInteger(v))
        throw new RangeError(`varint out of range: ${v}`);
      const hi = Math.floor(v / 0x100000000);
      const lo = v >>> 0;
      b[p++] = 0xc0 | (hi >>> 24);
      b[p++] = (hi >>> 16) & 0xff;
      b[p++] = (hi >>> 8) & 0xff;
      b[p++] = hi & 0xff;
      b[p++] = lo >>> 24;
      b[p++] = (lo >>> 16) & 0xff;
      b[p++] = (lo >>> 8) & 0xff;
      b[p++] = lo & 0xff;
    }
    this.pos = p;
  }

  bytes(v: Uint8Array): void {
    this.buf.set(v, this.pos);
    this.pos += v.length;
  }
}
