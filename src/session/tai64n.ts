// TAI64N timestamps for handshake initiations (whitepaper §5.1; cr.yp.to/libtai/tai64.html).
//
//    0                         8              12
//   ┌─────────────────────────┬──────────────┐
//   │ seconds + 2^62 + 10 (BE)│ nanoseconds  │   nanoseconds whitened down to a multiple of 2^24
//   └─────────────────────────┴──────────────┘   (~16.8 ms), as wireguard-go does, so the
//                                                 timestamp does not leak the precise clock.
// A responder accepts an initiation only when its timestamp is strictly greater (as bytes) than
// the greatest it has accepted from that peer.
import { asBuffer } from '../util/index.ts';

export const TAI64N_LEN = 12;
const BASE = 0x4000_0000_0000_000an;
const WHITENER = 0x100_0000; // 2^24 ns

/** The whitened TAI64N stamp of a wall-clock time in epoch milliseconds. */
export function tai64n(wallMs: number): Uint8Array {
  const secs = Math.floor(wallMs / 1000);
  let nanos = Math.floor((wallMs - secs * 1000) * 1e6);
  nanos -= nanos % WHITENER;
  const b = Buffer.alloc(TAI64N_LEN);
  b.writeBigUInt64BE(BASE + BigInt(secs), 0);
  b.writeUInt32BE(nanos, 8);
  return new Uint8Array(b.buffer, b.byteOffset, TAI64N_LEN);
}

/** True when `a` is strictly later than `b` (big-endian byte order is time order). */
export function tai64nAfter(a: Uint8Array, b: Uint8Array): boolean {
  return asBuffer(a).compare(asBuffer(b)) > 0;
}
