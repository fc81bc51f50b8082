import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  FrameError,
  MAX_ACK_RANGES,
  decodePacket,
  encodePacket,
  formatAddress,
  parseAddress,
  Reader,
  Writer,
} from './index.ts';
import type { AckRange, Endpoint, Frame } from './index.ts';

const u53 = fc.maxSafeNat();
const small = fc.nat({ max: 1 << 20 });
const text = (maxBytes: number) =>
  fc.string({ unit: 'grapheme', maxLength: 40 }).filter((s) => Buffer.byteLength(s) <= maxBytes);

const endpoint: fc.Arbitrary<Endpoint> = fc
  .tuple(
    fc.oneof(fc.uint8Array({ minLength: 4, maxLength: 4 }), fc.uint8Array({ minLength: 16, maxLength: 16 })),
    fc.nat({ max: 65535 }),
  )
  .map(([b, port]) => ({ address: formatAddress(b), port }));

const ackRanges: fc.Arbitrary<AckRange[]> = fc
  .tuple(
    u53,
    fc.array(fc.tuple(fc.nat({ max: 1000 }), fc.nat({ max: 1000 })), { maxLength: 20 }),
    fc.nat({ max: 50 }),
  )
  .map(([largest, gaps, first]) => {
    const ranges: AckRange[] = [];
    let lo = Math.max(0, largest - first);
    ranges.push([lo, largest]);
    for (const [gap, len] of gaps) {
      const hi = lo - gap - 2;
      if (hi - len < 0) break;
      lo = hi - len;
      ranges.push([lo, hi]);
    }
    return ranges;
  });

const frame: fc.Arbitrary<Frame> = fc.oneof(
  fc.constant({ type: 'ping' } as const),
  fc.record({ type: fc.constant('ack' as const), ranges: ackRanges, delayUs: small }),
  fc.record({ type: fc.constant('reset_stream' as const), id: u53, code: u53, finalSize: u53 }),
  fc.record({ type: fc.constant('stop_sending' as const), id: u53, code: u53 }),
  fc.record({
    type: fc.constant('stream' as const),
    id: u53,
    offset: fc.nat({ max: 2 ** 40 }),
    fin: fc.boolean(),
    data: fc.uint8Array({ maxLength: 300 }),
  }),
  fc.record({ type: fc.constant('max_data' as const), max: u53 }),
  fc.record({ type: fc.constant('max_stream_data' as const), id: u53, max: u53 }),
  fc.record({ type: fc.constant('max_streams' as const), max: u53 }),
  fc.record({ type: fc.constant('data_blocked' as const), limit: u53 }),
  fc.record({ type: fc.constant('stream_data_blocked' as const), id: u53, limit: u53 }),
  fc.record({ type: fc.constant('streams_blocked' as const), limit: u53 }),
  fc.record({ type: fc.constant('close' as const), code: u53, reason: text(1024) }),
  fc.record({ type: fc.constant('stream_open' as const), id: u53, service: text(255) }),
  fc.record({ type: fc.constant('stream_refused' as const), id: u53, code: u53, reason: text(1024) }),
  fc.record({ type: fc.constant('path_ping' as const), txid: fc.uint8Array({ minLength: 8, maxLength: 8 }) }),
  fc.record({
    type: fc.constant('path_pong' as const),
    txid: fc.uint8Array({ minLength: 8, maxLength: 8 }),
    observed: endpoint,
  }),
  fc.record({
    type: fc.constant('call_me_maybe' as const),
    candidates: fc.array(endpoint, { maxLength: 32 }),
  }),
);

/** Plain-object form for deep comparison (typed-array views compare by content). */
function plain(frames: Frame[]): unknown {
  return JSON.parse(
    JSON.stringify(frames, (_k, v: unknown) =>
      v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v,
    ),
  );
}

function onlyFrameErrors(bytes: Uint8Array): void {
  try {
    decodePacket(bytes);
  } catch (e) {
    if (!(e instanceof FrameError)) throw e;
    assert.match(e.code, /^FRAME_/);
  }
}

describe('frames codec', () => {
  test('varints round-trip at every width boundary', () => {
    const buf = new Uint8Array(8);
    for (const v of [0, 63, 64, 16383, 16384, 2 ** 30 - 1, 2 ** 30, 2 ** 32 + 5, Number.MAX_SAFE_INTEGER]) {
      const w = new Writer(buf);
      w.varint(v);
      assert.equal(new Reader(buf, 0, w.pos).varint(), v);
    }
  });

  test('RFC 9000 appendix A.1 varint examples', () => {
    assert.equal(new Reader(Buffer.from('9d7f3e7d', 'hex')).varint(), 494878333);
    assert.equal(new Reader(Buffer.from('7bbd', 'hex')).varint(), 15293);
    assert.equal(new Reader(Buffer.from('25', 'hex')).varint(), 37);
    assert.equal(new Reader(Buffer.from('4025', 'hex')).varint(), 37);
    assert.throws(() => new Reader(Buffer.from('c2197c5eff14e88c', 'hex')).varint(), { code: 'FRAME_LIMIT' });
  });

  test('a golden datagram', () => {
    const d = encodePacket(
      5,
      [
        {
          type: 'ack',
          ranges: [
            [7, 9],
            [2, 4],
          ],
          delayUs: 100,
        },
        { type: 'stream_open', id: 4, service: 'db' },
        { type: 'stream', id: 4, offset: 0, fin: true, data: Buffer.from('hi') },
      ],
      24,
    );
    assert.equal(
      Buffer.from(d).toString('hex'),
      '05' + '0209406401020102' + '3004026462' + '0b04026869' + '00'.repeat(5),
    );
    const p = decodePacket(d);
    assert.equal(p.pn, 5);
    assert.deepEqual(plain(p.frames), [
      {
        type: 'ack',
        ranges: [
          [7, 9],
          [2, 4],
        ],
        delayUs: 100,
      },
      { type: 'stream_open', id: 4, service: 'db' },
      { type: 'stream', id: 4, offset: 0, fin: true, data: '6869' },
    ]);
  });

  test('round-trip of random frames, with trailing padding', () => {
    fc.assert(
      fc.property(u53, fc.array(frame, { maxLength: 8 }), fc.nat({ max: 40 }), (pn, frames, pad) => {
        const enc = encodePacket(pn, frames);
        const padded = new Uint8Array(enc.length + pad);
        padded.set(enc);
        const dec = decodePacket(padded);
        assert.equal(dec.pn, pn);
        assert.deepEqual(plain(dec.frames), plain(frames));
      }),
      { numRuns: 400 },
    );
  });

  test('random bytes raise only FrameError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (b) => onlyFrameErrors(b)),
      { numRuns: 3000 },
    );
  });

  test('mutated valid datagrams raise only FrameError', () => {
    fc.assert(
      fc.property(
        fc.array(frame, { minLength: 1, maxLength: 5 }),
        fc.array(fc.tuple(fc.nat(), fc.nat({ max: 255 })), { minLength: 1, maxLength: 4 }),
        fc.nat(),
        (frames, flips, cut) => {
          const d = encodePacket(1, frames);
          for (const [at, v] of flips) d[at % d.length] = v;
          onlyFrameErrors(d);
          onlyFrameErrors(d.subarray(0, cut % (d.length + 1)));
        },
      ),
      { numRuns: 1500 },
    );
  });

  test('bounds: too many ACK ranges, too many candidates, absurd lengths', () => {
    const w = new Writer(new Uint8Array(2000));
    w.varint(0);
    w.u8(0x02);
    w.varint(100000);
    w.varint(0);
    w.varint(MAX_ACK_RANGES);
    assert.throws(() => decodePacket(w.buf.subarray(0, w.pos)), { code: 'FRAME_LIMIT' });
    assert.throws(() => decodePacket(Buffer.from('004221', 'hex')), { code: 'FRAME_LIMIT' });
    assert.throws(() => decodePacket(Buffer.from('000a0180ffffff', 'hex')), { code: 'FRAME_TRUNCATED' });
    assert.throws(() => decodePacket(Buffer.from('001c0080ffffff', 'hex')), { code: 'FRAME_LIMIT' });
    assert.throws(() => decodePacket(Buffer.from('00ff', 'hex')), { code: 'FRAME_UNKNOWN_TYPE' });
    assert.throws(() => decodePacket(Buffer.from('0030010180', 'hex')), { code: 'FRAME_MALFORMED' });
    assert.throws(() => decodePacket(new Uint8Array(0)), { code: 'FRAME_TRUNCATED' });
  });

  test('addresses: canonical IPv6 text and parsing', () => {
    assert.equal(formatAddress(parseAddress('2001:DB8:0:0:0:0:0:1')!), '2001:db8::1');
    assert.equal(formatAddress(parseAddress('2001:db8:0:1:1:1:1:1')!), '2001:db8:0:1:1:1:1:1');
    assert.equal(formatAddress(parseAddress('::')!), '::');
    assert.equal(formatAddress(parseAddress('::ffff:192.0.2.1')!), '::ffff:c000:201');
    assert.equal(formatAddress(parseAddress('10.0.0.1')!), '10.0.0.1');
    for (const bad of ['1.2.3', '256.1.1.1', '01.2.3.4', '1::2::3', '1:2:3:4:5:6:7:8:9', 'x::1', ''])
      assert.equal(parseAddress(bad), undefined, bad);
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (b) => {
        assert.deepEqual(parseAddress(formatAddress(b)), b);
      }),
    );
  });
});
