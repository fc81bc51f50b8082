// Property tests of the frame codec: frames survive any chunking, the incremental decoder agrees
// with a naive whole-buffer parser on any bytes, and only RelayFrameError ever escapes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { concatBytes } from '../../util/index.ts';
import {
  FRAME_HEADER_LEN,
  FrameDecoder,
  MAX_BUFFERED,
  RelayFrameError,
  checkHeader,
  decodePayload,
  encodeFrame,
  type Frame,
} from './index.ts';

const RUNS = 200;
const key = fc.uint8Array({ minLength: 32, maxLength: 32 });
const eight = fc.uint8Array({ minLength: 8, maxLength: 8 });
const packet = fc.oneof(
  { weight: 4, arbitrary: fc.uint8Array({ maxLength: 200 }) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 65536 }).map((n) => new Uint8Array(n).fill(n & 0xff)) },
);

const frame: fc.Arbitrary<Frame> = fc
  .oneof(
    fc.record({
      type: fc.constant('server-key' as const),
      version: fc.nat(255),
      serverKey: key,
      challenge: key,
    }),
    fc.record({
      type: fc.constant('client-info' as const),
      version: fc.nat(255),
      clientKey: key,
      proof: key,
      token: fc.uint8Array({ maxLength: 2048 }),
    }),
    fc.record({
      type: fc.constant('server-info' as const),
      keepAliveMs: fc.nat({ max: 0xffffffff }),
      maxPacketLen: fc.nat({ max: 0xffffffff }),
    }),
    fc.record({ type: fc.constant('send-packet' as const), dst: key, packet }),
    fc.record({ type: fc.constant('recv-packet' as const), src: key, packet }),
    fc.constant({ type: 'keepalive' as const }),
    fc.record({ type: fc.constant('ping' as const), data: eight }),
    fc.record({ type: fc.constant('pong' as const), data: eight }),
    fc.record({ type: fc.constant('peer-gone' as const), peer: key, reason: fc.nat(255) }),
    fc.record({ type: fc.constant('peer-busy' as const), peer: key, busy: fc.boolean() }),
    fc.record({
      type: fc.constant('health' as const),
      message: fc.string({ unit: 'grapheme', maxLength: 100 }),
    }),
  )
  .map((f) => ({ ...f }) as Frame); // plain objects: fc.record may build null-prototype ones

/** Cuts `b` at the given points (taken modulo its length). */
function chunk(b: Uint8Array, cuts: number[]): Uint8Array[] {
  const at = [...new Set(cuts.map((c) => (b.length ? c % b.length : 0)))].sort((x, y) => x - y);
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const c of at) {
    out.push(b.subarray(prev, c));
    prev = c;
  }
  out.push(b.subarray(prev));
  return out;
}

/** The reference: parse the whole buffer front to back, the obvious way. */
function naive(b: Uint8Array): { frames: Frame[]; error?: string } {
  const frames: Frame[] = [];
  let off = 0;
  try {
    while (off < b.length) {
      if (b.length - off < FRAME_HEADER_LEN) throw new RelayFrameError('RELAY_TRUNCATED', 'header');
      const type = b[off];
      const len = new DataView(b.buffer, b.byteOffset + off + 1, 4).getUint32(0);
      checkHeader(type, len);
      if (b.length - off - FRAME_HEADER_LEN < len) throw new RelayFrameError('RELAY_TRUNCATED', 'payload');
      frames.push(decodePayload(type, b.subarray(off + FRAME_HEADER_LEN, off + FRAME_HEADER_LEN + len)));
      off += FRAME_HEADER_LEN + len;
    }
  } catch (e) {
    if (!(e instanceof RelayFrameError)) throw e;
    return { frames, error: e.code };
  }
  return { frames };
}

/** The incremental decoder fed in chunks; checks its buffer bound as it goes. */
function incremental(chunks: Uint8Array[]): { frames: Frame[]; error?: string } {
  const d = new FrameDecoder();
  const frames: Frame[] = [];
  try {
    for (const c of chunks) {
      d.push(c, (f) => frames.push(f));
      assert.ok(d.buffered <= MAX_BUFFERED);
      assert.ok(d.reserved <= Math.min(MAX_BUFFERED, 2 * d.buffered + 2048));
    }
    d.end();
  } catch (e) {
    if (!(e instanceof RelayFrameError)) throw e;
    return { frames, error: e.code };
  }
  return { frames };
}

test('frames round trip through any chunking', () => {
  fc.assert(
    fc.property(fc.array(frame, { maxLength: 6 }), fc.array(fc.nat(), { maxLength: 12 }), (frames, cuts) => {
      const bytes = concatBytes(...frames.map(encodeFrame));
      assert.deepEqual(incremental(chunk(bytes, cuts)), { frames });
    }),
    { numRuns: RUNS },
  );
});

test('random bytes: same outcome as the naive parser, only RelayFrameError', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), fc.array(fc.nat(), { maxLength: 8 }), (bytes, cuts) => {
      assert.deepEqual(incremental(chunk(bytes, cuts)), naive(bytes));
    }),
    { numRuns: RUNS * 3 },
  );
});

/** Plausible headers (known types, small lengths) over random payloads: reaches the payload parsers. */
const plausible = fc
  .array(
    fc.record({
      type: fc.integer({ min: 0, max: 12 }),
      payload: fc.uint8Array({ maxLength: 120 }),
      lie: fc.boolean(),
    }),
    { maxLength: 6 },
  )
  .chain((parts) =>
    fc.constant(
      concatBytes(
        ...parts.map(({ type, payload, lie }) => {
          const h = new Uint8Array(5);
          h[0] = type;
          new DataView(h.buffer).setUint32(1, lie ? payload.length + 3 : payload.length);
          return concatBytes(h, payload);
        }),
      ),
    ),
  );

test('plausible headers over random payloads: same as naive, only RelayFrameError', () => {
  fc.assert(
    fc.property(plausible, fc.array(fc.nat(), { maxLength: 8 }), (bytes, cuts) => {
      assert.deepEqual(incremental(chunk(bytes, cuts)), naive(bytes));
    }),
    { numRuns: RUNS * 3 },
  );
});

test('mutated valid streams: same as naive, only RelayFrameError', () => {
  fc.assert(
    fc.property(
      fc.array(frame, { minLength: 1, maxLength: 4 }),
      fc.array(fc.record({ at: fc.nat(), xor: fc.integer({ min: 1, max: 255 }) }), {
        minLength: 1,
        maxLength: 4,
      }),
      fc.nat(),
      fc.array(fc.nat(), { maxLength: 8 }),
      (frames, flips, cut, cuts) => {
        let bytes = concatBytes(...frames.map(encodeFrame));
        for (const f of flips) bytes[f.at % bytes.length] ^= f.xor;
        if (cut % 3 === 0) bytes = bytes.subarray(0, cut % (bytes.length + 1));
        assert.deepEqual(incremental(chunk(bytes, cuts)), naive(bytes));
      },
    ),
    { numRuns: RUNS },
  );
});
