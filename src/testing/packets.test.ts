import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  ICMP_ECHO_REPLY,
  ICMP_ECHO_REQUEST,
  buildIpv4,
  buildPing,
  inetChecksum,
  parsePing,
  pingReply,
} from './packets.ts';

const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s/g, ''), 'hex'));

test('RFC 1071 §3 example: the ones-complement sum of 0001 f203 f4f5 f6f7 is ddf2', () => {
  assert.equal(inetChecksum(hex('0001 f203 f4f5 f6f7')), ~0xddf2 & 0xffff);
  // Odd length: the last byte is padded with a zero byte on the right.
  assert.equal(inetChecksum(hex('0001 f203 f4f5 f6')), ~(0xddf2 - 0xf7) & 0xffff);
});

test('a known IPv4 header (UDP 192.168.0.1 -> 192.168.0.199) gets checksum b861', () => {
  const payload = new Uint8Array(0x73 - 20);
  const pkt = buildIpv4({ src: '192.168.0.1', dst: '192.168.0.199', protocol: 17, payload, ttl: 64 });
  assert.equal(
    Buffer.from(pkt.subarray(0, 20)).toString('hex'),
    '450000730000400040 11b861c0a80001c0a800c7'.replace(' ', ''),
  );
});

test('a hand-computed ICMP echo request (id 0x1234, seq 1, 8 bytes of data) and its reply', () => {
  const pkt = buildPing({
    src: '10.0.0.1',
    dst: '10.0.0.2',
    type: ICMP_ECHO_REQUEST,
    id: 0x1234,
    seq: 1,
    data: hex('0001020304050607'),
  });
  // By hand: 0800 + 1234 + 0001 (seq) + 0001 + 0203 + 0405 + 0607 (data) = 0x2645, ~0x2645 = d9ba
  assert.equal(Buffer.from(pkt.subarray(20, 24)).toString('hex'), '0800d9ba');
  const reply = parsePing(pingReply(pkt)!)!;
  assert.equal(reply.echo.type, ICMP_ECHO_REPLY);
  assert.equal(reply.src, '10.0.0.2');
  assert.equal(reply.dst, '10.0.0.1');
  assert.deepEqual([reply.echo.id, reply.echo.seq], [0x1234, 1]);
});

test('build/parse round-trips, padding is ignored, and any bit flip is detected', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 0xffff }),
      fc.integer({ min: 0, max: 0xffff }),
      fc.uint8Array({ maxLength: 200 }),
      fc.integer({ min: 0, max: 15 }),
      fc.nat(),
      (id, seq, data, pad, flipAt) => {
        const pkt = buildPing({
          src: '198.19.0.1',
          dst: '198.19.0.2',
          type: ICMP_ECHO_REQUEST,
          id,
          seq,
          data,
        });
        const padded = new Uint8Array(pkt.length + pad);
        padded.set(pkt);
        const p = parsePing(padded)!;
        assert.deepEqual([p.echo.id, p.echo.seq, p.src, p.dst], [id, seq, '198.19.0.1', '198.19.0.2']);
        assert.deepEqual(p.echo.data, data);
        const bit = flipAt % (pkt.length * 8);
        const bad = pkt.slice();
        bad[bit >> 3] ^= 1 << (bit & 7);
        assert.equal(parsePing(bad), undefined, `flip of bit ${bit} not detected`);
      },
    ),
    { numRuns: 2000 },
  );
});
